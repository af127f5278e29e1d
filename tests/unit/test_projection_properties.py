"""Properties every projection keeps over random valid histories (see tests/histories.py).

(a) Fed incrementally through a Projector, in batches of any size, with redelivered
    overlaps, restarts from the stored checkpoint and failed saves that are retried, a
    projection equals its fold from zero.
(b) Any interleaving that keeps each challenge's order (and each person's), with any
    events delivered twice, folds to the same read model.
(c) The balances projection keeps the ledger's invariants and agrees with the aggregates.
(d) A projection that says it folds per aggregate (search) folds, in any number of shares
    of the aggregates, to rows that join into exactly its fold of the whole history: what
    lets a rebuild fold the shares in several processes (groundswell/parallel_rebuild.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.log_follower import share_of
from consumers.ports import Change, Checkpoint
from consumers.projector import Projector
from domain.challenge import Challenge
from domain.ledger import REDEEMED, TREASURY, balances, person_account, pot_account
from projections import balances as balances_rm
from projections.catalog import PROJECTION_NAMES, all_projections
from projections.projection import Projection, apply_all, apply_event, fold, folds_per_aggregate
from projections.rows import Rows
from tests.histories import History, Positioned, histories, played_histories

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def projection_named(name: str) -> Projection:
    return next(p for p in all_projections() if p.name == name)


class Crash(Exception):
    pass


class MemoryStore:
    """A dict-based read-model store; values go through JSON, as in the real stores.

    Set ``fail_next`` to make the next save fail as a whole, as a rolled-back
    transaction would: nothing of it is kept.
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.marks: dict[str, tuple[int, int]] = {}
        self.fail_next = False

    def load(self, projection: str) -> tuple[Rows, int, int]:
        tables = json.loads(json.dumps(self.tables.get(projection, {})))
        position, version = self.marks.get(projection, (0, 0))
        return Rows(tables), position, version

    def save(self, projection: str, changes: list[Change], position: int, version: int) -> None:
        if self.fail_next:
            self.fail_next = False
            raise Crash(f"the save of {projection} was rolled back")
        tables = self.tables.setdefault(projection, {})
        for table, key, value in changes:
            if value is None:
                tables.get(table, {}).pop(key, None)
            else:
                tables.setdefault(table, {})[key] = json.loads(json.dumps(value))
        self.marks[projection] = (position, version)

    def replace(self, projection: str, rows: Rows, position: int, version: int) -> None:
        self.tables[projection] = json.loads(json.dumps(rows.tables()))
        self.marks[projection] = (position, version)
        rows.take_changes()

    def checkpoints(self) -> list[Checkpoint]:
        return [
            Checkpoint(name, position, version, sum(map(len, self.tables.get(name, {}).values())))
            for name, (position, version) in sorted(self.marks.items())
        ]

    def close(self) -> None:
        pass


def events_of(history: Sequence[Positioned]) -> list[Any]:
    return [event for _position, event in history]


# -- (a) incremental through a Projector == fold from zero ------------------------------


Batch = tuple[int, int, bool, bool]  # start, end, restart before it, its first save fails


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Positioned], list[Batch]]:
    """A history and how it is delivered: slices of the log, with mishaps.

    Each batch may start before the previous one ended (a redelivered overlap); the
    projector may be restarted from the store before any batch; a batch's save may
    fail, after which the same batch is delivered again.
    """
    history = draw(histories())
    batches = []
    end = 0
    while end < len(history):
        overlap = draw(st.integers(0, min(end, 4)))
        size = draw(st.integers(1, 25))
        restart, fail = draw(st.booleans()), draw(st.integers(0, 3)) == 0
        batches.append((end - overlap, min(end + size, len(history)), restart, fail))
        end = min(end + size, len(history))
    return history, batches


@pytest.mark.parametrize("name", PROJECTION_NAMES)
@PROPERTY
@given(delivery=deliveries())
def test_a_projector_fed_in_batches_equals_the_fold_from_zero(
    name: str, delivery: tuple[list[Positioned], list[Batch]]
) -> None:
    history, batches = delivery
    store = MemoryStore()
    projector = Projector(store, [projection_named(name)])
    for start, end, restart, fail in batches:
        if restart:
            projector = Projector(store, [projection_named(name)])
        if fail:
            store.fail_next = True
            with pytest.raises(Crash):
                projector.apply_batch(history[start:end])
        projector.apply_batch(history[start:end])

    expected = fold(projection_named(name), events_of(history)).public()
    assert projector.rows[name].public() == expected
    assert projector.position == (history[-1][0] if history else 0)
    resumed = Projector(store, [projection_named(name)])
    assert resumed.rows[name].public() == expected
    assert resumed.position == projector.position


# -- (b) any interleaving keeping each challenge's order, with duplicates ----------------


def stream_of(event: Any) -> str:
    """The ordering key: the challenge, or the person for events outside any challenge."""
    if event.challenge_id is not None:
        return f"challenge:{event.challenge_id}"
    return f"person:{event.originator_id}"


def interleave(events: list[Any], rnd: Random, duplicate_rate: float) -> list[Any]:
    """Merge the per-stream queues in a random order, then redeliver some events later."""
    streams: dict[str, list[Any]] = {}
    for event in events:
        streams.setdefault(stream_of(event), []).append(event)
    heads = {key: 0 for key in streams}
    merged: list[Any] = []
    while heads:
        key = rnd.choice(list(heads))  # log order of first events: same draws every run
        merged.append(streams[key][heads[key]])
        heads[key] += 1
        if heads[key] == len(streams[key]):
            del heads[key]
    delivered = list(merged)
    for event in merged:
        if rnd.random() < duplicate_rate:
            first = next(i for i, e in enumerate(delivered) if e is event)
            delivered.insert(rnd.randint(first + 1, len(delivered)), copy.deepcopy(event))
    return delivered


def keeps_stream_order(original: list[Any], delivered: list[Any]) -> bool:
    firsts: dict[str, list[Any]] = {}
    seen: set[tuple[Any, int]] = set()
    for event in delivered:
        mark = (event.originator_id, event.originator_version)
        if mark not in seen:
            seen.add(mark)
            firsts.setdefault(stream_of(event), []).append(mark)
    wanted: dict[str, list[Any]] = {}
    for event in original:
        wanted.setdefault(stream_of(event), []).append(
            (event.originator_id, event.originator_version)
        )
    return firsts == wanted


@pytest.mark.parametrize("name", PROJECTION_NAMES)
@PROPERTY
@given(
    history=histories(),
    rnd=st.randoms(use_true_random=False),
    duplicate_rate=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
)
def test_any_interleaving_keeping_challenge_order_with_duplicates_gives_the_same_read_model(
    name: str, history: list[Positioned], rnd: Random, duplicate_rate: float
) -> None:
    events = events_of(history)
    delivered = interleave(events, rnd, duplicate_rate)
    assert keeps_stream_order(events, delivered)

    replayed = fold(projection_named(name), delivered)

    assert replayed.public() == fold(projection_named(name), events).public()


PER_AGGREGATE = [p.name for p in all_projections() if folds_per_aggregate(p)]


def test_search_is_folded_per_aggregate() -> None:
    # What (d) checks, and what `projections rebuild search` relies on.
    assert PER_AGGREGATE == ["search"]


@pytest.mark.parametrize("name", PER_AGGREGATE)
@PROPERTY
@given(history=histories(), shares=st.integers(min_value=1, max_value=16))
def test_folds_of_shares_of_the_aggregates_join_into_the_whole_fold(
    name: str, history: list[Positioned], shares: int
) -> None:
    events = events_of(history)
    joined: dict[str, dict[str, Any]] = {}
    for k in range(shares):
        share = Rows(track_changes=False)
        mine = [e for e in events if share_of(e.originator_id, shares) == k]
        apply_all(projection_named(name), share, mine, dedupe=False)
        for table, rows in share.tables().items():
            assert not joined.get(table, {}).keys() & rows.keys(), "shares wrote the same row"
            joined.setdefault(table, {}).update(rows)

    assert joined == fold(projection_named(name), events).public()


# -- (c) the balances projection and the ledger ------------------------------------------


@settings(PROPERTY, max_examples=60)
@given(history=played_histories())
def test_balances_keep_the_ledger_invariants_and_agree_with_the_aggregates(
    history: History,
) -> None:
    projection = projection_named("balances")
    rows = Rows()
    for _position, event in history.events:
        apply_event(projection, rows, event)
        accounts = {k: v["balance"] for k, v in rows.table("accounts").items()}
        assert sum(accounts.values()) == 0, f"points created or lost at {event!r}"
        overdrawn = {k: v for k, v in accounts.items() if k != TREASURY and v < 0}
        assert not overdrawn, f"below zero after {event!r}"

    events = events_of(history.events)
    accounts = {k: v["balance"] for k, v in rows.table("accounts").items()}
    assert accounts == balances(events)

    for handle in history.handles:
        person = history.engine.person(handle)
        assert balances_rm.balance(rows, person_account(handle)) == person.balance, handle
        entries = balances_rm.ledger(rows, person_account(handle))
        assert sum(e["points"] for e in entries) == person.balance, handle
    for challenge_id in history.challenges:
        challenge = history.engine.challenge(challenge_id)
        pot = balances_rm.pot(rows, str(challenge_id))
        assert pot["remaining"] == challenge.pot
        assert (pot["funded"], pot["granted"]) == (challenge.funded, challenge.granted)
        assert pot["funded"] - pot["granted"] - pot["returned"] == challenge.pot
        assert balances_rm.balance(rows, pot_account(challenge_id)) == challenge.pot

    funded = sum(balances_rm.pot(rows, str(c))["funded"] for c in history.challenges)
    returned = sum(balances_rm.pot(rows, str(c))["returned"] for c in history.challenges)
    assert balances_rm.treasury(rows) == returned - funded
    assert sum(e["points"] for e in balances_rm.ledger(rows, TREASURY)) == returned - funded
    assert balances_rm.redeemed(rows) == -sum(
        e["points"]
        for handle in history.handles
        for e in balances_rm.ledger(rows, person_account(handle))
        if e["kind"] == "redemption"
    )
    assert balances_rm.balance(rows, REDEEMED) >= 0

    grants = [e for e in events if isinstance(e, Challenge.RewardGranted)]
    rewarded = [(g.reason, g.subject_id, b) for g in grants for b in g.shares]
    assert len(rewarded) == len(set(rewarded)), "something was rewarded twice"
    assert all(sum(g.shares.values()) == g.amount for g in grants), "a split lost points"
