"""Every projection the engine runs, by name."""

from __future__ import annotations

from projections.balances import BalancesProjection
from projections.breadth import BreadthProjection
from projections.desk import DeskProjection
from projections.directory import DirectoryProjection
from projections.follow_up import FollowUpProjection
from projections.implementation import ImplementationProjection
from projections.leaderboard import LeaderboardProjection
from projections.notifications import NotificationsProjection
from projections.projection import Projection
from projections.search import SearchProjection


def all_projections() -> list[Projection]:
    return [
        LeaderboardProjection(),
        BalancesProjection(),
        ImplementationProjection(),
        FollowUpProjection(),
        NotificationsProjection(),
        BreadthProjection(),
        DirectoryProjection(),
        DeskProjection(),
        SearchProjection(),
    ]


PROJECTION_NAMES = tuple(p.name for p in all_projections())
