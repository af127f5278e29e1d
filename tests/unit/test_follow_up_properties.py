"""Random histories interleaved with random clock advances: after every pass of the
follow-up process, each waiting item has had exactly the reminders and escalations its
policy implies up to that moment, none after it was answered, none twice; a pass that
dies between deciding and recording, or two passes deciding at once, change nothing.

The expectation is computed here from a model the test keeps itself, not from the
projection the process reads.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.follow_up import FollowUp
from groundswell.demo.summary import all_events
from projections.follow_up_due import plan
from tests.follow_up_world import World, organisation

AUTHORS = ("ann", "ben", "coo")
MANAGERS = ("mia", "kai")


class FollowUpMachine(RuleBasedStateMachine):
    @initialize(
        every=st.integers(1, 10),
        to_managers=st.integers(0, 12),
        to_sponsor=st.integers(0, 30),
        answer=st.integers(1, 10),
    )
    def start(self, every: int, to_managers: int, to_sponsor: int, answer: int) -> None:
        if to_managers and to_sponsor and to_sponsor <= to_managers:
            to_sponsor = to_managers + 1
        self.policy = {
            "remind_every_days": every,
            "escalate_to_managers_after_days": to_managers,
            "escalate_to_sponsor_after_days": to_sponsor,
            "answer_days": answer,
        }
        self.world = World("2027-01-01 09:00")
        self.challenge = organisation(self.world, **self.policy)
        # item key → what the model knows: kind, since, desk, answered at
        self.items: dict[str, dict[str, Any]] = {}
        self.ideas: list[UUID] = []
        self.now: datetime | None = None

    @rule(author=st.sampled_from(AUTHORS))
    def submit(self, author: str) -> None:
        engine = self.world.engine
        idea = engine.submit_idea(author, self.challenge, title="Idea", description="d").id
        assert idea is not None
        self.ideas.append(idea)
        self.items[str(idea)] = {
            "kind": "idea",
            "since": engine.history(idea)[0].timestamp,
            "due_days": 30,
            "desk": "mia",
            "author": author,
            "answered": None,
        }

    @precondition(lambda self: self.ideas)
    @rule(data=st.data(), by=st.sampled_from(AUTHORS))
    def comment(self, data: st.DataObject, by: str) -> None:
        idea = data.draw(st.sampled_from(self.ideas))
        author = self.items[str(idea)]["author"]
        engine = self.world.engine
        found = engine.comment(by, idea, "a question").id
        assert found is not None
        moment = engine.history(found)[0].timestamp
        if by == author:  # the idea's team replies: what others asked is answered
            for item in self.items.values():
                if item.get("idea") == idea and item["answered"] is None and item["by"] != by:
                    item["answered"] = moment
            return
        self.items[str(found)] = {
            "kind": "contribution",
            "since": moment,
            "due_days": self.policy["answer_days"],
            "desk": author,
            "idea": idea,
            "by": by,
            "answered": None,
        }

    @precondition(lambda self: self.undecided())
    @rule(data=st.data(), manager=st.sampled_from(MANAGERS), accept=st.booleans())
    def decide(self, data: st.DataObject, manager: str, accept: bool) -> None:
        idea = data.draw(st.sampled_from(self.undecided()))
        engine = self.world.engine
        if engine.idea(idea).status.value == "submitted":
            engine.start_review(manager, idea)
            self.items[str(idea)]["desk"] = manager
        if accept:
            engine.accept_idea(manager, idea)
        else:
            engine.reject_idea(manager, idea, "No.")
        self.items[str(idea)]["answered"] = engine.history(idea)[-1].timestamp

    @precondition(lambda self: self.undecided())
    @rule(data=st.data(), manager=st.sampled_from(MANAGERS))
    def take_up_review(self, data: st.DataObject, manager: str) -> None:
        idea = data.draw(st.sampled_from(self.undecided()))
        if self.world.engine.idea(idea).status.value == "submitted":
            self.world.engine.start_review(manager, idea)
            self.items[str(idea)]["desk"] = manager

    @rule(
        hours=st.integers(1, 24 * 25),
        crash_after=st.none() | st.integers(0, 5),
        twin=st.booleans(),
    )
    def time_passes(self, hours: int, crash_after: int | None, twin: bool) -> None:
        self.world.clock.advance(hours=hours)
        if crash_after is not None:
            # A pass decides, records a few steps and dies before the rest.
            decided = plan(self.world.rows(), self.world.clock())
            for step in decided[:crash_after]:
                self.world.engine.record_follow_up_step(step)
        if twin:
            # Two processes decide on the same rows; both record; the second finds it done.
            decided = plan(self.world.rows(), self.world.clock())
            for step in decided:
                self.world.engine.record_follow_up_step(step)
            for step in decided:
                assert self.world.engine.record_follow_up_step(step).events == 0
        self.now = self.world.process.run_once().now

    def undecided(self) -> list[UUID]:
        return [i for i in self.ideas if self.items[str(i)]["answered"] is None]

    def expected(self, item: dict[str, Any], now: datetime) -> set[str]:
        due = item["since"] + timedelta(days=item["due_days"])
        if now < due:
            return set()
        every = self.policy["remind_every_days"]
        count = math.floor((now - due) / timedelta(days=every)) + 1
        names = {f"reminder-{n}" for n in range(1, count + 1)}
        managers_after = self.policy["escalate_to_managers_after_days"]
        others = [m for m in MANAGERS if m != item["desk"]]
        if managers_after and others and now >= due + timedelta(days=managers_after):
            names.add("escalation-managers")
        sponsor_after = self.policy["escalate_to_sponsor_after_days"]
        if sponsor_after and now >= due + timedelta(days=sponsor_after):
            names.add("escalation-sponsor")
        return names

    @invariant()
    def each_waiting_item_had_exactly_what_its_policy_implies(self) -> None:
        if self.now is None:
            return
        recorded: dict[str, list[tuple[str, datetime]]] = {}
        for event in all_events(self.world.engine):
            if isinstance(event, (FollowUp.ReminderSent, FollowUp.Escalated)):
                recorded.setdefault(event.item_key, []).append((event.step, event.timestamp))
        for key, steps in recorded.items():
            twice = [name for name, n in Counter(s for s, _ in steps).items() if n > 1]
            assert not twice, f"{key}: {twice} recorded twice"
        for key, item in self.items.items():
            got = recorded.get(key, [])
            if item["answered"] is None:
                assert {s for s, _ in got} == self.expected(item, self.now), key
            else:
                late = [s for s, at in got if at > item["answered"]]
                assert not late, f"{key}: {late} after it was answered"
                answered = item["answered"]
                assert {s for s, _ in got} <= self.expected(item, answered + timedelta(days=60))


FollowUpMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_follow_up_process = FollowUpMachine.TestCase
