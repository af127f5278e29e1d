"""The follow-up policy: defaults, set when drafting, changed by the challenge's managers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.challenge import Challenge
from domain.errors import AlreadyDone, InvalidInput, NotFound, NotPermitted, WrongStage
from domain.follow_up_policy import FollowUpPolicy
from groundswell.app.engine import Engine
from tests.support import memory_engine

TERMS: dict[str, Any] = {
    "title": "Cut changeover time",
    "question": "Where do we lose time?",
    "sponsor": "COO",
    "target_departments": ["Production"],
    "submission_deadline": "2026-12-31",
    "decision_deadline_days": 30,
}


@pytest.fixture
def engine() -> Engine:
    engine = memory_engine()
    engine.register_person("mia", name="Mia", department="R&D", roles=["manager"])
    engine.register_person("kai", name="Kai", department="Finance", roles=["manager"])
    engine.register_person("coo", name="Cora", department="Board")
    engine.register_person("ann", name="Ann", department="Production")
    return engine


def draft(engine: Engine, **follow_up: Any) -> UUID:
    receipt = engine.draft_challenge("mia", follow_up=follow_up or None, **TERMS)
    assert receipt.id is not None
    return receipt.id


def test_a_challenge_drafted_without_a_policy_follows_the_defaults(engine: Engine) -> None:
    challenge = draft(engine)
    assert engine.follow_up_policy(challenge) == FollowUpPolicy(
        answer_days=7,
        progress_days=30,
        remind_every_days=7,
        escalate_to_managers_after_days=7,
        escalate_to_sponsor_after_days=21,
        sponsor_handle="",
    )
    kinds = [type(e).__qualname__ for e in engine.history(challenge)]
    assert "Challenge.FollowUpPolicySet" not in kinds


def test_a_policy_set_when_drafting_is_recorded_with_the_draft(engine: Engine) -> None:
    challenge = draft(engine, answer_days=3, remind_every_days=2, sponsor_handle="coo")
    policy = engine.follow_up_policy(challenge)
    assert (policy.answer_days, policy.remind_every_days, policy.sponsor_handle) == (3, 2, "coo")
    assert policy.progress_days == 30  # the terms not named keep their defaults
    kinds = [type(e).__qualname__ for e in engine.history(challenge)]
    assert kinds == ["Challenge.Drafted", "Challenge.FollowUpPolicySet"]


def test_a_manager_changes_some_terms_and_the_others_stay(engine: Engine) -> None:
    challenge = draft(engine, answer_days=3)
    engine.add_manager("mia", challenge, "kai")
    engine.open_challenge("mia", challenge)
    engine.set_follow_up_policy("kai", challenge, escalate_to_sponsor_after_days=0)
    policy = engine.follow_up_policy(challenge)
    assert (policy.answer_days, policy.escalate_to_sponsor_after_days) == (3, 0)
    event = engine.history(challenge)[-1]
    assert isinstance(event, Challenge.FollowUpPolicySet)
    assert event.actor == "kai"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"answer_days": 0}, InvalidInput, "answer_days must be a whole number of days"),
        ({"remind_every_days": 400}, InvalidInput, "remind_every_days must be"),
        ({"reply_days": 3}, InvalidInput, "a follow-up policy has no term 'reply_days'"),
        (
            {"escalate_to_managers_after_days": 10, "escalate_to_sponsor_after_days": 10},
            InvalidInput,
            "the sponsor is told after the other managers",
        ),
        ({"sponsor_handle": "nobody"}, NotFound, "nobody with handle 'nobody'"),
        ({}, AlreadyDone, "the follow-up policy already says exactly that"),
    ],
)
def test_a_bad_policy_is_refused_and_nothing_is_written(
    engine: Engine, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    challenge = draft(engine)
    before = len(engine.history(challenge))
    with pytest.raises(error, match=message):
        engine.set_follow_up_policy("mia", challenge, **changes)
    assert len(engine.history(challenge)) == before


def test_only_the_challenges_managers_set_its_policy(engine: Engine) -> None:
    challenge = draft(engine)
    with pytest.raises(NotPermitted, match="only the managers of 'Cut changeover time'"):
        engine.set_follow_up_policy("kai", challenge, answer_days=2)
    with pytest.raises(NotPermitted):
        engine.set_follow_up_policy("ann", challenge, answer_days=2)


def test_an_archived_challenges_policy_stays_as_it_was(engine: Engine) -> None:
    challenge = draft(engine)
    for step in (engine.open_challenge, engine.move_challenge_to_review):
        step("mia", challenge)
    engine.close_challenge("mia", challenge)
    engine.archive_challenge("mia", challenge)
    with pytest.raises(WrongStage, match="cannot be given a new follow-up policy"):
        engine.set_follow_up_policy("mia", challenge, answer_days=2)


def test_drafting_with_a_bad_policy_drafts_nothing(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="progress_days"):
        engine.draft_challenge("mia", follow_up={"progress_days": -1}, **TERMS)
    with pytest.raises(NotFound, match="nobody with handle 'ghost'"):
        engine.draft_challenge("mia", follow_up={"sponsor_handle": "ghost"}, **TERMS)
    assert engine.last_position == 4  # the four people, nothing more
