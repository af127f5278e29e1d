"""Rewards: paid per the policy from the pot, split exactly, once only; never overdrawn."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.challenge import Challenge
from domain.errors import (
    AlreadyRewarded,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    NotPermitted,
    PotTooSmall,
    RewardRefused,
)
from domain.ledger import TREASURY, balances, person_account, pot_account
from domain.person import Person
from domain.reward_subject import RewardSubject
from domain.words import reward_reason
from groundswell.app.engine import Engine
from projections.balances import BalancesProjection
from projections.leaderboard import LeaderboardProjection, standings
from projections.projection import fold
from tests.invariants import check_all
from tests.scenario import (
    AUTHOR,
    CO_MANAGER,
    COLLEAGUE,
    MANAGER,
    REVIEWER,
    TEAMMATE,
    Scenario,
    all_events,
    refused,
    terms,
)
from tests.support import memory_engine, redeem, store_item

_NOW = datetime(2026, 3, 3, tzinfo=UTC)


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


def assert_ledger_holds(engine: Engine) -> dict[str, int]:
    """Conservation and no overspend after every stored event; the wallets agree."""
    events = all_events(engine)
    for end in range(len(events) + 1):
        totals = balances(events[:end])
        assert sum(totals.values()) == 0
        assert all(points >= 0 for account, points in totals.items() if account != TREASURY)
    totals = balances(events)
    for account, points in totals.items():
        if account.startswith("person:"):
            assert engine.person(account.removeprefix("person:")).balance == points
    return totals


# -- granting what the policy names --------------------------------------------------------


def test_a_manager_rewards_an_accepted_idea_from_the_pot(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open", pot=100)
    idea_id = story.idea(challenge_id, "accepted")

    receipt = memory.grant_reward(MANAGER, "idea-accepted", idea_id)

    assert receipt.events == 2  # the challenge pays, the author's wallet receives
    challenge = memory.challenge(challenge_id)
    assert (challenge.pot, challenge.granted) == (90, 10)
    assert memory.person(AUTHOR).balance == 10
    granted = memory.history(challenge_id)[-1]
    assert isinstance(granted, Challenge.RewardGranted)
    assert (granted.reason, granted.subject_id, granted.shares) == (
        "idea-accepted",
        idea_id,
        {AUTHOR: 10},
    )
    received = memory.history(memory.person(AUTHOR).id)[-1]
    assert isinstance(received, Person.RewardReceived)
    assert (received.paying_challenge_id, received.points) == (challenge_id, 10)
    totals = assert_ledger_holds(memory)
    assert totals[pot_account(challenge_id)] == 90
    assert totals[person_account(AUTHOR)] == 10


def test_an_implemented_idea_earns_its_team_the_implementation_reward(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open", pot=100)
    idea_id = story.idea(challenge_id, "implemented")

    memory.grant_reward(MANAGER, "idea-accepted", idea_id)
    memory.grant_reward(MANAGER, "idea-implemented", idea_id)

    assert memory.person(AUTHOR).balance == 40
    assert memory.challenge(challenge_id).pot == 60
    assert_ledger_holds(memory)


def test_a_helpful_contribution_earns_its_author_the_helpful_reward(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")
    comment_id = story.helpful_comment(story.idea(challenge_id))

    memory.grant_reward(CO_MANAGER, "helpful-contribution", comment_id)

    assert memory.person(COLLEAGUE).balance == 5
    assert_ledger_holds(memory)


@pytest.mark.parametrize("stage", ["review", "closed"])
def test_prizes_go_to_the_best_ideas_at_close(memory: Engine, story: Scenario, stage: str) -> None:
    challenge_id = story.challenge("open", pot=100)
    best = story.idea(challenge_id, "accepted")
    runner_up = story.idea(challenge_id, "accepted", author=COLLEAGUE)
    story.move(challenge_id, stage)

    memory.award_prize(MANAGER, best, 1)
    memory.award_prize(MANAGER, runner_up, 2)

    assert memory.person(AUTHOR).balance == 50
    assert memory.person(COLLEAGUE).balance == 20
    assert memory.challenge(challenge_id).prizes_awarded == {1, 2}
    assert_ledger_holds(memory)


def test_no_prize_is_awarded_while_ideas_are_still_coming_in(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, RewardRefused, "prizes", "review or closed"):
        memory.award_prize(MANAGER, idea_id, 1)


def test_each_prize_is_awarded_once(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    best = story.idea(challenge_id, "accepted")
    other = story.idea(challenge_id, "accepted", author=COLLEAGUE)
    story.move(challenge_id, "closed")
    memory.award_prize(MANAGER, best, 1)

    with refused(memory, AlreadyRewarded, "prize 1"):
        memory.award_prize(MANAGER, other, 1)


def test_an_idea_wins_at_most_one_prize(memory: Engine, story: Scenario) -> None:
    # Was a bug: the same idea could take prize 1 and prize 2.
    challenge_id = story.challenge("open")
    best = story.idea(challenge_id, "accepted")
    story.move(challenge_id, "closed")
    memory.award_prize(MANAGER, best, 1)

    with refused(memory, AlreadyRewarded, "one prize per idea"):
        memory.award_prize(MANAGER, best, 2)


def test_only_the_prizes_the_policy_names_are_awarded(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, "accepted")
    story.move(challenge_id, "closed")

    with refused(memory, RewardRefused, "does not reward", "3rd prize") as caught:
        memory.award_prize(MANAGER, idea_id, 3)
    assert caught.value.field == "reason"


def test_a_prize_goes_only_to_an_accepted_idea(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, "rejected")
    story.move(challenge_id, "closed")

    with refused(memory, RewardRefused, "rejected", "does not qualify"):
        memory.award_prize(MANAGER, idea_id, 1)


def test_only_what_the_policy_names_is_rewarded(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open", implemented_idea_points=0)
    idea_id = story.idea(challenge_id, "implemented")

    with refused(memory, RewardRefused, "does not reward", "implemented idea") as caught:
        memory.grant_reward(MANAGER, "idea-implemented", idea_id)
    assert caught.value.field == "reason"


def test_an_unknown_reward_reason_is_refused(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    with refused(memory, InvalidInput, "unknown reward reason", "idea-accepted") as caught:
        memory.grant_reward(MANAGER, "good-vibes", idea_id)
    assert caught.value.field == "reason"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("submitted", "idea-accepted"),
        ("under review", "idea-accepted"),
        ("rejected", "idea-accepted"),
        ("withdrawn", "idea-accepted"),
        ("accepted", "idea-implemented"),
        ("in implementation", "idea-implemented"),
        ("abandoned", "idea-implemented"),
    ],
)
def test_an_idea_is_rewarded_only_for_what_it_achieved(
    memory: Engine, story: Scenario, status: str, reason: str
) -> None:
    idea_id = story.idea(story.challenge("open"), status)

    with refused(memory, RewardRefused, status, "does not qualify", reward_reason(reason)):
        memory.grant_reward(MANAGER, reason, idea_id)


def test_a_contribution_not_marked_helpful_earns_nothing(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"))
    comment_id = memory.comment(COLLEAGUE, idea_id, "Plain comment.").id

    with refused(memory, RewardRefused, "not marked helpful"):
        memory.grant_reward(MANAGER, "helpful-contribution", comment_id)


def test_a_hidden_contribution_earns_nothing_even_if_it_was_helpful(
    memory: Engine, story: Scenario
) -> None:
    comment_id = story.helpful_comment(story.idea(story.challenge("open")))
    memory.hide_contribution(MANAGER, comment_id, "Turned out to be advertising.")

    with refused(memory, RewardRefused, "hidden"):
        memory.grant_reward(MANAGER, "helpful-contribution", comment_id)


def test_a_reason_for_ideas_is_not_granted_on_a_contribution(
    memory: Engine, story: Scenario
) -> None:
    comment_id = story.helpful_comment(story.idea(story.challenge("open")))

    with refused(memory, NotFound, "not a idea"):
        memory.grant_reward(MANAGER, "idea-accepted", comment_id)


# -- who grants --------------------------------------------------------------------------------


def test_nobody_rewards_their_own_work(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, "accepted", author=CO_MANAGER)

    with refused(memory, RewardRefused, "nobody rewards their own work"):
        memory.grant_reward(CO_MANAGER, "idea-accepted", idea_id)
    memory.grant_reward(MANAGER, "idea-accepted", idea_id)  # another manager may
    assert memory.person(CO_MANAGER).balance == 10


def test_a_team_member_who_manages_does_not_reward_the_team(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted", team=(CO_MANAGER,))

    with refused(memory, RewardRefused, "own work"):
        memory.grant_reward(CO_MANAGER, "idea-accepted", idea_id)


def test_only_the_challenges_managers_grant_rewards(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")

    for someone in (COLLEAGUE, AUTHOR):
        with refused(memory, NotPermitted, "only the managers", "grant rewards"):
            memory.grant_reward(someone, "idea-accepted", idea_id)


def test_nothing_is_rewarded_in_an_archived_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open")
    idea_id = story.idea(challenge_id, "accepted")
    story.move(challenge_id, "archived")

    with refused(memory, RewardRefused, "archived"):
        memory.grant_reward(MANAGER, "idea-accepted", idea_id)


def _subject(challenge_id: object, handle: str = AUTHOR) -> RewardSubject:
    return RewardSubject(
        kind="idea",
        id=uuid4(),
        challenge_id=challenge_id,  # type: ignore[arg-type]
        status="accepted",
        qualifies_for=frozenset({"idea-accepted"}),
        shares={handle: 1},
    )


def _drafted(pot: int = 100) -> Challenge:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    return Challenge.draft(uuid4(), pot=pot, actor=MANAGER, at=at, **terms())


def test_nothing_is_rewarded_in_a_draft_challenge() -> None:
    challenge = _drafted()

    with pytest.raises(RewardRefused, match="draft"):
        challenge.grant_reward("idea-accepted", _subject(challenge.id), actor=MANAGER, at=_NOW)
    assert (challenge.pot, len(challenge.pending_events)) == (100, 2)


def test_a_challenge_pays_only_for_its_own_ideas() -> None:
    challenge = _drafted()
    challenge.open(actor=MANAGER, at=_NOW)

    with pytest.raises(RewardRefused, match="another challenge"):
        challenge.grant_reward("idea-accepted", _subject(uuid4()), actor=MANAGER, at=_NOW)
    assert challenge.pot == 100


# -- once only, no overspend ---------------------------------------------------------------


def test_the_same_reward_is_granted_only_once(memory: Engine, story: Scenario) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")
    memory.grant_reward(MANAGER, "idea-accepted", idea_id)

    for manager in (MANAGER, CO_MANAGER):
        with refused(memory, AlreadyRewarded, AUTHOR, "already received", "accepted idea"):
            memory.grant_reward(manager, "idea-accepted", idea_id)
    assert memory.person(AUTHOR).balance == 10


def test_a_later_team_member_does_not_reopen_a_granted_reward(
    memory: Engine, story: Scenario
) -> None:
    idea_id = story.idea(story.challenge("open"), "accepted")
    memory.grant_reward(MANAGER, "idea-accepted", idea_id)
    memory.invite_to_team(AUTHOR, idea_id, TEAMMATE)
    memory.join_team(TEAMMATE, idea_id)

    with refused(memory, AlreadyRewarded, AUTHOR):
        memory.grant_reward(MANAGER, "idea-accepted", idea_id)


def test_an_award_larger_than_the_pot_is_refused_until_the_pot_is_topped_up(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open", pot=25)
    idea_id = story.idea(challenge_id, "implemented")

    with refused(memory, PotTooSmall, "25 points", "30", "top up"):
        memory.grant_reward(MANAGER, "idea-implemented", idea_id)
    memory.top_up_pot(MANAGER, challenge_id, 5)
    memory.grant_reward(MANAGER, "idea-implemented", idea_id)

    assert memory.challenge(challenge_id).pot == 0
    assert_ledger_holds(memory)


def test_an_empty_pot_pays_nothing(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open", pot=0)
    idea_id = story.idea(challenge_id, "accepted")

    with refused(memory, PotTooSmall, "0 points"):
        memory.grant_reward(MANAGER, "idea-accepted", idea_id)


# -- team splits -------------------------------------------------------------------------------


def test_a_team_award_is_split_in_whole_points_that_sum_to_the_award(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open", pot=100)
    idea_id = story.idea(challenge_id, "accepted", team=(TEAMMATE, COLLEAGUE))

    memory.grant_reward(MANAGER, "idea-accepted", idea_id)

    granted = memory.history(challenge_id)[-1]
    # 10 among 3: 3 each, and the left-over point to the first name in order.
    assert granted.shares == {AUTHOR: 4, TEAMMATE: 3, COLLEAGUE: 3}
    assert sum(granted.shares.values()) == granted.amount == 10
    assert [memory.person(h).balance for h in (AUTHOR, TEAMMATE, COLLEAGUE)] == [4, 3, 3]
    assert_ledger_holds(memory)


def test_a_team_member_whose_share_rounds_to_nothing_is_not_in_the_award(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open", accepted_idea_points=2)
    idea_id = story.idea(challenge_id, "accepted", team=(TEAMMATE, COLLEAGUE))

    receipt = memory.grant_reward(MANAGER, "idea-accepted", idea_id)

    assert memory.history(challenge_id)[-1].shares == {AUTHOR: 1, TEAMMATE: 1}
    assert receipt.events == 3  # the grant and two wallets
    assert memory.person(COLLEAGUE).balance == 0
    assert_ledger_holds(memory)


# -- the reward store --------------------------------------------------------------------------


def _earn(memory: Engine, story: Scenario, points: int = 30) -> None:
    idea_id = story.idea(story.challenge("open", implemented_idea_points=points), "implemented")
    memory.grant_reward(MANAGER, "idea-implemented", idea_id)


def test_a_contributor_redeems_points_from_their_balance(memory: Engine, story: Scenario) -> None:
    _earn(memory, story, 30)

    redeem(memory, AUTHOR, 12, "Coffee mug")
    redeem(memory, AUTHOR, 18, "Day off voucher")

    author = memory.person(AUTHOR)
    assert (author.balance, author.earned) == (0, 30)
    totals = assert_ledger_holds(memory)
    assert totals["redeemed"] == 30


def test_a_redemption_never_overdraws_the_balance(memory: Engine, story: Scenario) -> None:
    _earn(memory, story, 30)

    bicycle = store_item(memory, "Bicycle", 31)
    with refused(memory, InsufficientBalance, AUTHOR, "30 points", "31") as caught:
        memory.redeem_item(AUTHOR, bicycle)
    assert caught.value.field == "points"
    assert memory.person(AUTHOR).balance == 30


def test_someone_who_earned_nothing_redeems_nothing(memory: Engine, story: Scenario) -> None:
    sticker = store_item(memory, "Sticker", 1)
    with refused(memory, InsufficientBalance, REVIEWER, "0 points"):
        memory.redeem_item(REVIEWER, sticker)


def test_a_person_redeems_only_their_own_points() -> None:
    person = Person.register(handle=AUTHOR, name="Ann", department="Sales", actor="admin", at=_NOW)

    with pytest.raises(NotPermitted, match=f"only {AUTHOR}"):
        person.redeem(1, "Mug", item_id=uuid4(), redemption_id=uuid4(), actor=COLLEAGUE, at=_NOW)


# -- the ledger over a whole challenge ---------------------------------------------------------


def test_points_are_conserved_through_a_whole_challenge(memory: Engine, story: Scenario) -> None:
    challenge_id = story.challenge("open", pot=120)
    implemented = story.idea(challenge_id, "implemented", team=(TEAMMATE,))
    accepted = story.idea(challenge_id, "accepted", author=COLLEAGUE)
    comment_id = story.helpful_comment(accepted, author=REVIEWER)
    memory.grant_reward(MANAGER, "idea-accepted", implemented)
    memory.grant_reward(MANAGER, "idea-implemented", implemented)
    memory.grant_reward(MANAGER, "helpful-contribution", comment_id)
    story.move(challenge_id, "closed")
    memory.award_prize(MANAGER, accepted, 1)
    memory.top_up_pot(MANAGER, challenge_id, 10)
    redeem(memory, TEAMMATE, 15, "Lunch")
    memory.archive_challenge(MANAGER, challenge_id)

    totals = assert_ledger_holds(memory)
    assert totals[pot_account(challenge_id)] == 0
    assert totals[TREASURY] == -95  # funded 130, paid out 95, 35 returned on archiving
    assert totals[person_account(TEAMMATE)] == 20 - 15
    assert memory.challenge(challenge_id).granted == 95


# -- team awards smaller than the team -------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(team_size=st.integers(min_value=1, max_value=6), points=st.integers(1, 14))
def test_a_team_award_splits_exactly_and_nobody_is_paid_or_listed_with_0_points(
    team_size: int, points: int
) -> None:
    """Fewer points than members: one point each to the first members by handle; the
    others are neither recorded in the award nor listed on the leaderboard."""
    engine = memory_engine()
    story = Scenario(engine).with_cast()
    members = [f"m{n}" for n in range(1, team_size)]
    for handle in members:
        engine.register_person(handle, name=f"Member {handle}", department="Sales")
    challenge_id = story.challenge("open", accepted_idea_points=points)
    idea_id = story.idea(challenge_id, "accepted", team=tuple(members))
    team = sorted([AUTHOR, *members])

    engine.grant_reward(MANAGER, "idea-accepted", idea_id)

    granted = all_events(engine)[-1 - min(points, team_size)]
    assert isinstance(granted, Challenge.RewardGranted)
    assert sum(granted.shares.values()) == points
    assert all(share > 0 for share in granted.shares.values())
    assert set(granted.shares) == set(team[:points])
    assert max(granted.shares.values()) - min(granted.shares.values()) <= 1
    board = standings(fold(LeaderboardProjection(), all_events(engine)))
    assert {s.handle: s.points for s in board} == granted.shares
    assert {h: engine.person(h).balance for h in team} == {
        h: granted.shares.get(h, 0) for h in team
    }
    check_all(all_events(engine), lambda aggregate_id: engine.repository.get(aggregate_id))


def test_a_0_point_share_stored_by_an_older_version_lists_nobody_with_0_points() -> None:
    challenge_id, idea_id = uuid4(), uuid4()
    old = Challenge.RewardGranted(
        originator_id=challenge_id,
        originator_version=3,
        timestamp=_NOW,
        event_id=uuid4(),
        actor=MANAGER,
        challenge_id=challenge_id,
        reason="idea-accepted",
        subject_kind="idea",
        subject_id=idea_id,
        amount=2,
        shares={"ann": 1, "bob": 1, "cat": 0},
    )

    board = standings(fold(LeaderboardProjection(), [old]))
    ledger = fold(BalancesProjection(), [old])

    assert [(s.handle, s.points) for s in board] == [("ann", 1), ("bob", 1)]
    assert "cat" not in str(ledger.table("entries"))
