"""A small builder for stories: a cast of people, a challenge and ideas brought to a stage.

Tests say where they start ("an accepted idea in an open challenge") and then tell the
one step their story is about; the builder takes care of getting there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.errors import DomainError
from groundswell.app.engine import Engine
from tests.support import SteppingClock, database_url_or_fail, postgres_engine, sqlite_engine

MANAGER = "mia"  # drafts and runs the challenge
CO_MANAGER = "max"  # a second manager, for what the first may not do herself
AUTHOR = "ann"  # a contributor in Sales
TEAMMATE = "bob"  # a contributor in Operations
COLLEAGUE = "cat"  # a contributor in Finance, on nobody's team
REVIEWER = "rex"  # a contributor asked to review
OWNER = "olo"  # an implementation owner in the line organisation
OTHER_OWNER = "ole"
AUDITOR = "aud"

CAST: dict[str, tuple[str, str, list[str]]] = {
    MANAGER: ("Mia Manager", "Innovation", ["manager"]),
    CO_MANAGER: ("Max Manager", "Innovation", ["manager"]),
    AUTHOR: ("Ann Author", "Sales", ["contributor"]),
    TEAMMATE: ("Bob Teammate", "Operations", ["contributor"]),
    COLLEAGUE: ("Cat Colleague", "Finance", ["contributor"]),
    REVIEWER: ("Rex Reviewer", "Legal", ["contributor"]),
    OWNER: ("Olo Owner", "Logistics", ["owner"]),
    OTHER_OWNER: ("Ole Owner", "Logistics", ["owner"]),
    AUDITOR: ("Aud Auditor", "Audit", ["auditor"]),
}

SUBMISSION_DEADLINE = "2026-04-30"  # the stepping clock starts on 2026-03-02
POLICY: dict[str, Any] = {
    "accepted_idea_points": 10,
    "implemented_idea_points": 30,
    "helpful_contribution_points": 5,
    "prize_points": [50, 20],
}
STAGES = ["draft", "open", "review", "closed", "archived"]


def terms(**overrides: Any) -> dict[str, Any]:
    """A valid set of challenge terms and reward policy, with ``overrides`` applied."""
    return {
        "title": "Less paper in the warehouse",
        "question": "How do we halve the paper used in our warehouses by next year?",
        "sponsor": "Chief Operations Officer",
        "target_departments": ["Operations", "Logistics"],
        "submission_deadline": SUBMISSION_DEADLINE,
        "decision_deadline_days": 30,
        **POLICY,
        **overrides,
    }


class Scenario:
    """Registers the cast and walks challenges and ideas through their stages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def with_cast(self) -> Scenario:
        for handle, (name, department, roles) in CAST.items():
            self.engine.register_person(handle, name=name, department=department, roles=roles)
        return self

    def challenge(self, stage: str = "open", *, pot: int = 200, **overrides: Any) -> UUID:
        """A challenge drafted by MANAGER, co-managed by CO_MANAGER, moved on to ``stage``."""
        challenge_id = self.engine.draft_challenge(MANAGER, pot=pot, **terms(**overrides)).id
        assert challenge_id is not None
        self.engine.add_manager(MANAGER, challenge_id, CO_MANAGER)
        self.move(challenge_id, stage)
        return challenge_id

    def move(self, challenge_id: UUID, stage: str) -> None:
        """Walk the challenge forward, one stage at a time, until it reaches ``stage``."""
        steps = {
            "open": self.engine.open_challenge,
            "review": self.engine.move_challenge_to_review,
            "closed": self.engine.close_challenge,
            "archived": self.engine.archive_challenge,
        }
        current = self.engine.challenge(challenge_id).stage.value
        for next_stage in STAGES[STAGES.index(current) + 1 : STAGES.index(stage) + 1]:
            steps[next_stage](MANAGER, challenge_id)

    def idea(
        self,
        challenge_id: UUID,
        status: str = "submitted",
        *,
        author: str = AUTHOR,
        team: tuple[str, ...] = (),
        title: str = "Scan delivery notes",
    ) -> UUID:
        """An idea by ``author`` (with ``team`` joined), brought to ``status``."""
        e = self.engine
        idea_id = e.submit_idea(
            author, challenge_id, title=title, description="Scan them at the dock."
        ).id
        assert idea_id is not None
        for member in team:
            e.invite_to_team(author, idea_id, member)
            e.join_team(member, idea_id)
        if status == "withdrawn":
            e.withdraw_idea(author, idea_id)
        elif status == "rejected":
            e.reject_idea(MANAGER, idea_id, "We tried this in 2019.")
        elif status != "submitted":
            e.start_review(MANAGER, idea_id)
            if status == "under review":
                return idea_id
            e.accept_idea(MANAGER, idea_id, "Worth a pilot.")
            if status == "accepted":
                return idea_id
            e.take_over_idea(
                MANAGER,
                idea_id,
                core_process="Inbound logistics",
                external_ref="LOG-7",
                owner=OWNER,
            )
            if status == "implemented":
                e.mark_implemented(OWNER, idea_id, "40% less paper at the dock.")
            elif status == "abandoned":
                e.abandon_idea(OWNER, idea_id, "The scanners were too slow.")
            else:
                assert status == "in implementation", status
        return idea_id

    def helpful_comment(self, idea_id: UUID, author: str = COLLEAGUE) -> UUID:
        """A comment by ``author`` that MANAGER marked helpful."""
        comment_id = self.engine.comment(author, idea_id, "Ask the carriers to send PDFs.").id
        assert comment_id is not None
        self.engine.mark_helpful(MANAGER, comment_id)
        return comment_id


@contextmanager
def refused(
    engine: Engine, error: type[DomainError], *mentions: str
) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """Expect exactly ``error``, a message naming each of ``mentions``, and nothing written."""
    before = engine.last_position
    with pytest.raises(DomainError) as caught:
        yield caught
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert message == caught.value.message
    assert len(message) > 15, message
    for mention in mentions:
        assert mention.lower() in message.lower(), f"{mention!r} not in {message!r}"
    assert engine.last_position == before, "a refused command wrote events"


@contextmanager
def reads(engine: Engine) -> Iterator[list[list[UUID]]]:
    """The queries for aggregates' events ``engine`` sends its store meanwhile, in order,
    each as the aggregates it reads (several where the store reads many at once)."""
    recorder, read_many = engine.recorder, engine.read_many
    select_events = recorder.select_events
    queries: list[list[UUID]] = []

    def one(originator_id: UUID, **kwargs: Any) -> Any:
        queries.append([originator_id])
        return select_events(originator_id, **kwargs)

    def many(originator_ids: Sequence[UUID]) -> Any:
        queries.append(list(originator_ids))
        assert read_many is not None
        return read_many(originator_ids)

    recorder.select_events = one  # type: ignore[method-assign]
    engine.read_many = many if read_many is not None else None
    try:
        yield queries
    finally:
        del recorder.select_events
        engine.read_many = read_many


def all_events(engine: Engine) -> list[Any]:
    """Every stored event of every aggregate, in notification-log order."""
    events = []
    start = 1
    while True:
        page = engine.recorder.select_notifications(start=start, limit=500)
        if not page:
            return events
        events.extend(engine.mapper.to_domain_event(n) for n in page)
        start = page[-1].id + 1


def twin_engine(engine: Engine, clock: SteppingClock) -> Engine:
    """A second engine on the same store as ``engine``, built from the same settings."""
    module = engine.env.get("PERSISTENCE_MODULE")
    if module == "eventsourcing.sqlite":
        return sqlite_engine(Path(engine.env["SQLITE_DBNAME"]).parent, clock)
    if module == "eventsourcing.postgres":
        return postgres_engine(database_url_or_fail(), engine.env["POSTGRES_SCHEMA"], clock)
    raise ValueError(f"an in-memory engine ({module}) shares its store with nobody")
