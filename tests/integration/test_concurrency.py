"""Real concurrency: threads, and two engines on one store, racing for the same aggregates.

Every racing command either lands (exactly once) or is refused with a domain error and
writes nothing; the reward invariants hold whatever the interleaving.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.challenge import Challenge
from domain.contribution import ContributionKind, once_per_person_id
from domain.errors import (
    AlreadyDone,
    AlreadyRewarded,
    ConcurrencyConflict,
    DomainError,
    InsufficientBalance,
    NotAvailable,
    PotTooSmall,
)
from domain.idea import Idea
from domain.ledger import TREASURY, balances
from domain.person import Person
from domain.store import StoreItem
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from tests.scenario import (
    AUTHOR,
    COLLEAGUE,
    MANAGER,
    REVIEWER,
    TEAMMATE,
    Scenario,
    all_events,
    twin_engine,
)
from tests.support import SteppingClock, store_item

THREADS = 8
Outcome = Receipt | DomainError


@pytest.fixture
def engines(engine: Engine, clock: SteppingClock) -> Iterator[list[Engine]]:
    """The engine under test and a second one on the same store, as two processes."""
    twin = twin_engine(engine, clock)
    yield [engine, twin]
    twin.close()


def race(engines: list[Engine], command: Callable[[Engine, int], Receipt]) -> list[Outcome]:
    """Run ``command`` in THREADS threads at once, alternating engines; collect outcomes."""
    start = threading.Barrier(THREADS)

    def one(i: int) -> Outcome:
        start.wait()
        try:
            return command(engines[i % len(engines)], i)
        except DomainError as refusal:
            return refusal

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def landed(outcomes: list[Outcome]) -> list[Receipt]:
    return [o for o in outcomes if isinstance(o, Receipt)]


def refusal_kinds(outcomes: list[Outcome]) -> Counter[type]:
    return Counter(type(o) for o in outcomes if not isinstance(o, Receipt))


def assert_no_point_made_or_lost(engine: Engine) -> dict[str, int]:
    totals = balances(all_events(engine))
    assert sum(totals.values()) == 0
    assert all(points >= 0 for account, points in totals.items() if account != TREASURY)
    return totals


def test_racing_grants_of_different_rewards_never_overspend_a_small_pot(
    engines: list[Engine],
) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=30)  # room for three awards of 10
    authors = [AUTHOR, TEAMMATE, COLLEAGUE, REVIEWER]
    ideas = [
        story.idea(challenge_id, "accepted", author=authors[i % 4], title=f"Idea {i}")
        for i in range(THREADS)
    ]

    outcomes = race(engines, lambda e, i: e.grant_reward(MANAGER, "idea-accepted", ideas[i]))

    assert set(refusal_kinds(outcomes)) <= {PotTooSmall, ConcurrencyConflict}
    challenge = engine.challenge(challenge_id)
    paid = [e for e in engine.history(challenge_id) if isinstance(e, Challenge.RewardGranted)]
    assert len(paid) == len(landed(outcomes)) <= 3
    if ConcurrencyConflict not in refusal_kinds(outcomes):
        assert len(paid) == 3  # nobody gave up, so the pot was used up
    assert len({e.subject_id for e in paid}) == len(paid)  # no idea paid twice
    assert challenge.pot == 30 - 10 * len(paid) >= 0
    assert challenge.granted == 10 * len(paid) <= challenge.funded
    totals = assert_no_point_made_or_lost(engine)
    assert sum(engine.person(h).balance for h in authors) == challenge.granted
    assert sum(v for k, v in totals.items() if k.startswith("person:")) == challenge.granted


def test_racing_grants_of_the_same_reward_pay_it_once(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=100)
    idea_id = story.idea(challenge_id, "accepted", team=(TEAMMATE,))

    outcomes = race(engines, lambda e, i: e.grant_reward(MANAGER, "idea-accepted", idea_id))

    assert len(landed(outcomes)) == 1
    assert set(refusal_kinds(outcomes)) <= {AlreadyRewarded, ConcurrencyConflict}
    assert engine.challenge(challenge_id).pot == 90
    assert (engine.person(AUTHOR).balance, engine.person(TEAMMATE).balance) == (5, 5)
    received = [
        e for e in engine.history(engine.person(AUTHOR).id) if isinstance(e, Person.RewardReceived)
    ]
    assert len(received) == 1
    assert_no_point_made_or_lost(engine)


def test_racing_redemptions_by_one_person_never_overdraw(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=100, implemented_idea_points=30)
    idea_id = story.idea(challenge_id, "implemented")
    engine.grant_reward(MANAGER, "idea-implemented", idea_id)  # AUTHOR holds 30

    voucher = store_item(engine, "Voucher", 10)
    outcomes = race(engines, lambda e, i: e.redeem_item(AUTHOR, voucher))

    assert set(refusal_kinds(outcomes)) <= {InsufficientBalance, ConcurrencyConflict}
    redeemed = [
        e for e in engine.history(engine.person(AUTHOR).id) if isinstance(e, Person.PointsRedeemed)
    ]
    assert len(redeemed) == len(landed(outcomes)) <= 3
    if ConcurrencyConflict not in refusal_kinds(outcomes):
        assert len(redeemed) == 3  # nobody gave up, so the balance was spent
    assert sum(e.points for e in redeemed) <= 30
    assert engine.person(AUTHOR).balance == 30 - 10 * len(redeemed) >= 0
    assert_no_point_made_or_lost(engine)


def test_racing_endorsements_by_one_person_store_exactly_one(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    idea_id = story.idea(story.challenge("open"))
    before = engine.last_position

    outcomes = race(engines, lambda e, i: e.endorse(COLLEAGUE, idea_id))

    assert len(landed(outcomes)) == 1
    assert set(refusal_kinds(outcomes)) <= {AlreadyDone, ConcurrencyConflict}
    endorsement_id = once_per_person_id(ContributionKind.ENDORSEMENT, idea_id, COLLEAGUE)
    assert len(engine.history(endorsement_id)) == 1
    assert engine.last_position == before + 1


def test_racing_top_ups_of_one_pot_are_retried_and_none_is_lost(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=0)
    amounts = [2**i for i in range(THREADS)]  # each subset has its own sum

    outcomes = race(engines, lambda e, i: e.top_up_pot(MANAGER, challenge_id, amounts[i]))

    assert set(refusal_kinds(outcomes)) <= {ConcurrencyConflict}
    landed_amounts = sorted(amounts[i] for i, o in enumerate(outcomes) if isinstance(o, Receipt))
    funded = sorted(
        e.points for e in engine.history(challenge_id) if isinstance(e, Challenge.PotFunded)
    )
    assert funded == landed_amounts
    assert engine.challenge(challenge_id).pot == sum(landed_amounts)
    # A writer that lost every one of its retries is told so and wrote nothing.
    assert landed_amounts


def test_racing_changes_to_one_idea_are_retried_and_none_is_lost(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    idea_id = story.idea(story.challenge("open"))
    invitees = [f"guest{i}" for i in range(THREADS)]
    for handle in invitees:
        engine.register_person(handle, name=handle.title(), department="Guests")

    outcomes = race(engines, lambda e, i: e.invite_to_team(AUTHOR, idea_id, invitees[i]))

    assert set(refusal_kinds(outcomes)) <= {ConcurrencyConflict}
    landed_invitees = [invitees[i] for i, o in enumerate(outcomes) if isinstance(o, Receipt)]
    assert landed_invitees
    assert engine.idea(idea_id).invited == set(landed_invitees)
    invited = [e for e in engine.history(idea_id) if isinstance(e, Idea.TeamMemberInvited)]
    assert sorted(e.invitee for e in invited) == landed_invitees


def test_racing_redemptions_of_the_last_in_stock_take_it_once(engines: list[Engine]) -> None:
    """Stock never goes below zero: the item's version guards it, across processes."""
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=100, implemented_idea_points=30)
    idea_id = story.idea(challenge_id, "implemented", team=(TEAMMATE, COLLEAGUE))
    engine.grant_reward(MANAGER, "idea-implemented", idea_id)  # 10 points each
    last = store_item(engine, "Last mug", 5, stock=1)
    buyers = [AUTHOR, TEAMMATE, COLLEAGUE]

    outcomes = race(engines, lambda e, i: e.redeem_item(buyers[i % 3], last))

    assert set(refusal_kinds(outcomes)) <= {NotAvailable, ConcurrencyConflict}
    taken = [e for e in engine.history(last) if isinstance(e, StoreItem.Taken)]
    assert len(taken) == len(landed(outcomes)) <= 1
    if ConcurrencyConflict not in refusal_kinds(outcomes):
        assert len(taken) == 1
    assert engine.store_item(last).stock == 1 - len(taken) >= 0
    spent = sum(10 - engine.person(h).balance for h in buyers)
    assert spent == 5 * len(taken)
    assert_no_point_made_or_lost(engine)


def test_a_grant_and_a_redemption_racing_on_one_wallet_both_count(engines: list[Engine]) -> None:
    engine = engines[0]
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=200, implemented_idea_points=30)
    first = story.idea(challenge_id, "implemented")
    engine.grant_reward(MANAGER, "idea-accepted", first)  # AUTHOR holds 10
    others = [story.idea(challenge_id, "accepted", title=f"More {i}") for i in range(3)]

    sticker = store_item(engine, "Sticker", 2)

    def command(e: Engine, i: int) -> Receipt:
        if i < 3:
            return e.grant_reward(MANAGER, "idea-accepted", others[i])
        return e.redeem_item(AUTHOR, sticker)

    outcomes = race(engines, command)

    assert set(refusal_kinds(outcomes)) <= {ConcurrencyConflict, InsufficientBalance}
    history = engine.history(engine.person(AUTHOR).id)
    received = sum(e.points for e in history if isinstance(e, Person.RewardReceived))
    spent = sum(e.points for e in history if isinstance(e, Person.PointsRedeemed))
    assert engine.person(AUTHOR).balance == received - spent >= 0
    assert_no_point_made_or_lost(engine)
