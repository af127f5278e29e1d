"""The engine: every application service in one eventsourcing Application."""

from __future__ import annotations

from groundswell.services.challenges import ChallengeService
from groundswell.services.contributions import ContributionService
from groundswell.services.follow_up import FollowUpService
from groundswell.services.ideas import IdeaService
from groundswell.services.people import PeopleService
from groundswell.services.rewards import RewardService
from groundswell.services.store import StoreService


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
