"""Contributions: comment, build on, endorse, review score; marked helpful or hidden."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.contribution import Contribution, ContributionKind, once_per_person_id
from domain.errors import AlreadyDone, InvalidInput, NotFound, NotPermitted, WrongStage
from groundswell.app.engine import Engine
from tests.scenario import (
    AUTHOR,
    CO_MANAGER,
    COLLEAGUE,
    MANAGER,
    REVIEWER,
    TEAMMATE,
    Scenario,
    refused,
)


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


# -- comment and build on --------------------------------------------------------------------


def test_a_contributor_comments_on_an_idea(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id)

    receipt = memory.comment(COLLEAGUE, idea_id, "  Ask the carriers to send PDFs.  ")

    comment = memory.contribution(receipt.id)
    assert comment.kind is ContributionKind.COMMENT
    assert (comment.idea_id, comment.challenge_id) == (idea_id, challenge_id)
    assert (comment.author, comment.department) == (COLLEAGUE, "Finance")
    assert comment.body == "Ask the carriers to send PDFs."


def test_a_comment_is_not_empty(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, InvalidInput, "body") as caught:
        memory.comment(COLLEAGUE, idea_id, "   ")
    assert caught.value.field == "body"


def test_a_contributor_builds_on_another_idea(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    first = story.idea(challenge_id)
    second = story.idea(challenge_id, author=COLLEAGUE, title="Scan invoices too")

    receipt = memory.build_on(COLLEAGUE, first, "Invoices come with the notes.", second)

    link = memory.contribution(receipt.id)
    assert link.kind is ContributionKind.BUILD_ON
    assert (link.idea_id, link.linked_idea_id) == (first, second)


def test_an_idea_does_not_build_on_itself(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, InvalidInput, "itself") as caught:
        memory.build_on(COLLEAGUE, idea_id, "Circular.", idea_id)
    assert caught.value.field == "linked_idea_id"


def test_an_idea_builds_only_on_an_idea_that_exists(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotFound, "idea"):
        memory.build_on(COLLEAGUE, idea_id, "Dangling.", uuid4())


def test_a_withdrawn_idea_takes_no_more_input(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "withdrawn")

    with refused(memory, WrongStage, "withdrawn", "no more input"):
        memory.comment(COLLEAGUE, idea_id, "Too late.")
    with refused(memory, WrongStage, "withdrawn"):
        memory.endorse(COLLEAGUE, idea_id)


@pytest.mark.parametrize("status", ["rejected", "accepted", "implemented", "abandoned"])
def test_decided_ideas_are_still_discussed(memory: Engine, story: Scenario, status: str) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    memory.comment(COLLEAGUE, idea_id, "What did we learn?")


def test_nobody_contributes_in_an_archived_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id)
    story.move(challenge_id, "archived")

    with refused(memory, WrongStage, "archived", "contribute"):
        memory.comment(COLLEAGUE, idea_id, "Hello?")


def test_a_contributor_comments_only_as_a_registered_person(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotFound, "ghost"):
        memory.comment("ghost", idea_id, "Boo.")


# -- endorse ---------------------------------------------------------------------------------


def test_a_contributor_endorses_an_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    receipt = memory.endorse(COLLEAGUE, idea_id)

    assert receipt.id == once_per_person_id(ContributionKind.ENDORSEMENT, idea_id, COLLEAGUE)
    assert memory.contribution(receipt.id).kind is ContributionKind.ENDORSEMENT


def test_a_person_endorses_an_idea_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.endorse(COLLEAGUE, idea_id)

    with refused(memory, AlreadyDone, COLLEAGUE, "endorsement"):
        memory.endorse(COLLEAGUE, idea_id)


def test_many_people_endorse_the_same_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    ids = {memory.endorse(person, idea_id).id for person in (COLLEAGUE, REVIEWER, MANAGER)}

    assert len(ids) == 3


def test_the_team_does_not_endorse_its_own_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), team=(TEAMMATE,))

    for member in (AUTHOR, TEAMMATE):
        with refused(memory, NotPermitted, "own team"):
            memory.endorse(member, idea_id)


def test_an_endorsement_carries_no_text_and_no_score(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    contribution = memory.contribution(memory.endorse(COLLEAGUE, idea_id).id)

    assert (contribution.body, contribution.score) == ("", None)


# -- review score ----------------------------------------------------------------------------


def test_a_reviewer_gives_a_review_score_when_asked(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")
    memory.ask_reviewer(MANAGER, idea_id, REVIEWER)

    receipt = memory.give_review_score(REVIEWER, idea_id, 4, "Cheap and quick.")

    review = memory.contribution(receipt.id)
    assert review.kind is ContributionKind.REVIEW_SCORE
    assert (review.score, review.body) == (4, "Cheap and quick.")
    assert memory.idea(idea_id).reviewers == [REVIEWER]


def test_nobody_gives_a_review_score_without_being_asked(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")

    with refused(memory, NotPermitted, COLLEAGUE, "not asked"):
        memory.give_review_score(COLLEAGUE, idea_id, 5)


def test_a_reviewer_scores_an_idea_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")
    memory.ask_reviewer(MANAGER, idea_id, REVIEWER)
    memory.give_review_score(REVIEWER, idea_id, 4)

    with refused(memory, AlreadyDone, REVIEWER, "review-score"):
        memory.give_review_score(REVIEWER, idea_id, 5)


@pytest.mark.parametrize("score", [0, 6, -1, True, 3.5])
def test_a_review_score_is_a_whole_number_from_1_to_5(
    memory: Engine, story: Scenario, score: object
) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")
    memory.ask_reviewer(MANAGER, idea_id, REVIEWER)

    with refused(memory, InvalidInput, "1 to 5") as caught:
        memory.give_review_score(REVIEWER, idea_id, score)  # type: ignore[arg-type]
    assert caught.value.field == "score"


def test_a_team_member_is_not_asked_to_review_their_own_idea(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), team=(TEAMMATE,))

    with refused(memory, InvalidInput, "own idea") as caught:
        memory.ask_reviewer(MANAGER, idea_id, TEAMMATE)
    assert caught.value.field == "reviewer"


def test_a_reviewer_is_asked_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.ask_reviewer(MANAGER, idea_id, REVIEWER)

    with refused(memory, AlreadyDone, REVIEWER, "already been asked"):
        memory.ask_reviewer(CO_MANAGER, idea_id, REVIEWER)


# -- manager: helpful and hidden -------------------------------------------------------------


def test_a_manager_marks_a_contribution_helpful(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Ask the carriers.").id

    memory.mark_helpful(MANAGER, comment_id)

    assert memory.contribution(comment_id).helpful
    assert isinstance(memory.history(comment_id)[-1], Contribution.MarkedHelpful)


def test_a_contribution_is_marked_helpful_only_once(memory: Engine, story: Scenario) -> None:
    comment_id = story.helpful_comment(story.idea(story.challenge("open")))

    with refused(memory, AlreadyDone, "already marked helpful"):
        memory.mark_helpful(CO_MANAGER, comment_id)


def test_only_the_challenges_managers_mark_contributions_helpful(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Ask the carriers.").id

    with refused(memory, NotPermitted, "only the managers", "helpful"):
        memory.mark_helpful(AUTHOR, comment_id)


def test_nobody_marks_their_own_contribution_helpful(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(MANAGER, idea_id, "My own wisdom.").id

    with refused(memory, NotPermitted, "their own contribution"):
        memory.mark_helpful(MANAGER, comment_id)


def test_a_manager_hides_a_contribution_with_a_reason(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Buy my scanners!").id

    memory.hide_contribution(MANAGER, comment_id, "Advertising.")

    comment = memory.contribution(comment_id)
    assert (comment.hidden, comment.hidden_reason) == (True, "Advertising.")
    # Hidden from boards, never deleted from history.
    assert len(memory.history(comment_id)) == 2


def test_a_contribution_is_not_hidden_without_a_reason(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Buy my scanners!").id

    with refused(memory, InvalidInput, "reason") as caught:
        memory.hide_contribution(MANAGER, comment_id, "")
    assert caught.value.field == "reason"


def test_only_the_challenges_managers_hide_contributions(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Buy my scanners!").id

    with refused(memory, NotPermitted, "only the managers", "moderate"):
        memory.hide_contribution(AUTHOR, comment_id, "I do not like it.")


def test_a_contribution_is_hidden_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Buy my scanners!").id
    memory.hide_contribution(MANAGER, comment_id, "Advertising.")

    with refused(memory, AlreadyDone, "already hidden"):
        memory.hide_contribution(CO_MANAGER, comment_id, "Spam.")


def test_a_hidden_contribution_is_not_marked_helpful(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Buy my scanners!").id
    memory.hide_contribution(MANAGER, comment_id, "Advertising.")

    with refused(memory, WrongStage, "hidden"):
        memory.mark_helpful(CO_MANAGER, comment_id)


def test_an_unknown_contribution_is_not_found(memory: Engine, story: Scenario) -> None:
    missing = uuid4()
    with refused(memory, NotFound, str(missing)):
        memory.mark_helpful(MANAGER, missing)
