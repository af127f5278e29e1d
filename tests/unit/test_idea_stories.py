"""Ideas: the contributor submits and teams up, the manager decides, the owner follows up."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import AlreadyDone, InvalidInput, NotFound, NotPermitted, WrongStage
from domain.idea import Idea, IdeaStatus
from domain.person import person_id
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
    TEAMMATE,
    Scenario,
    reads,
    refused,
)
from tests.support import SteppingClock


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


# -- contributor: submit, edit, withdraw ----------------------------------------------------


def test_a_contributor_submits_an_idea_into_an_open_challenge(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")

    receipt = memory.submit_idea(
        AUTHOR, challenge_id, title="Scan delivery notes", description="At the dock."
    )

    idea = memory.idea(receipt.id)
    assert idea.status is IdeaStatus.SUBMITTED
    assert (idea.challenge_id, idea.author, idea.department) == (challenge_id, AUTHOR, "Sales")
    assert idea.team == [AUTHOR]
    assert receipt.events == 1


def test_an_idea_id_the_engine_draws_itself_is_not_looked_up(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")

    with reads(memory) as read:
        memory.submit_idea(AUTHOR, challenge_id, title="Scan", description="At the dock.")

    assert read == [[challenge_id], [person_id(AUTHOR)]]


def test_an_idea_id_given_by_the_caller_is_taken_once(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = uuid4()
    memory.submit_idea(AUTHOR, challenge_id, title="Scan", description="Dock.", idea_id=idea_id)

    for taken in (idea_id, challenge_id):  # by an idea, or by anything else
        with refused(memory, AlreadyDone, f"an idea with id {taken} exists already") as caught:
            memory.submit_idea(
                COLLEAGUE, challenge_id, title="Again", description="Dock.", idea_id=taken
            )
        assert caught.value.field == "idea_id"


@pytest.mark.parametrize("stage", ["draft", "review", "closed", "archived"])
def test_no_idea_goes_into_a_challenge_that_is_not_open(
    memory: Engine, story: Scenario, stage: str
) -> None:
    challenge_id = story.challenge(stage)

    with refused(memory, WrongStage, stage, "open challenge"):
        memory.submit_idea(AUTHOR, challenge_id, title="Late", description="Too late.")


def test_no_idea_is_submitted_after_the_submission_deadline(
    memory: Engine, story: Scenario, clock: SteppingClock
) -> None:
    challenge_id = story.challenge("open")
    clock.advance(days=60)

    with refused(memory, WrongStage, "closed on 2026-04-30"):
        memory.submit_idea(AUTHOR, challenge_id, title="Late", description="Too late.")


@pytest.mark.parametrize(
    ("title", "description", "field"),
    [("", "Something", "title"), ("x" * 201, "Something", "title"), ("Idea", "  ", "description")],
)
def test_an_idea_needs_a_title_and_a_description(
    memory: Engine, story: Scenario, title: str, description: str, field: str
) -> None:
    challenge_id = story.challenge("open")

    with refused(memory, InvalidInput, field) as caught:
        memory.submit_idea(AUTHOR, challenge_id, title=title, description=description)
    assert caught.value.field == field


def test_an_idea_goes_only_into_a_challenge_that_exists(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotFound, "challenge"):
        memory.submit_idea(AUTHOR, uuid4(), title="Idea", description="Nowhere.")


def test_an_auditor_cannot_submit_an_idea(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")

    with refused(memory, NotPermitted, AUDITOR):
        memory.submit_idea(AUDITOR, challenge_id, title="Audit", description="Read-only?")


def test_the_team_edits_an_idea_until_it_is_under_review(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, team=(TEAMMATE,))

    memory.edit_idea(AUTHOR, idea_id, title="Scan every note", description="And file them.")
    memory.edit_idea(TEAMMATE, idea_id, title="Scan all notes", description="And file them.")

    assert memory.idea(idea_id).title == "Scan all notes"


def test_an_idea_under_review_can_no_longer_be_edited(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")

    with refused(memory, WrongStage, "under review", "edited"):
        memory.edit_idea(AUTHOR, idea_id, title="Changed", description="Changed.")


def test_only_the_team_edits_an_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotPermitted, "team"):
        memory.edit_idea(COLLEAGUE, idea_id, title="Mine now", description="Mine.")


def test_an_idea_in_an_archived_challenge_can_no_longer_be_edited(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id)
    story.move(challenge_id, "archived")

    with refused(memory, WrongStage, "archived"):
        memory.edit_idea(AUTHOR, idea_id, title="Rewritten", description="After the fact.")


def test_the_author_withdraws_an_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    memory.withdraw_idea(AUTHOR, idea_id)

    assert memory.idea(idea_id).status is IdeaStatus.WITHDRAWN


def test_only_the_author_withdraws_an_idea(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), team=(TEAMMATE,))

    with refused(memory, NotPermitted, "author", "withdraw"):
        memory.withdraw_idea(TEAMMATE, idea_id)


@pytest.mark.parametrize("status", ["accepted", "rejected", "withdrawn"])
def test_a_decided_or_withdrawn_idea_cannot_be_withdrawn(
    memory: Engine, story: Scenario, status: str
) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, WrongStage, status, "withdrawn"):
        memory.withdraw_idea(AUTHOR, idea_id)


# -- contributor: teams ---------------------------------------------------------------------


def test_a_team_member_is_invited_and_accepts(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    memory.invite_to_team(AUTHOR, idea_id, TEAMMATE)
    assert memory.idea(idea_id).invited == {TEAMMATE}
    memory.join_team(TEAMMATE, idea_id)

    idea = memory.idea(idea_id)
    assert idea.team == [AUTHOR, TEAMMATE]
    assert idea.invited == set()
    joined = memory.history(idea_id)[-1]
    assert isinstance(joined, Idea.TeamMemberJoined)
    assert (joined.actor, joined.department) == (TEAMMATE, "Operations")


def test_nobody_joins_a_team_without_an_invitation(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotPermitted, COLLEAGUE, "not been invited"):
        memory.join_team(COLLEAGUE, idea_id)


def test_only_the_team_invites_team_members(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotPermitted, "team", "invite"):
        memory.invite_to_team(COLLEAGUE, idea_id, COLLEAGUE)


def test_a_team_member_is_not_invited_twice(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), team=(TEAMMATE,))
    memory.invite_to_team(AUTHOR, idea_id, COLLEAGUE)

    with refused(memory, AlreadyDone, TEAMMATE, "already on the team"):
        memory.invite_to_team(AUTHOR, idea_id, TEAMMATE)
    with refused(memory, AlreadyDone, COLLEAGUE, "already been invited"):
        memory.invite_to_team(AUTHOR, idea_id, COLLEAGUE)


def test_only_registered_people_are_invited(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, NotFound, "ghost"):
        memory.invite_to_team(AUTHOR, idea_id, "ghost")


def test_a_withdrawn_idea_takes_no_new_team_members(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.invite_to_team(AUTHOR, idea_id, TEAMMATE)
    memory.withdraw_idea(AUTHOR, idea_id)

    with refused(memory, WrongStage, "withdrawn", "joined"):
        memory.join_team(TEAMMATE, idea_id)


def test_a_reviewer_cannot_join_the_team_of_the_idea_they_review(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.ask_reviewer(MANAGER, idea_id, REVIEWER)

    with refused(memory, NotPermitted, REVIEWER, "review"):
        memory.invite_to_team(AUTHOR, idea_id, REVIEWER)


def test_an_invited_reviewer_who_was_asked_to_review_cannot_then_join(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.invite_to_team(AUTHOR, idea_id, REVIEWER)

    with refused(memory, InvalidInput, "team member"):
        memory.ask_reviewer(MANAGER, idea_id, REVIEWER)


def test_an_endorser_cannot_join_the_team_of_the_idea_they_endorsed(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))
    memory.endorse(TEAMMATE, idea_id)

    with refused(memory, NotPermitted, TEAMMATE, "endorse"):
        memory.invite_to_team(AUTHOR, idea_id, TEAMMATE)


# -- manager: review and decision -------------------------------------------------------------


def test_a_manager_puts_an_idea_under_review_and_accepts_it(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"))

    memory.start_review(MANAGER, idea_id)
    assert memory.idea(idea_id).status is IdeaStatus.UNDER_REVIEW
    memory.accept_idea(CO_MANAGER, idea_id, "Worth a pilot.")

    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.ACCEPTED
    assert idea.was_accepted
    accepted = memory.history(idea_id)[-1]
    assert isinstance(accepted, Idea.Accepted)
    assert (accepted.note, accepted.actor) == ("Worth a pilot.", CO_MANAGER)


def test_an_idea_is_accepted_only_after_review(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, WrongStage, "submitted", "under review first"):
        memory.accept_idea(MANAGER, idea_id)


def test_a_withdrawn_idea_cannot_be_accepted(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "withdrawn")

    with refused(memory, WrongStage, "withdrawn", "accepted"):
        memory.accept_idea(MANAGER, idea_id)


def test_a_withdrawn_idea_cannot_be_put_under_review(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "withdrawn")

    with refused(memory, WrongStage, "withdrawn", "under review"):
        memory.start_review(MANAGER, idea_id)


@pytest.mark.parametrize("status", ["submitted", "under review"])
def test_a_manager_rejects_an_idea_with_a_reason(
    memory: Engine, story: Scenario, status: str
) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    memory.reject_idea(MANAGER, idea_id, "We tried this in 2019.")

    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.REJECTED
    assert idea.decision_reason == "We tried this in 2019."


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_idea_is_not_rejected_without_a_reason(
    memory: Engine, story: Scenario, reason: str
) -> None:
    idea_id = story.idea(story.challenge("open"), "under review")

    with refused(memory, InvalidInput, "reason") as caught:
        memory.reject_idea(MANAGER, idea_id, reason)
    assert caught.value.field == "reason"
    assert memory.idea(idea_id).status is IdeaStatus.UNDER_REVIEW


def test_deciding_a_submitted_idea_starts_its_review_in_the_same_step(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "submitted")

    receipt = memory.decide_idea(MANAGER, idea_id, accept=True, words="Worth a pilot.")

    assert receipt.events == 2  # ReviewStarted and Accepted, in one transaction
    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.ACCEPTED  # the note goes to notifications, not the reason
    assert [type(e).__name__ for e in memory.history(idea_id)][-2:] == ["ReviewStarted", "Accepted"]


def test_a_refused_decision_on_a_submitted_idea_writes_nothing(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "submitted")

    with refused(memory, InvalidInput, "reason"):
        memory.decide_idea(MANAGER, idea_id, accept=False, words=" ")
    with refused(memory, NotPermitted, "only the managers"):
        memory.decide_idea(AUTHOR, idea_id, accept=True)
    assert memory.idea(idea_id).status is IdeaStatus.SUBMITTED


@pytest.mark.parametrize("status", ["accepted", "rejected", "withdrawn", "in implementation"])
def test_a_decided_idea_is_not_rejected(memory: Engine, story: Scenario, status: str) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, WrongStage, status, "rejected"):
        memory.reject_idea(MANAGER, idea_id, "Changed our minds.")


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("start_review", ()),
        ("accept_idea", ()),
        ("reject_idea", ("No.",)),
        ("ask_reviewer", (REVIEWER,)),
    ],
)
def test_only_the_challenges_managers_review_and_decide(
    memory: Engine, story: Scenario, command: str, args: tuple[str, ...]
) -> None:
    idea_id = story.idea(
        story.challenge("open"), "under review" if command == "accept_idea" else "submitted"
    )

    with refused(memory, NotPermitted, "only the managers"):
        getattr(memory, command)(COLLEAGUE, idea_id, *args)


def test_ideas_are_decided_while_the_challenge_is_in_review_or_closed(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")
    first, second = story.idea(challenge_id), story.idea(challenge_id, title="Second")
    story.move(challenge_id, "review")
    memory.start_review(MANAGER, first)
    memory.accept_idea(MANAGER, first)
    story.move(challenge_id, "closed")
    memory.reject_idea(MANAGER, second, "Out of scope.")

    assert memory.idea(first).status is IdeaStatus.ACCEPTED
    assert memory.idea(second).status is IdeaStatus.REJECTED


def test_no_decision_is_taken_in_an_archived_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, "under review")
    story.move(challenge_id, "archived")

    with refused(memory, WrongStage, "archived", "decide"):
        memory.accept_idea(MANAGER, idea_id)


# -- manager: merge duplicates ----------------------------------------------------------------


def test_a_manager_merges_a_duplicate_and_its_input_follows(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")
    original = story.idea(challenge_id)
    duplicate = story.idea(challenge_id, author=TEAMMATE, title="Scan the notes")
    memory.endorse(COLLEAGUE, duplicate)

    memory.merge_idea(MANAGER, duplicate, original)

    assert memory.idea(duplicate).status is IdeaStatus.MERGED
    assert memory.idea(duplicate).merged_into == original
    assert memory.idea(original).duplicates == [duplicate]
    # New input on the duplicate is sent to where it now counts.
    with refused(memory, WrongStage, str(original)):
        memory.comment(COLLEAGUE, duplicate, "Me too.")


def test_a_merge_is_undone_and_the_history_shows_both(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    original = story.idea(challenge_id)
    duplicate = story.idea(challenge_id, "under review", author=TEAMMATE, title="Dup")
    memory.merge_idea(MANAGER, duplicate, original)

    memory.undo_merge(CO_MANAGER, duplicate)

    assert memory.idea(duplicate).status is IdeaStatus.UNDER_REVIEW
    assert memory.idea(duplicate).merged_into is None
    assert memory.idea(original).duplicates == []
    assert [type(e) for e in memory.history(duplicate)][-2:] == [
        Idea.MergedInto,
        Idea.MergeUndone,
    ]
    assert [type(e) for e in memory.history(original)][-2:] == [
        Idea.DuplicateAbsorbed,
        Idea.DuplicateReleased,
    ]


def test_a_merge_is_not_undone_in_an_archived_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    original = story.idea(challenge_id)
    duplicate = story.idea(challenge_id, author=TEAMMATE, title="Dup")
    memory.merge_idea(MANAGER, duplicate, original)
    story.move(challenge_id, "archived")

    with refused(memory, WrongStage, "archived", "undo merges"):
        memory.undo_merge(MANAGER, duplicate)


def test_an_idea_that_is_not_merged_cannot_be_unmerged(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, WrongStage, "not merged"):
        memory.undo_merge(MANAGER, idea_id)


def test_an_idea_is_not_merged_into_itself(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))

    with refused(memory, InvalidInput, "itself"):
        memory.merge_idea(MANAGER, idea_id, idea_id)


def test_ideas_are_merged_only_within_one_challenge(memory: Engine, story: Scenario) -> None:
    here = story.idea(story.challenge("open"))
    there = story.idea(story.challenge("open", title="Another challenge"))

    with refused(memory, InvalidInput, "one challenge"):
        memory.merge_idea(MANAGER, here, there)


def test_an_idea_is_not_merged_into_a_withdrawn_idea(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    withdrawn = story.idea(challenge_id, "withdrawn")
    duplicate = story.idea(challenge_id, author=TEAMMATE)

    with refused(memory, WrongStage, "withdrawn", "live idea"):
        memory.merge_idea(MANAGER, duplicate, withdrawn)


def test_an_accepted_idea_is_not_merged_away(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    accepted = story.idea(challenge_id, "accepted")
    other = story.idea(challenge_id, author=TEAMMATE)

    with refused(memory, WrongStage, "accepted", "merged"):
        memory.merge_idea(MANAGER, accepted, other)


def test_an_idea_with_duplicates_is_not_merged_itself(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    first = story.idea(challenge_id)
    second = story.idea(challenge_id, author=TEAMMATE)
    third = story.idea(challenge_id, author=COLLEAGUE)
    memory.merge_idea(MANAGER, second, first)

    with refused(memory, WrongStage, "undo those merges first"):
        memory.merge_idea(MANAGER, first, third)


def test_only_the_challenges_managers_merge_ideas(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    first, second = story.idea(challenge_id), story.idea(challenge_id, author=TEAMMATE)

    with refused(memory, NotPermitted, "merge"):
        memory.merge_idea(AUTHOR, second, first)


# -- implementation owner ---------------------------------------------------------------------


def test_an_owner_asks_to_take_over_an_accepted_idea_and_the_managers_decide(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    memory.take_over_idea(OWNER, idea_id, core_process="Inbound logistics", external_ref="LOG-7")

    asked = memory.idea(idea_id)
    assert asked.status is IdeaStatus.ACCEPTED and asked.owner is None
    assert asked.take_over_requests == {OWNER: ("Inbound logistics", "LOG-7")}
    with refused(memory, WrongStage, "nobody owns"):
        memory.report_progress(OWNER, idea_id, "Started on my own.")

    memory.take_over_idea(CO_MANAGER, idea_id, core_process="", owner=OWNER)

    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.IN_IMPLEMENTATION
    assert (idea.owner, idea.core_process, idea.external_ref) == (
        OWNER,
        "Inbound logistics",
        "LOG-7",
    )
    assert idea.take_over_requests == {}
    kinds = [type(e).__name__ for e in memory.history(idea_id)][-2:]
    assert kinds == ["TakeOverRequested", "TakenOver"]


def test_an_owner_asks_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")
    memory.take_over_idea(OWNER, idea_id, core_process="Inbound logistics")

    with refused(memory, AlreadyDone, OWNER, "already asked"):
        memory.take_over_idea(OWNER, idea_id, core_process="Inbound logistics")


def test_the_managers_hand_over_to_someone_other_than_who_asked(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")
    memory.take_over_idea(OTHER_OWNER, idea_id, core_process="Outbound logistics")

    memory.take_over_idea(MANAGER, idea_id, core_process="Inbound logistics", owner=OWNER)

    idea = memory.idea(idea_id)
    assert (idea.owner, idea.core_process) == (OWNER, "Inbound logistics")
    with refused(memory, NotPermitted, OWNER):
        memory.report_progress(OTHER_OWNER, idea_id, "Mine now?")


def test_a_manager_hands_an_accepted_idea_over_to_an_owner(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    memory.take_over_idea(MANAGER, idea_id, core_process="Inbound logistics", owner=OWNER)

    assert memory.idea(idea_id).owner == OWNER


def test_only_someone_with_the_owner_role_takes_over(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, NotPermitted, COLLEAGUE, "owner role"):
        memory.take_over_idea(COLLEAGUE, idea_id, core_process="Sales")


def test_nobody_hands_over_an_idea_on_someone_elses_behalf(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, NotPermitted, "managers of", "hand an idea over"):
        memory.take_over_idea(OTHER_OWNER, idea_id, core_process="Sales", owner=OWNER)


def test_the_managers_reassign_the_owner_of_an_idea_in_implementation(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    memory.reassign_owner(CO_MANAGER, idea_id, OTHER_OWNER)

    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.IN_IMPLEMENTATION
    assert (idea.owner, idea.core_process) == (OTHER_OWNER, "Inbound logistics")
    reassigned = memory.history(idea_id)[-1]
    assert isinstance(reassigned, Idea.OwnerReassigned)
    assert (reassigned.owner, reassigned.previous_owner) == (OTHER_OWNER, OWNER)
    with refused(memory, NotPermitted, OTHER_OWNER):
        memory.report_progress(OWNER, idea_id, "Still mine?")
    memory.report_progress(OTHER_OWNER, idea_id, "Picked it up.")
    assert memory.idea(idea_id).progress == ["Picked it up."]


def test_only_the_managers_reassign_an_owner(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    with refused(memory, NotPermitted, "managers", "reassign"):
        memory.reassign_owner(OTHER_OWNER, idea_id, OTHER_OWNER)
    with refused(memory, NotPermitted, "managers", "reassign"):
        memory.reassign_owner(OWNER, idea_id, OTHER_OWNER)


def test_an_owner_is_reassigned_only_to_someone_else_with_the_owner_role(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    with refused(memory, AlreadyDone, OWNER, "already owns"):
        memory.reassign_owner(MANAGER, idea_id, OWNER)
    with refused(memory, NotPermitted, COLLEAGUE, "owner role"):
        memory.reassign_owner(MANAGER, idea_id, COLLEAGUE)


@pytest.mark.parametrize("status", ["accepted", "implemented", "abandoned"])
def test_only_an_idea_in_implementation_gets_another_owner(
    memory: Engine, story: Scenario, status: str
) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, WrongStage, status, "another owner"):
        memory.reassign_owner(MANAGER, idea_id, OTHER_OWNER)


@pytest.mark.parametrize("status", ["submitted", "under review", "rejected", "withdrawn"])
def test_only_an_accepted_idea_is_taken_over(memory: Engine, story: Scenario, status: str) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, WrongStage, status, "taken over"):
        memory.take_over_idea(OWNER, idea_id, core_process="Inbound logistics")


def test_an_idea_is_not_taken_over_twice(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    with refused(memory, WrongStage, "in implementation", "taken over"):
        memory.take_over_idea(OTHER_OWNER, idea_id, core_process="Outbound logistics")


def test_a_take_over_names_the_core_process(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, InvalidInput, "core_process"):
        memory.take_over_idea(OWNER, idea_id, core_process=" ")


def test_the_owner_reports_progress_and_marks_the_idea_implemented(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    memory.report_progress(OWNER, idea_id, "Scanners ordered.")
    memory.report_progress(OWNER, idea_id, "Pilot at dock 3.")
    memory.mark_implemented(OWNER, idea_id, "40% less paper at the dock.")

    idea = memory.idea(idea_id)
    assert idea.progress == ["Scanners ordered.", "Pilot at dock 3."]
    assert idea.status is IdeaStatus.IMPLEMENTED
    assert idea.impact == "40% less paper at the dock."


def test_the_owner_abandons_an_idea_with_a_reason(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    memory.abandon_idea(OWNER, idea_id, "The scanners were too slow.")

    idea = memory.idea(idea_id)
    assert idea.status is IdeaStatus.ABANDONED
    assert idea.decision_reason == "The scanners were too slow."


@pytest.mark.parametrize(
    ("command", "field"),
    [("mark_implemented", "impact"), ("abandon_idea", "reason"), ("report_progress", "note")],
)
def test_the_owners_follow_up_is_never_empty(
    memory: Engine, story: Scenario, command: str, field: str
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    with refused(memory, InvalidInput, field):
        getattr(memory, command)(OWNER, idea_id, "")


@pytest.mark.parametrize("command", ["report_progress", "mark_implemented", "abandon_idea"])
def test_only_the_owner_reports_implementation(
    memory: Engine, story: Scenario, command: str
) -> None:
    idea_id = story.idea(story.challenge("open"), "in implementation")

    for someone in (OTHER_OWNER, MANAGER, AUTHOR):
        with refused(memory, NotPermitted, OWNER, "only the owner"):
            getattr(memory, command)(someone, idea_id, "Done, I say.")


def test_an_idea_without_an_owner_is_not_marked_implemented(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, WrongStage, "nobody owns"):
        memory.mark_implemented(OWNER, idea_id, "It just happened.")


@pytest.mark.parametrize("status", ["implemented", "abandoned"])
def test_a_finished_implementation_is_not_reported_on_again(
    memory: Engine, story: Scenario, status: str
) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, WrongStage, status):
        memory.mark_implemented(OWNER, idea_id, "Again.")
    with refused(memory, WrongStage, status):
        memory.report_progress(OWNER, idea_id, "More.")
