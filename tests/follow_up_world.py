"""A small organisation for the follow-up process tests, on an in-memory engine whose clock
the test sets, with the process reading the follow-up projection folded from the events."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.follow_up import FollowUp
from groundswell.app.engine import Engine
from groundswell.app.follow_up_process import FollowUpProcess, PassResult
from groundswell.demo.summary import all_events
from projections.follow_up import FollowUpProjection
from projections.projection import fold
from projections.rows import Rows
from tests.support import SteppingClock, memory_engine


def day(text: str) -> datetime:
    """``2027-01-31`` or ``2027-01-31 10:00``, in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class World:
    def __init__(self, start: str = "2027-01-01 09:00", engine: Engine | None = None) -> None:
        self.clock = SteppingClock(day(start))
        self.engine = engine or memory_engine(self.clock)
        self.process = FollowUpProcess(self.engine, lambda: nullcontext(self.rows()), self.clock)
        self.challenge: UUID | None = None

    def challenge_id(self) -> UUID:
        assert self.challenge is not None, "call organisation(world) first"
        return self.challenge

    def rows(self) -> Rows:
        return fold(FollowUpProjection(), all_events(self.engine))

    def at(self, moment: str) -> None:
        self.clock.now = day(moment)

    def run(self, moment: str | None = None) -> PassResult:
        if moment is not None:
            self.at(moment)
        return self.process.run_once()

    def steps(self) -> list[tuple[str, str, list[str], str]]:
        """(item title, step, to, day recorded) of every reminder and escalation, in order."""
        found = []
        titles: dict[UUID, str] = {}
        for event in all_events(self.engine):
            if isinstance(event, FollowUp.Opened):
                titles[event.originator_id] = event.title
            if isinstance(event, (FollowUp.ReminderSent, FollowUp.Escalated)):
                found.append(
                    (
                        titles[event.originator_id],
                        event.step,
                        list(event.to),
                        event.timestamp.strftime("%Y-%m-%d"),
                    )
                )
        return found

    def closed(self) -> list[str]:
        return [e.item_key for e in all_events(self.engine) if isinstance(e, FollowUp.Answered)]


def organisation(world: World, **policy: Any) -> UUID:
    """mia (lead) and kai manage a challenge sponsored by coo; ann, ben contribute; otto owns."""
    engine = world.engine
    for handle, roles in (
        ("mia", ["manager"]),
        ("kai", ["manager"]),
        ("coo", ["contributor"]),
        ("ann", ["contributor"]),
        ("ben", ["contributor"]),
        ("otto", ["owner"]),
    ):
        engine.register_person(handle, name=handle.title(), department="Plant", roles=roles)
    challenge = engine.draft_challenge(
        "mia",
        title="Cut changeover time",
        question="Where do we lose time?",
        sponsor="COO",
        target_departments=["Plant"],
        submission_deadline="2027-12-31",
        decision_deadline_days=30,
        follow_up={"sponsor_handle": "coo", **policy},
    ).id
    assert challenge is not None
    engine.add_manager("mia", challenge, "kai")
    engine.open_challenge("mia", challenge)
    world.challenge = challenge
    return challenge
