"""The innovation manager's stories: draft, edit, open, review, close, archive, top up."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.challenge import Challenge, Stage
from domain.errors import AlreadyDone, InvalidInput, NotFound, NotPermitted, WrongStage
from domain.ledger import TREASURY, balances, pot_account
from domain.person import person_id
from groundswell.app.engine import Engine
from tests.scenario import (
    AUTHOR,
    CO_MANAGER,
    COLLEAGUE,
    MANAGER,
    OWNER,
    SUBMISSION_DEADLINE,
    Scenario,
    all_events,
    reads,
    refused,
    terms,
)
from tests.support import SteppingClock


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


# -- draft ------------------------------------------------------------------------------


def test_a_manager_drafts_a_challenge_with_its_terms_pot_and_policy(
    memory: Engine, story: Scenario
) -> None:
    receipt = memory.draft_challenge(MANAGER, pot=150, **terms(prize_points=[40, 10]))

    challenge = memory.challenge(receipt.id)
    assert challenge.stage is Stage.DRAFT
    assert challenge.title == "Less paper in the warehouse"
    assert challenge.question.startswith("How do we halve")
    assert challenge.sponsor == "Chief Operations Officer"
    assert challenge.target_departments == ["Operations", "Logistics"]
    assert challenge.submission_deadline == SUBMISSION_DEADLINE
    assert challenge.decision_deadline_days == 30
    assert challenge.policy.accepted_idea == 10
    assert challenge.policy.implemented_idea == 30
    assert challenge.policy.helpful_contribution == 5
    assert challenge.policy.prizes == (40, 10)
    assert challenge.managers == [MANAGER]
    assert receipt.events == 2  # drafted, and the pot funded
    assert receipt.position == memory.last_position


def test_the_pot_of_a_drafted_challenge_is_funded_from_the_treasury(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = memory.draft_challenge(MANAGER, pot=150, **terms()).id

    assert memory.challenge(challenge_id).pot == 150
    totals = balances(all_events(memory))
    assert totals == {TREASURY: -150, pot_account(challenge_id): 150}


def test_a_challenge_drafted_without_a_pot_records_no_funding(
    memory: Engine, story: Scenario
) -> None:
    receipt = memory.draft_challenge(MANAGER, **terms())

    assert receipt.events == 1
    assert memory.challenge(receipt.id).pot == 0


def test_a_contributor_cannot_draft_a_challenge(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, AUTHOR, "manager"):
        memory.draft_challenge(AUTHOR, pot=10, **terms())


def test_someone_unregistered_cannot_draft_a_challenge(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotFound, "nobody"):
        memory.draft_challenge("ghost", **terms())


@pytest.mark.parametrize(
    ("field", "value", "mention"),
    [
        ("title", "   ", "title"),
        ("title", "x" * 201, "title"),
        ("question", "", "question"),
        ("sponsor", 42, "sponsor"),
        ("target_departments", [], "target_departments"),
        ("target_departments", "Operations", "target_departments"),
        ("submission_deadline", "30/04/2026", "submission_deadline"),
        ("decision_deadline_days", 0, "decision_deadline_days"),
        ("decision_deadline_days", 366, "decision_deadline_days"),
        ("accepted_idea_points", -5, "accepted_idea_points"),
        ("implemented_idea_points", 2.5, "implemented_idea_points"),
        ("helpful_contribution_points", True, "helpful_contribution_points"),
        ("prize_points", [50, 0], "prizes"),
        ("prize_points", [1] * 11, "prizes"),
    ],
)
def test_a_challenge_with_invalid_terms_is_not_drafted(
    memory: Engine, story: Scenario, field: str, value: object, mention: str
) -> None:
    with refused(memory, InvalidInput, mention) as caught:
        memory.draft_challenge(MANAGER, pot=10, **terms(**{field: value}))
    assert caught.value.field == mention


@pytest.mark.parametrize("pot", [-1, 1.5, "100"])
def test_a_pot_must_be_whole_points(memory: Engine, story: Scenario, pot: object) -> None:
    with refused(memory, InvalidInput, "pot") as caught:
        memory.draft_challenge(MANAGER, pot=pot, **terms())  # type: ignore[arg-type]
    assert caught.value.field == "pot"


def test_a_challenge_id_cannot_be_drafted_twice(memory: Engine, story: Scenario) -> None:
    # Was a bug: the second draft retried six times, then said ConcurrencyConflict.
    challenge_id = uuid4()
    memory.draft_challenge(MANAGER, challenge_id=challenge_id, **terms())

    with refused(memory, AlreadyDone, str(challenge_id)):
        memory.draft_challenge(MANAGER, challenge_id=challenge_id, **terms(title="Again"))


def test_a_challenge_id_the_engine_draws_itself_is_not_looked_up(
    memory: Engine, story: Scenario
) -> None:
    with reads(memory) as read:
        memory.draft_challenge(MANAGER, **terms())

    assert read == [[person_id(MANAGER)]]


def test_a_challenge_needs_every_required_term(memory: Engine, story: Scenario) -> None:
    incomplete = terms()
    del incomplete["question"]

    with refused(memory, InvalidInput, "question") as caught:
        memory.draft_challenge(MANAGER, **incomplete)
    assert caught.value.field == "question"


# -- edit while draft ---------------------------------------------------------------------


def test_a_manager_edits_a_draft_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    memory.edit_challenge(
        MANAGER,
        challenge_id,
        **terms(title="Paperless docks", accepted_idea_points=15, prize_points=[]),
    )

    challenge = memory.challenge(challenge_id)
    assert challenge.title == "Paperless docks"
    assert challenge.policy.accepted_idea == 15
    assert challenge.policy.prizes == ()


def test_a_manager_edits_some_terms_and_the_others_stay(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    memory.edit_challenge(MANAGER, challenge_id, title="Paperless docks")

    challenge = memory.challenge(challenge_id)
    assert challenge.title == "Paperless docks"
    assert challenge.terms() == {**terms(), "title": "Paperless docks"}


def test_an_edit_names_only_terms_a_challenge_has(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    with refused(memory, InvalidInput, "colour") as caught:
        memory.edit_challenge(MANAGER, challenge_id, colour="green")
    assert caught.value.field == "colour"


def test_an_open_challenge_can_no_longer_be_edited(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")

    with refused(memory, WrongStage, "open", "edited"):
        memory.edit_challenge(MANAGER, challenge_id, **terms(title="Changed"))


def test_only_a_manager_of_the_challenge_edits_it(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    with refused(memory, NotPermitted, "managers", "Less paper in the warehouse"):
        memory.edit_challenge(AUTHOR, challenge_id, **terms(title="Mine now"))


def test_an_edit_with_invalid_terms_changes_nothing(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    with refused(memory, InvalidInput, "title"):
        memory.edit_challenge(MANAGER, challenge_id, **terms(title=""))
    assert memory.challenge(challenge_id).title == "Less paper in the warehouse"


# -- managers -----------------------------------------------------------------------------


def test_a_manager_shares_the_challenge_with_another_manager(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = memory.draft_challenge(MANAGER, **terms()).id

    memory.add_manager(MANAGER, challenge_id, CO_MANAGER)
    memory.open_challenge(CO_MANAGER, challenge_id)

    assert memory.challenge(challenge_id).managers == [MANAGER, CO_MANAGER]
    assert memory.challenge(challenge_id).stage is Stage.OPEN


def test_a_manager_is_added_only_once(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("draft")

    with refused(memory, AlreadyDone, CO_MANAGER):
        memory.add_manager(MANAGER, challenge_id, CO_MANAGER)


def test_only_someone_with_the_manager_role_can_be_made_a_manager(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("draft")

    with refused(memory, NotPermitted, OWNER, "manager"):
        memory.add_manager(MANAGER, challenge_id, OWNER)


def test_a_manager_of_another_challenge_does_not_manage_this_one(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = memory.draft_challenge(MANAGER, **terms()).id

    with refused(memory, NotPermitted, "only the managers"):
        memory.open_challenge(CO_MANAGER, challenge_id)


# -- the stage machine --------------------------------------------------------------------


def test_a_challenge_goes_from_draft_through_open_review_and_closed_to_archived(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("draft")
    seen = []
    for command in (
        memory.open_challenge,
        memory.move_challenge_to_review,
        memory.close_challenge,
        memory.archive_challenge,
    ):
        command(MANAGER, challenge_id)
        seen.append(memory.challenge(challenge_id).stage)

    assert seen == [Stage.OPEN, Stage.REVIEW, Stage.CLOSED, Stage.ARCHIVED]
    kinds = [type(e) for e in memory.history(challenge_id)]
    assert kinds[-4:] == [
        Challenge.Opened,
        Challenge.MovedToReview,
        Challenge.Closed,
        Challenge.Archived,
    ]


STAGE_COMMANDS = {
    "opened": "open_challenge",
    "moved to review": "move_challenge_to_review",
    "closed": "close_challenge",
    "archived": "archive_challenge",
}
ALLOWED_FROM = {
    "opened": {"draft"},
    "moved to review": {"open"},
    "closed": {"review"},
    "archived": {"draft", "closed"},  # a draft that will never open is discarded
}


@pytest.mark.parametrize(
    ("stage", "what"),
    [
        (stage, what)
        for stage in ["draft", "open", "review", "closed", "archived"]
        for what in STAGE_COMMANDS
        if stage not in ALLOWED_FROM[what]
    ],
)
def test_a_challenge_moves_only_to_its_next_stage(
    memory: Engine, story: Scenario, stage: str, what: str
) -> None:
    challenge_id = story.challenge(stage)
    command = getattr(memory, STAGE_COMMANDS[what])

    with refused(memory, WrongStage, stage, what):
        command(MANAGER, challenge_id)
    assert memory.challenge(challenge_id).stage.value == stage


@pytest.mark.parametrize("what", list(STAGE_COMMANDS))
def test_only_a_manager_of_the_challenge_moves_it_along(
    memory: Engine, story: Scenario, what: str
) -> None:
    challenge_id = story.challenge(sorted(ALLOWED_FROM[what])[0])

    with refused(memory, NotPermitted, "only the managers"):
        getattr(memory, STAGE_COMMANDS[what])(COLLEAGUE, challenge_id)


def test_a_challenge_whose_submission_deadline_passed_cannot_be_opened(
    memory: Engine, story: Scenario, clock: SteppingClock
) -> None:
    challenge_id = story.challenge("draft")
    clock.advance(days=60)  # 2026-05-01, past the deadline of 2026-04-30

    with refused(memory, InvalidInput, SUBMISSION_DEADLINE, "edit") as caught:
        memory.open_challenge(MANAGER, challenge_id)
    assert caught.value.field == "submission_deadline"


def test_a_challenge_is_opened_on_its_submission_deadline(
    memory: Engine, story: Scenario, clock: SteppingClock
) -> None:
    challenge_id = story.challenge("draft")
    clock.advance(days=59)  # 2026-04-30

    memory.open_challenge(MANAGER, challenge_id)

    assert memory.challenge(challenge_id).stage is Stage.OPEN


def test_an_unknown_challenge_is_not_found(memory: Engine, story: Scenario) -> None:
    missing = uuid4()
    with refused(memory, NotFound, str(missing)):
        memory.open_challenge(MANAGER, missing)


# -- the pot ------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["draft", "open", "review", "closed"])
def test_a_manager_tops_up_the_pot(memory: Engine, story: Scenario, stage: str) -> None:
    challenge_id = story.challenge(stage, pot=100)

    memory.top_up_pot(CO_MANAGER, challenge_id, 25)

    challenge = memory.challenge(challenge_id)
    assert (challenge.pot, challenge.funded) == (125, 125)
    assert balances(all_events(memory))[TREASURY] == -125


def test_only_a_manager_tops_up_the_pot(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")

    with refused(memory, NotPermitted, "top up"):
        memory.top_up_pot(AUTHOR, challenge_id, 25)


@pytest.mark.parametrize("points", [0, -10, 2.5])
def test_a_top_up_is_a_positive_whole_number_of_points(
    memory: Engine, story: Scenario, points: object
) -> None:
    challenge_id = story.challenge("open")

    with refused(memory, InvalidInput, "points") as caught:
        memory.top_up_pot(MANAGER, challenge_id, points)  # type: ignore[arg-type]
    assert caught.value.field == "points"


def test_an_archived_challenge_is_not_topped_up(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("archived")

    with refused(memory, WrongStage, "archived", "topped up"):
        memory.top_up_pot(MANAGER, challenge_id, 25)


def test_a_draft_that_will_never_open_is_discarded_and_its_pot_returns(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("draft", pot=120)
    memory.top_up_pot(MANAGER, challenge_id, 30)

    memory.archive_challenge(MANAGER, challenge_id)

    challenge = memory.challenge(challenge_id)
    assert (challenge.stage, challenge.pot) == (Stage.ARCHIVED, 0)
    assert memory.history(challenge_id)[-1].returned_points == 150
    totals = balances(all_events(memory))
    assert (totals[TREASURY], totals[pot_account(challenge_id)]) == (0, 0)
    with refused(memory, WrongStage, "archived", "opened"):
        memory.open_challenge(MANAGER, challenge_id)


def test_archiving_returns_what_is_left_in_the_pot_to_the_treasury(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("closed", pot=120)

    memory.archive_challenge(MANAGER, challenge_id)

    assert memory.challenge(challenge_id).pot == 0
    totals = balances(all_events(memory))
    assert totals[TREASURY] == 0
    assert totals[pot_account(challenge_id)] == 0
