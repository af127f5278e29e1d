"""Disabling someone (issue 21): administrators only, with a reason; a disabled person
records nothing until enabled again, and the refusals say why in a sentence."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput, NotPermitted, WrongStage
from domain.person import Person
from groundswell.app.engine import Engine
from tests.scenario import AUTHOR, COLLEAGUE, MANAGER, Scenario, refused, terms


@pytest.fixture
def story(memory: Engine) -> Scenario:
    scenario = Scenario(memory).with_cast()
    memory.register_person("root", name="Root", department="IT", roles=["admin"])
    return scenario


def test_an_administrator_disables_and_enables_someone_with_a_reason(
    memory: Engine, story: Scenario
) -> None:
    memory.disable_person(AUTHOR, "  Left the company.  ", actor="root")

    disabled = memory.history(memory.person(AUTHOR).id)[-1]
    assert isinstance(disabled, Person.Disabled)
    assert (disabled.reason, disabled.actor) == ("Left the company.", "root")
    assert memory.person(AUTHOR).disabled == "Left the company."

    memory.enable_person(AUTHOR, actor="root")

    assert isinstance(memory.history(memory.person(AUTHOR).id)[-1], Person.Enabled)
    assert memory.person(AUTHOR).disabled is None


def test_only_an_administrator_disables_or_enables(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, "admin"):
        memory.disable_person(COLLEAGUE, "Annoying.", actor=AUTHOR)
    memory.disable_person(COLLEAGUE, "On leave.", actor="root")
    with refused(memory, NotPermitted, "admin"):
        memory.enable_person(COLLEAGUE, actor=MANAGER)


def test_an_administrator_cannot_disable_themselves(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, "root", "themselves"):
        memory.disable_person("root", "Going on holiday.", actor="root")


def test_a_reason_is_needed(memory: Engine, story: Scenario) -> None:
    with refused(memory, InvalidInput, "reason", "empty") as caught:
        memory.disable_person(AUTHOR, "   ", actor="root")
    assert caught.value.field == "reason"


def test_a_disabled_person_is_not_disabled_twice_nor_an_active_one_enabled(
    memory: Engine, story: Scenario
) -> None:
    with refused(memory, WrongStage, AUTHOR, "not disabled"):
        memory.enable_person(AUTHOR)
    memory.disable_person(AUTHOR, "Left the company.")
    with refused(memory, WrongStage, AUTHOR, "already disabled", "Left the company."):
        memory.disable_person(AUTHOR, "Again.")


def test_a_disabled_person_records_nothing_until_enabled(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge()
    memory.disable_person(AUTHOR, "Left the company.")
    memory.disable_person(MANAGER, "Left the company.")

    with refused(memory, NotPermitted, AUTHOR, "is disabled"):
        memory.submit_idea(AUTHOR, challenge_id, title="Carts", description="Pre-staged.")
    with refused(memory, NotPermitted, MANAGER, "is disabled"):
        memory.draft_challenge(MANAGER, **terms())

    memory.enable_person(AUTHOR)
    memory.submit_idea(AUTHOR, challenge_id, title="Carts", description="Pre-staged.")


def test_a_disabled_administrator_manages_nobody(memory: Engine, story: Scenario) -> None:
    memory.register_person("boss", name="Boss", department="IT", roles=["admin"])
    memory.disable_person("boss", "Account compromised.", actor="root")

    with refused(memory, NotPermitted, "boss", "is disabled"):
        memory.enable_person("boss", actor="boss")
    with refused(memory, NotPermitted, "boss", "is disabled"):
        memory.disable_person("root", "Revenge.", actor="boss")
