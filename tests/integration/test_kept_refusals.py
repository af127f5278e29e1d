"""Refusals kept under their idempotency key, on both databases
(groundswell/eventstore/idempotency.py): a definite refusal is answered again, from a restarted
engine too; a transient one is not kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import (
    ConcurrencyConflict,
    InsufficientBalance,
    NotPermitted,
    StaleVersion,
    WrongStage,
)
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.eventstore.idempotency import (
    CommandKey,
    KeyReused,
    is_definite,
    kept_refusal,
    keyed,
    refusal_record,
)
from groundswell.settings import Settings
from tests.scenario import AUTHOR, MANAGER, Scenario
from tests.support import SteppingClock, store_item


def key(name: str, scope: str = AUTHOR, fingerprint: str = "f1") -> CommandKey:
    return CommandKey(scope, name, fingerprint)


def test_a_kept_refusal_is_the_same_kind_of_error_with_the_same_fields() -> None:
    for error in (
        InsufficientBalance("ann holds 0 points; 5 cannot be redeemed.", field="points"),
        NotPermitted("mia needs the manager role to manage challenges."),
        StaleVersion("changed since version 1.", current_version=3),
    ):
        again = kept_refusal(refusal_record(error))
        assert type(again) is type(error)
        assert vars(again) == vars(error) and str(again) == str(error)


def test_only_definite_refusals_are_kept() -> None:
    assert is_definite(WrongStage("this idea is accepted and cannot be withdrawn."))
    assert not is_definite(ConcurrencyConflict("others changed the same thing; try again."))
    assert not is_definite(KeyReused("idempotency key 'k' was used before."))


def test_a_refused_redemption_stays_refused_under_its_key_after_a_restart(
    engine: Engine, tmp_path: Path
) -> None:
    story = Scenario(engine).with_cast()
    pen, dear_pen = store_item(engine, "Pen", 5), store_item(engine, "Pen", 6)
    with keyed(key("pen")), pytest.raises(InsufficientBalance) as first:
        engine.redeem_item(AUTHOR, pen)
    idea = story.idea(story.challenge("open"), "accepted")
    engine.grant_reward(MANAGER, "idea-accepted", idea)
    position = engine.last_position

    with keyed(key("pen")), pytest.raises(InsufficientBalance) as again:
        engine.redeem_item(AUTHOR, pen)
    assert str(again.value) == str(first.value) and again.value.field == "points"
    with keyed(key("pen", fingerprint="other")), pytest.raises(KeyReused):
        engine.redeem_item(AUTHOR, dear_pen)
    # Another caller's key of the same name is theirs: not a reuse of ann's, not her answer.
    with keyed(key("pen", scope="bob", fingerprint="other")), pytest.raises(InsufficientBalance):
        engine.redeem_item("bob", dear_pen)
    assert engine.last_position == position
    with keyed(key("pen-2")):
        assert engine.redeem_item(AUTHOR, pen).events == 2  # the item taken, the points spent


def test_a_kept_refusal_outlives_the_engine(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = build_engine(settings, clock=SteppingClock())
    Scenario(first).with_cast()
    pen = store_item(first, "Pen", 5)
    with keyed(key("pen")), pytest.raises(InsufficientBalance):
        first.redeem_item(AUTHOR, pen)
    first.close()

    second = build_engine(settings, clock=SteppingClock())
    try:
        with keyed(key("pen")), pytest.raises(InsufficientBalance, match="holds 0 points"):
            second.redeem_item(AUTHOR, pen)
    finally:
        second.close()


def test_a_lost_race_is_not_kept_under_the_key(engine: Engine) -> None:
    Scenario(engine).with_cast()
    calls = 0

    def lose_once(uow: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConcurrencyConflict("others changed the same thing at the same moment.")

    with keyed(key("race")), pytest.raises(ConcurrencyConflict):
        engine.run(lose_once)  # type: ignore[arg-type]
    with keyed(key("race")):
        assert engine.run(lose_once).events == 0  # type: ignore[arg-type]
    assert calls == 2
