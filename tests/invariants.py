"""Invariants of a whole stored history, as plain functions over its domain events.

Each check takes every stored domain event in notification order (oldest first) and
raises AssertionError naming the event at fault. The folds here are written apart
from the aggregates on purpose: they restate the rules of DESIGN.md ("Reward ledger —
the invariants") from the events alone, so a bug in an aggregate cannot hide itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from domain.ledger import TREASURY, balances, person_account, pot_account
from domain.person import Person, person_id
from domain.reward_policy import RewardPolicy, prize_rank
from domain.store import StoreItem

REWARDING_STAGES = {"open", "review", "closed"}
PRIZE_STAGES = {"review", "closed"}
IDEA_STATUS_AFTER = {
    Idea.ReviewStarted: "under review",
    Idea.Accepted: "accepted",
    Idea.Rejected: "rejected",
    Idea.Withdrawn: "withdrawn",
    Idea.TakenOver: "in implementation",
    Idea.Implemented: "implemented",
    Idea.Abandoned: "abandoned",
}
CHALLENGE_STAGE_AFTER = {
    Challenge.Opened: "open",
    Challenge.MovedToReview: "review",
    Challenge.Closed: "closed",
    Challenge.Archived: "archived",
}


def _running_balances(events: Iterable[Any]) -> Iterator[tuple[Any, dict[str, int]]]:
    """Each event with the account balances right after it (one prefix at a time)."""
    totals: dict[str, int] = {}
    for event in events:
        for account, change in balances([event]).items():
            totals[account] = totals.get(account, 0) + change
        yield event, totals


def check_conservation(events: list[Any]) -> None:
    """1. The sum over all accounts is zero after every event."""
    totals: dict[str, int] = {}
    for event, totals in _running_balances(events):
        assert sum(totals.values()) == 0, f"points created or lost at {event!r}: {totals}"
    assert {k: v for k, v in totals.items() if v} == {
        k: v for k, v in balances(events).items() if v
    }


def check_no_overspend(events: list[Any]) -> None:
    """2. No pot and no person's account is ever below zero; only the treasury may be."""
    for event, totals in _running_balances(events):
        overdrawn = {a: v for a, v in totals.items() if v < 0 and a != TREASURY}
        assert not overdrawn, f"{overdrawn} overdrawn by {event!r}"


@dataclass
class _ChallengeView:
    stage: str
    policy: RewardPolicy
    managers: set[str]
    prizes_awarded: set[int] = field(default_factory=set)
    prize_winners: set[UUID] = field(default_factory=set)


@dataclass
class _IdeaView:
    challenge_id: UUID
    status: str
    team: list[str]
    was_accepted: bool = False
    status_before_merge: str | None = None


@dataclass
class _ContributionView:
    challenge_id: UUID
    author: str
    helpful: bool = False
    hidden: bool = False


def _policy(event: Any) -> RewardPolicy:
    return RewardPolicy(
        accepted_idea=event.accepted_idea_points,
        implemented_idea=event.implemented_idea_points,
        helpful_contribution=event.helpful_contribution_points,
        prizes=tuple(event.prize_points),
    )


@dataclass
class _World:
    """Just enough of every aggregate's state, folded from events, to judge a reward."""

    challenges: dict[UUID, _ChallengeView] = field(default_factory=dict)
    ideas: dict[UUID, _IdeaView] = field(default_factory=dict)
    contributions: dict[UUID, _ContributionView] = field(default_factory=dict)

    def fold(self, event: Any) -> None:
        key = event.originator_id
        if isinstance(event, Challenge.Drafted):
            self.challenges[key] = _ChallengeView("draft", _policy(event), set(event.managers))
        elif isinstance(event, Challenge.Edited):
            self.challenges[key].policy = _policy(event)
        elif isinstance(event, Challenge.ManagerAdded):
            self.challenges[key].managers.add(event.manager)
        elif type(event) in CHALLENGE_STAGE_AFTER:
            self.challenges[key].stage = CHALLENGE_STAGE_AFTER[type(event)]
        elif isinstance(event, Challenge.RewardGranted) and prize_rank(event.reason):
            self.challenges[key].prizes_awarded.add(prize_rank(event.reason) or 0)
            self.challenges[key].prize_winners.add(event.subject_id)
        elif isinstance(event, Idea.Submitted):
            assert event.challenge_id is not None
            self.ideas[key] = _IdeaView(event.challenge_id, "submitted", [event.author])
        elif isinstance(event, Idea.TeamMemberJoined):
            self.ideas[key].team.append(event.member)
        elif type(event) in IDEA_STATUS_AFTER:
            self.ideas[key].status = IDEA_STATUS_AFTER[type(event)]
            if isinstance(event, Idea.Accepted):
                self.ideas[key].was_accepted = True
        elif isinstance(event, Idea.MergedInto):
            idea = self.ideas[key]
            idea.status_before_merge, idea.status = idea.status, "merged"
        elif isinstance(event, Idea.MergeUndone):
            idea = self.ideas[key]
            idea.status = idea.status_before_merge or "submitted"
        elif isinstance(event, Contribution.Added):
            assert event.challenge_id is not None
            self.contributions[key] = _ContributionView(event.challenge_id, event.author)
        elif isinstance(event, Contribution.MarkedHelpful):
            self.contributions[key].helpful = True
        elif isinstance(event, Contribution.Hidden):
            self.contributions[key].hidden = True


def _beneficiaries_if_eligible(world: _World, grant: Challenge.RewardGranted) -> set[str]:
    """Who may receive ``grant``; AssertionError when its subject does not qualify."""
    reason, subject_id = grant.reason, grant.subject_id
    if grant.subject_kind == "contribution":
        contribution = world.contributions.get(subject_id)
        assert contribution is not None, f"{grant!r} rewards an unknown contribution"
        assert contribution.challenge_id == grant.originator_id, f"{grant!r}: other challenge"
        assert reason == "helpful-contribution", f"{grant!r}: wrong reason for a contribution"
        assert contribution.helpful and not contribution.hidden, f"{grant!r}: not helpful"
        return {contribution.author}
    idea = world.ideas.get(subject_id)
    assert grant.subject_kind == "idea" and idea is not None, f"{grant!r}: unknown subject"
    assert idea.challenge_id == grant.originator_id, f"{grant!r}: idea of another challenge"
    if reason == "idea-implemented":
        assert idea.status == "implemented", f"{grant!r}: idea is {idea.status}"
    else:
        assert reason == "idea-accepted" or prize_rank(reason), f"{grant!r}: reason"
        assert idea.was_accepted, f"{grant!r}: idea was never accepted"
        assert idea.status not in ("merged", "withdrawn"), f"{grant!r}: idea is {idea.status}"
    return set(idea.team)


def check_eligibility(events: list[Any]) -> None:
    """3. Only what the policy names, never to oneself, never in draft or archived."""
    world = _World()
    for event in events:
        if isinstance(event, Challenge.RewardGranted):
            challenge = world.challenges[event.originator_id]
            assert challenge.stage in REWARDING_STAGES, f"{event!r} in a {challenge.stage}"
            amount = challenge.policy.points_for(event.reason)
            assert amount > 0, f"{event!r}: the policy does not name {event.reason!r}"
            assert event.amount == amount, f"{event!r}: the policy says {amount}"
            assert event.actor in challenge.managers, f"{event!r}: granted by a non-manager"
            assert event.actor not in event.shares, f"{event!r}: self-reward"
            rank = prize_rank(event.reason)
            if rank is not None:
                assert challenge.stage in PRIZE_STAGES, f"{event!r}: prize while open"
                assert rank not in challenge.prizes_awarded, f"{event!r}: prize {rank} again"
                won = event.subject_id in challenge.prize_winners
                assert not won, f"{event!r}: a second prize for one idea"
            team = _beneficiaries_if_eligible(world, event)
            # Fewer points than members: the first members by handle get one point each.
            expected = set(sorted(team)[: event.amount])
            assert set(event.shares) == expected, f"{event!r}: beneficiaries != {expected}"
        world.fold(event)


def check_once_only(events: list[Any]) -> None:
    """4. The same (reason, subject, beneficiary) is rewarded at most once."""
    seen: set[tuple[str, UUID, str]] = set()
    for event in events:
        if isinstance(event, Challenge.RewardGranted):
            for beneficiary in event.shares:
                key = (event.reason, event.subject_id, beneficiary)
                assert key not in seen, f"{key} rewarded twice, again by {event!r}"
                seen.add(key)


def check_exact_splits(events: list[Any]) -> None:
    """5. Whole shares summing to the award, equal within one point, ties by name; nobody
    is listed with 0 points."""
    for event in events:
        if isinstance(event, Challenge.RewardGranted):
            shares = event.shares
            assert shares, f"{event!r} pays nobody"
            assert sum(shares.values()) == event.amount, f"{event!r}: shares != amount"
            assert all(isinstance(p, int) and p > 0 for p in shares.values()), repr(event)
            # Every team member weighs the same, so largest remainder gives the
            # floor to all and one more point to the first names in order.
            base, extra = divmod(event.amount, len(shares))
            expected = {n: base + (i < extra) for i, n in enumerate(sorted(shares))}
            assert shares == expected, f"{event!r}: expected the split {expected}"


def check_reward_mirrors(events: list[Any]) -> None:
    """Each share above zero is mirrored by exactly one RewardReceived in that wallet."""
    handles: dict[UUID, str] = {}
    granted: Counter[tuple[str, UUID, str, UUID, int]] = Counter()
    received: Counter[tuple[str, UUID, str, UUID, int]] = Counter()
    for event in events:
        if isinstance(event, Person.Registered):
            handles[event.originator_id] = event.handle
        elif isinstance(event, Challenge.RewardGranted):
            for name, points in event.shares.items():
                if points:
                    key = (name, event.originator_id, event.reason, event.subject_id, points)
                    granted[key] += 1
        elif isinstance(event, Person.RewardReceived):
            handle = handles[event.originator_id]
            key = (
                handle,
                event.paying_challenge_id,
                event.reason,
                event.subject_id,
                event.points,
            )
            received[key] += 1
    assert granted == received, f"grants {granted - received} / wallets {received - granted}"


def check_envelopes(events: list[Any]) -> None:
    """Stable unique event ids; every event is keyed by the challenge it belongs to."""
    event_ids = [event.event_id for event in events]
    assert len(set(event_ids)) == len(event_ids), "an event id was used twice"
    scope: dict[UUID, UUID | None] = {}
    for event in events:
        if isinstance(event, Person.Registered):
            scope[event.originator_id] = None
            assert event.originator_id == person_id(event.handle), repr(event)
        elif isinstance(event, Challenge.Drafted):
            scope[event.originator_id] = event.originator_id
        elif isinstance(event, (Idea.Submitted, Contribution.Added)):
            scope[event.originator_id] = event.challenge_id
        elif isinstance(event, StoreItem.Listed):
            scope[event.originator_id] = None
        assert event.challenge_id == scope[event.originator_id], f"{event!r}: wrong scope"


def check_wallets(
    events: list[Any], people: Iterable[Person], challenges: Iterable[Challenge]
) -> None:
    """6. Wallets and pots as the aggregates hold them agree with the ledger."""
    ledger = balances(events)
    for person in people:
        expected = ledger.get(person_account(person.handle), 0)
        assert person.balance == expected, (
            f"{person.handle} holds {person.balance}, ledger {expected}"
        )
    for challenge in challenges:
        expected = ledger.get(pot_account(challenge.id), 0)
        assert challenge.pot == expected, (
            f"pot of {challenge.id} is {challenge.pot}, ledger {expected}"
        )


def check_reload(events: list[Any], load: Callable[[UUID], Any]) -> dict[UUID, Any]:
    """7. Each aggregate reloads to equal state, its version counting its stored events.

    Returns the reloaded aggregates by id, for further checks.
    """
    versions: dict[UUID, list[int]] = {}
    for event in events:
        versions.setdefault(event.originator_id, []).append(event.originator_version)
    reloaded = {}
    for aggregate_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"{aggregate_id}: versions {seen}"
        first, second = load(aggregate_id), load(aggregate_id)
        assert first == second, f"{aggregate_id} reloads differently: {first!r} / {second!r}"
        assert first.version == len(seen), f"{aggregate_id}: version {first.version}"
        reloaded[aggregate_id] = first
    return reloaded


@dataclass
class _ItemView:
    price: int
    stock: int | None
    active: bool = True


def check_store(events: list[Any]) -> None:
    """The reward store: stock never below zero; each redemption takes one item, active, at
    its price then, in the same transaction as the points leave the wallet; it is settled
    at most once, and a cancellation gives back exactly its points (and the item)."""
    items: dict[UUID, _ItemView] = {}
    taken: dict[UUID, tuple[UUID, str, int]] = {}  # redemption id -> item, person, price
    requested: dict[UUID, tuple[str, int, UUID | None]] = {}  # -> person, points, item
    settled: set[UUID] = set()
    returned: set[UUID] = set()
    for event in events:
        if isinstance(event, StoreItem.Listed):
            items[event.originator_id] = _ItemView(event.price, event.stock)
        elif isinstance(event, StoreItem.Repriced):
            items[event.originator_id].price = event.price
        elif isinstance(event, StoreItem.Restocked):
            items[event.originator_id].stock = event.stock
        elif isinstance(event, (StoreItem.Retired, StoreItem.Reactivated)):
            items[event.originator_id].active = isinstance(event, StoreItem.Reactivated)
        elif isinstance(event, StoreItem.Taken):
            item = items[event.originator_id]
            assert item.active, f"a retired item was taken: {event!r}"
            assert event.price == item.price, f"taken at another price: {event!r}"
            if item.stock is not None:
                item.stock -= 1
                assert item.stock >= 0, f"stock below zero: {event!r}"
            assert event.redemption_id not in taken, f"taken twice: {event!r}"
            taken[event.redemption_id] = (event.originator_id, event.person, event.price)
        elif isinstance(event, StoreItem.Returned):
            assert taken[event.redemption_id][0] == event.originator_id, repr(event)
            assert event.redemption_id not in returned, f"returned twice: {event!r}"
            returned.add(event.redemption_id)
            stock = items[event.originator_id].stock
            if stock is not None:
                items[event.originator_id].stock = stock + 1
        elif isinstance(event, Person.PointsRedeemed):
            rid = event.redemption_id or event.event_id
            requested[rid] = (event.actor, event.points, event.item_id)
        elif isinstance(event, (Person.RedemptionFulfilled, Person.RedemptionCancelled)):
            assert event.redemption_id in requested, f"settles nothing: {event!r}"
            assert event.redemption_id not in settled, f"settled twice: {event!r}"
            settled.add(event.redemption_id)
            person, points, _ = requested[event.redemption_id]
            assert event.person == person, repr(event)
            if isinstance(event, Person.RedemptionCancelled):
                assert event.points == points, f"gives back other points than taken: {event!r}"
    # One transaction saves both sides, in no particular order: paired once all are read.
    for rid, (person, points, item_id) in requested.items():
        if item_id is not None:
            assert taken.get(rid) == (item_id, person, points), (
                f"redemption {rid} did not take its item at its price"
            )
    assert set(taken) == {r for r, (_, _, item) in requested.items() if item is not None}
    cancelled_items = {
        e.redemption_id
        for e in events
        if isinstance(e, Person.RedemptionCancelled) and requested[e.redemption_id][2]
    }
    assert returned == cancelled_items, "a cancelled item was not put back (or the reverse)"


def check_all(events: list[Any], load: Callable[[UUID], Any]) -> dict[UUID, Any]:
    """Every check above; returns the reloaded aggregates by id."""
    check_conservation(events)
    check_no_overspend(events)
    check_eligibility(events)
    check_once_only(events)
    check_exact_splits(events)
    check_reward_mirrors(events)
    check_envelopes(events)
    check_store(events)
    reloaded = check_reload(events, load)
    aggregates = reloaded.values()
    check_wallets(
        events,
        [a for a in aggregates if isinstance(a, Person)],
        [a for a in aggregates if isinstance(a, Challenge)],
    )
    return reloaded
