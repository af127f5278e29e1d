"""Read models in embedded mode: the projector fed in-process from the notification log."""

from __future__ import annotations

from consumers.log_follower import LogFollower
from consumers.projector import Projector
from projections.rows import Rows


class ReadModels:
    """Every projection, kept up to date from the engine's notification log."""

    def __init__(self, follower: LogFollower) -> None:
        self.follower = follower

    @property
    def projector(self) -> Projector:
        return self.follower.projector

    def rows(self, name: str, at_least: int = 0) -> Rows:
        """A projection's rows, caught up at least to position ``at_least`` (0: to now)."""
        if at_least:
            self.follower.wait_until(at_least)
        else:
            self.follower.catch_up()
        return self.projector.rows[name]

    def close(self) -> None:
        self.projector.store.close()
