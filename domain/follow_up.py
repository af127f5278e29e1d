"""The FollowUp aggregate: what the follow-up process did for one waiting item.

One FollowUp per item (an idea awaiting its decision, a comment or build-on awaiting a
first answer, a progress report due from an owner), with a stable id derived from the
item's key. Each step of the policy (a reminder, an escalation) is recorded at most once:
the aggregate refuses a step it already holds, and two processes that decide the same
step at once both write the same next version, so the event store keeps only one of them
(optimistic concurrency); the loser, deciding again on the stored state, finds it done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from domain.base import GroundswellAggregate
from domain.errors import AlreadyDone

# The follow-up process acts as this person in the events it records.
PROCESS_ACTOR = "follow-up"

_NAMESPACE = UUID("6a1d4f0e-35c1-4f0b-9a57-2b3c9e7d1f18")


def follow_up_id(item_key: str) -> UUID:
    """The FollowUp aggregate of one item: the same id for every process that asks."""
    return uuid5(_NAMESPACE, item_key)


@dataclass(frozen=True)
class PlannedStep:
    """A step the follow-up process decided to take for one waiting item."""

    item_key: str
    item_kind: str
    challenge_id: UUID
    subject_id: UUID
    title: str
    author: str
    due_at: datetime
    step: str
    to: list[str]
    reason: str


class FollowUp(GroundswellAggregate):
    """reminders and escalations for one item, then closed when the item is answered."""

    class Opened(GroundswellAggregate.Created):
        """The item was overdue and the follow-up process took it up."""

        item_key: str
        item_kind: str
        subject_id: UUID
        title: str
        author: str
        due_at: str

    class ReminderSent(GroundswellAggregate.Event):
        """The people at whose desk the item waits were reminded."""

        item_key: str
        step: str
        to: list[str]
        due_at: str
        overdue_days: int
        reason: str

        def apply(self, follow_up: FollowUp) -> None:
            follow_up.steps.append(self.step)

    class Escalated(GroundswellAggregate.Event):
        """The item kept waiting; people one rung up were told."""

        item_key: str
        step: str
        to: list[str]
        due_at: str
        overdue_days: int
        reason: str

        def apply(self, follow_up: FollowUp) -> None:
            follow_up.steps.append(self.step)

    class Answered(GroundswellAggregate.Event):
        """The item got its answer (or left the queue); nothing more will be sent."""

        item_key: str
        answered_at: str
        answered_by: str

        def apply(self, follow_up: FollowUp) -> None:
            follow_up.closed = True

    def __init__(
        self,
        *,
        event_id: UUID,
        actor: str,
        challenge_id: UUID | None,
        item_key: str,
        item_kind: str,
        subject_id: UUID,
        title: str,
        author: str,
        due_at: str,
    ) -> None:
        assert challenge_id is not None
        self.challenge_id: UUID = challenge_id
        self.item_key = item_key
        self.item_kind = item_kind
        self.subject_id = subject_id
        self.steps: list[str] = []
        self.closed = False

    def _scope(self) -> UUID | None:
        return self.challenge_id

    @classmethod
    def open(
        cls,
        *,
        challenge_id: UUID,
        item_key: str,
        item_kind: str,
        subject_id: UUID,
        title: str,
        author: str,
        due_at: datetime,
        at: datetime,
    ) -> FollowUp:
        found: FollowUp = cls._begin(
            cls.Opened,
            follow_up_id(item_key),
            PROCESS_ACTOR,
            at,
            challenge_id=challenge_id,
            item_key=item_key,
            item_kind=item_kind,
            subject_id=subject_id,
            title=title[:200],
            author=author,
            due_at=due_at.isoformat(),
        )
        return found

    def record_step(
        self, step: str, to: list[str], *, due_at: datetime, reason: str, at: datetime
    ) -> None:
        """Record that ``step`` was taken: refused if it was taken before or the item is closed."""
        if self.closed:
            raise AlreadyDone("this item was answered; nothing more is sent about it.")
        if step in self.steps:
            raise AlreadyDone(f"{step} was already recorded for this item.", field="step")
        event = self.ReminderSent if step.startswith("reminder") else self.Escalated
        overdue = max(0, (at - due_at).days)
        self._record(
            event,
            PROCESS_ACTOR,
            at,
            item_key=self.item_key,
            step=step,
            to=sorted(to),
            due_at=due_at.isoformat(),
            overdue_days=overdue,
            reason=reason,
        )

    def close(self, *, answered_at: datetime, answered_by: str, at: datetime) -> None:
        if self.closed:
            raise AlreadyDone("this item's follow-up is closed already.")
        self._record(
            self.Answered,
            PROCESS_ACTOR,
            at,
            item_key=self.item_key,
            answered_at=answered_at.isoformat(),
            answered_by=answered_by,
        )
