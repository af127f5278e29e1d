"""Who may record what today (domain/authority.py): taking the manager role away ends
management, and auditors never write, whichever interface sends the command."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from domain.authority import ANY_PARTICIPANT, PROCESS_ONLY, ROLE_NEEDED
from domain.catalog import EVENT_CLASSES
from domain.errors import NotPermitted
from groundswell.app.engine import Engine
from tests.scenario import (
    AUDITOR,
    AUTHOR,
    CO_MANAGER,
    COLLEAGUE,
    MANAGER,
    OTHER_OWNER,
    OWNER,
    REVIEWER,
    Scenario,
    refused,
    terms,
)
from tests.support import store_item


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


def test_every_event_class_names_who_may_record_it() -> None:
    classes = set(EVENT_CLASSES.values())
    assert set(ROLE_NEEDED).isdisjoint(ANY_PARTICIPANT)
    assert PROCESS_ONLY.isdisjoint(set(ROLE_NEEDED) | ANY_PARTICIPANT)
    assert set(ROLE_NEEDED) | ANY_PARTICIPANT | PROCESS_ONLY == classes


# -- 1. taking the manager role away ends management ---------------------------------------

Prepare = Callable[[Scenario, UUID], UUID]
Act = Callable[[Engine, UUID], object]


def _challenge(story: Scenario, challenge_id: UUID) -> UUID:
    return challenge_id


def _idea(status: str) -> Prepare:
    return lambda story, challenge_id: story.idea(challenge_id, status)


def _comment(story: Scenario, challenge_id: UUID) -> UUID:
    idea_id = story.idea(challenge_id)
    contribution = story.engine.comment(COLLEAGUE, idea_id, "We tried this.")
    assert contribution.id is not None
    return contribution.id


def _two_ideas(story: Scenario, challenge_id: UUID) -> UUID:
    story.idea(challenge_id)
    return story.idea(challenge_id, author=COLLEAGUE)


# What a challenge's manager does: the stage it needs, what to prepare, the command.
MANAGING: dict[str, tuple[str, Prepare, Act]] = {
    "top up the pot": ("open", _challenge, lambda e, c: e.top_up_pot(CO_MANAGER, c, 50)),
    "edit a draft": (
        "draft",
        _challenge,
        lambda e, c: e.edit_challenge(CO_MANAGER, c, sponsor="CFO"),
    ),
    "open": ("draft", _challenge, lambda e, c: e.open_challenge(CO_MANAGER, c)),
    "move to review": ("open", _challenge, lambda e, c: e.move_challenge_to_review(CO_MANAGER, c)),
    "close": ("review", _challenge, lambda e, c: e.close_challenge(CO_MANAGER, c)),
    "archive": ("closed", _challenge, lambda e, c: e.archive_challenge(CO_MANAGER, c)),
    "add a manager": ("open", _challenge, lambda e, c: e.add_manager(CO_MANAGER, c, "mia2")),
    "grant a reward": (
        "open",
        _idea("accepted"),
        lambda e, i: e.grant_reward(CO_MANAGER, "idea-accepted", i),
    ),
    "decide": ("open", _idea("submitted"), lambda e, i: e.decide_idea(CO_MANAGER, i, accept=True)),
    "reject": ("open", _idea("submitted"), lambda e, i: e.reject_idea(CO_MANAGER, i, "Not now.")),
    "start a review": ("open", _idea("submitted"), lambda e, i: e.start_review(CO_MANAGER, i)),
    "ask a reviewer": (
        "open",
        _idea("submitted"),
        lambda e, i: e.ask_reviewer(CO_MANAGER, i, REVIEWER),
    ),
    "merge": (
        "open",
        _two_ideas,
        lambda e, i: e.merge_idea(CO_MANAGER, i, _first(e, i)),
    ),
    "mark helpful": ("open", _comment, lambda e, c: e.mark_helpful(CO_MANAGER, c)),
    "hide": ("open", _comment, lambda e, c: e.hide_contribution(CO_MANAGER, c, "Spam.")),
    "hand over": (
        "open",
        _idea("accepted"),
        lambda e, i: e.take_over_idea(CO_MANAGER, i, core_process="Dock", owner=OWNER),
    ),
    "reassign the owner": (
        "open",
        _idea("in implementation"),
        lambda e, i: e.reassign_owner(CO_MANAGER, i, OTHER_OWNER),
    ),
}


def _first(engine: Engine, idea_id: UUID) -> UUID:
    """The other idea of the challenge (``_two_ideas`` made two)."""
    others = [
        n.originator_id
        for n in engine.recorder.select_notifications(start=1, limit=10_000)
        if n.topic.endswith("Idea.Submitted") and n.originator_id != idea_id
    ]
    return UUID(str(others[-1]))


@pytest.mark.parametrize("what", sorted(MANAGING))
def test_a_manager_whose_role_was_taken_away_manages_no_more(
    memory: Engine, story: Scenario, what: str
) -> None:
    stage, prepare, act = MANAGING[what]
    memory.register_person("mia2", name="Mia Two", department="Innovation", roles=["manager"])
    challenge_id = story.challenge(stage)
    subject = prepare(story, challenge_id)
    memory.change_roles(CO_MANAGER, ["contributor"])
    assert CO_MANAGER in memory.challenge(challenge_id).managers

    with refused(memory, NotPermitted, CO_MANAGER, "needs the manager role"):
        act(memory, subject)

    memory.change_roles(CO_MANAGER, ["manager"])  # given back, it is the role that counted
    act(memory, subject)


def test_an_admin_holds_the_manager_role(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    memory.change_roles(CO_MANAGER, ["admin"])

    memory.top_up_pot(CO_MANAGER, challenge_id, 50)

    assert memory.challenge(challenge_id).funded == 250


def test_an_owner_whose_role_was_taken_away_reports_no_more(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")
    memory.change_roles(OWNER, ["contributor"])

    with refused(memory, NotPermitted, OWNER, "needs the owner role"):
        memory.report_progress(OWNER, idea_id, "Still on it.")
    with refused(memory, NotPermitted, OWNER, "needs the owner role"):
        memory.mark_implemented(OWNER, idea_id, "Done.")


# -- 3. auditors never write -----------------------------------------------------------------


def test_an_auditor_writes_nothing_even_where_they_took_part_before(
    memory: Engine, story: Scenario
) -> None:
    """Someone made an auditor keeps their points, team place and owned idea, and uses none."""
    challenge_id = story.challenge("open")
    ideas = {status: story.idea(challenge_id, status) for status in ("submitted", "accepted")}
    memory.grant_reward(MANAGER, "idea-accepted", ideas["accepted"])
    owned = story.idea(challenge_id, "in implementation")
    for handle in (AUTHOR, OWNER):
        memory.change_roles(handle, ["auditor"])
    assert memory.person(AUTHOR).balance == 10
    lunch = store_item(memory, "Team lunch", 5)

    attempts: list[Callable[[], object]] = [
        lambda: memory.redeem_item(AUTHOR, lunch),
        lambda: memory.report_progress(OWNER, owned, "Pilot on line 3."),
        lambda: memory.mark_implemented(OWNER, owned, "Done."),
        lambda: memory.edit_idea(AUTHOR, ideas["submitted"], title="New", description="New."),
        lambda: memory.withdraw_idea(AUTHOR, ideas["submitted"]),
        lambda: memory.comment(AUTHOR, ideas["accepted"], "A thought."),
        lambda: memory.choose_pseudonym(AUTHOR, "Night Owl"),
        lambda: memory.submit_idea(AUTHOR, challenge_id, title="T", description="D"),
        lambda: memory.invite_to_team(AUTHOR, ideas["submitted"], COLLEAGUE),
    ]
    for attempt in attempts:
        with refused(memory, NotPermitted, "auditor"):
            attempt()


def test_a_born_auditor_writes_nothing(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, AUDITOR, "auditor"):
        memory.choose_pseudonym(AUDITOR, "Watcher")
    with refused(memory, NotPermitted, AUDITOR):
        memory.draft_challenge(AUDITOR, **terms())
