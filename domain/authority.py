"""Who may record what: the role a command's actor must hold *now*, by the events it records.

The aggregates check who someone is *to them* (one of the challenge's managers, the idea's
team, its owner); this module adds what a person is allowed to be *today*: auditors write
nothing, and managing, owning and administering need the role at the moment of the
command, not when the person was named. Taking the manager role away therefore ends every
management at once, without touching the challenges the person managed.

The application checks every command's new events here after the aggregates decided and
before anything is saved, so every interface (HTTP, pages, CLI, demo) inherits the rule.
Every event class is listed below, so a new event must say which role it needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.errors import NotPermitted
from domain.follow_up import PROCESS_ACTOR, FollowUp
from domain.idea import Idea
from domain.person import Person, Role
from domain.store import StoreItem

# The local operator (the CLI on the server, setting people up): no person, holds no role.
OPERATOR = "system"
# Actors that are no person: the operator, and the follow-up process recording what time did.
NOT_A_PERSON = frozenset({OPERATOR, PROCESS_ACTOR})

MANAGE = "manage challenges, their ideas and their rewards"
# The role an event's actor must hold now, and what it lets them do (for the refusal).
ROLE_NEEDED: dict[type, tuple[Role, str]] = {
    **{
        event: (Role.MANAGER, MANAGE)
        for event in (
            Challenge.Drafted,
            Challenge.Edited,
            Challenge.ManagerAdded,
            Challenge.PotFunded,
            Challenge.Opened,
            Challenge.MovedToReview,
            Challenge.Closed,
            Challenge.Archived,
            Challenge.RewardGranted,
            Challenge.FollowUpPolicySet,
            Idea.ReviewerAsked,
            Idea.ReviewStarted,
            Idea.Accepted,
            Idea.Rejected,
            Idea.MergedInto,
            Idea.MergeUndone,
            Idea.DuplicateAbsorbed,
            Idea.DuplicateReleased,
            Idea.TakenOver,
            Idea.OwnerReassigned,
            Contribution.MarkedHelpful,
            Contribution.Hidden,
            # Recorded on the beneficiary's wallet by whoever grants the reward.
            Person.RewardReceived,
        )
    },
    Idea.TakeOverRequested: (Role.OWNER, "own an idea's implementation"),
    Idea.ProgressReported: (Role.OWNER, "report on an idea's implementation"),
    Idea.Implemented: (Role.OWNER, "report on an idea's implementation"),
    Idea.Abandoned: (Role.OWNER, "report on an idea's implementation"),
    Person.Registered: (Role.ADMIN, "manage people"),
    Person.DepartmentChanged: (Role.ADMIN, "manage people"),
    Person.RolesChanged: (Role.ADMIN, "manage people"),
    Person.Disabled: (Role.ADMIN, "manage people"),
    Person.Enabled: (Role.ADMIN, "manage people"),
    **{
        event: (Role.ADMIN, "keep the reward store")
        for event in (
            StoreItem.Listed,
            StoreItem.Repriced,
            StoreItem.Restocked,
            StoreItem.Retired,
            StoreItem.Reactivated,
            StoreItem.Returned,
            Person.RedemptionFulfilled,
            Person.RedemptionCancelled,
        )
    },
}
# Events anyone who takes part may record (as themselves; the aggregates check that).
ANY_PARTICIPANT: frozenset[type] = frozenset(
    {
        Idea.Submitted,
        Idea.Edited,
        Idea.Withdrawn,
        Idea.TeamMemberInvited,
        Idea.TeamMemberJoined,
        Contribution.Added,
        Person.PseudonymChosen,
        Person.PointsRedeemed,
        StoreItem.Taken,  # with the redemption, by the person who redeems
        # How news reaches oneself (an administrator may set someone's address too).
        Person.EmailChanged,
        Person.NotificationsChosen,
        Person.QuietHoursChosen,
    }
)

# What time did, recorded by the follow-up process alone; no person records these.
PROCESS_ONLY: frozenset[type] = frozenset(
    {FollowUp.Opened, FollowUp.ReminderSent, FollowUp.Escalated, FollowUp.Answered}
)


def actors_of(events: Iterable[Any]) -> list[str]:
    """The people who cause ``events``, in order of appearance (the operator left out)."""
    found: list[str] = []
    for event in events:
        if event.actor not in NOT_A_PERSON and event.actor not in found:
            found.append(event.actor)
    return found


def require_may_record(actor: Person, events: Iterable[Any]) -> None:
    """Refuse, before anything is saved, events their actor may not record today (a
    disabled person nothing at all, whatever their roles)."""
    actor.require_enabled()
    actor.require_can_take_part("write")
    for event in events:
        if event.actor != actor.handle:
            continue
        if type(event) in PROCESS_ONLY:
            raise NotPermitted(
                "reminders and escalations are recorded by the follow-up process alone."
            )
        needed = ROLE_NEEDED.get(type(event))
        if needed is not None:
            actor.require_role(*needed)
