"""The engine: every application service in one eventsourcing Application."""

from __future__ import annotations

from groundswell.app.services.challenges import ChallengeService
from groundswell.app.services.contributions import ContributionService
from groundswell.app.services.follow_up import FollowUpService
from groundswell.app.services.ideas import IdeaService
from groundswell.app.services.people import PeopleService
from groundswell.app.services.rewards import RewardService
from groundswell.app.services.store import StoreService


class Engine(
    ChallengeService,
    IdeaService,
    ContributionService,
    RewardService,
    PeopleService,
    FollowUpService,
    StoreService,
):
    """Commands for managers, contributors and owners; reads of single aggregates."""
