"""Properties of the auditor's replay (groundswell/audit/replay.py) over random valid
histories (tests/histories.py), on the in-memory engine and an in-memory read-model store.

(a) Live read models fed by the projector in batches, and left behind the store (events
    written after their checkpoint, as by a concurrent writer), equal a replay from the
    store up to their checkpoint: the diff is empty.
(b) One tampered live row (a value changed, a row removed, a row added) is reported
    exactly: one difference naming projection, table, key, field and both values.
(c) The read models as of a random cut equal the fold of exactly the events whose
    timestamp is at or before the cut.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.log_follower import LogFollower
from consumers.ports import Change, Checkpoint
from consumers.projector import Projector
from groundswell.audit.diff import CHANGED, ONLY_LIVE, ONLY_REPLAYED, Difference, diff
from groundswell.audit.replay import as_of, compare, live_models, parse_moment, replay
from groundswell.audit.sources import AuditError, StoreSource
from projections.catalog import PROJECTION_NAMES, all_projections
from projections.projection import fold
from projections.rows import Rows
from tests.histories import History, played_histories

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class MemoryStore:
    """A read-model store in dicts; values go through JSON, as in the real stores."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.marks: dict[str, tuple[int, int]] = {}

    def load(self, projection: str) -> tuple[Rows, int, int]:
        position, version = self.marks.get(projection, (0, 0))
        return Rows(json.loads(json.dumps(self.tables.get(projection, {})))), position, version

    def save(self, projection: str, changes: list[Change], position: int, version: int) -> None:
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
        return [Checkpoint(n, p, v, 0) for n, (p, v) in sorted(self.marks.items())]

    def close(self) -> None:
        pass


def projected(history: History, upto: dict[str, int], batch: int) -> MemoryStore:
    """The live read models: each projection fed from the log up to its own ``upto``."""
    store = MemoryStore()
    for projection in all_projections():
        projector = Projector(store, [projection])
        follower = LogFollower(history.engine, projector, batch_size=batch)
        if upto[projection.name]:
            for found in follower.read(0, stop=upto[projection.name]):
                projector.apply_batch(found)
    return store


# -- (a) replay up to the live checkpoint equals the live read models ---------------------


@PROPERTY
@given(history=played_histories(), data=st.data())
def test_a_replay_from_the_store_equals_the_live_read_models(
    history: History, data: st.DataObject
) -> None:
    last = len(history.events)
    # The live read models lag behind, each by its own amount: what was stored after a
    # checkpoint is what a concurrent writer added while the audit ran, and must not count
    # as a difference.
    upto = {
        name: data.draw(st.integers(0, last), label=f"{name} checkpoint")
        for name in PROJECTION_NAMES
    }
    store = projected(history, upto, data.draw(st.integers(1, 40), label="batch"))

    live = live_models(store)
    assert live.at == upto
    found = compare(StoreSource(history.engine, batch_size=7), live)
    assert found.differences == []
    assert found.live_rows == found.replayed_rows

    # Each replay stopped exactly at its checkpoint.
    replayed = replay(history.engine, at=live.at)
    events = [event for _, event in history.events]
    for projection in all_projections():
        expected = fold(projection, events[: upto[projection.name]]).public()
        assert replayed[projection.name].public() == expected


# -- (b) a tampered live row is reported exactly -------------------------------------------


def tampered(value: Any) -> Any:
    """A value surely different from ``value``, of a JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "!"
    if isinstance(value, list):
        return [*value, "tampered"]
    if isinstance(value, dict):
        return {**value, "tampered": True}
    return "tampered"


@PROPERTY
@given(history=played_histories(), data=st.data())
def test_a_tampered_live_row_is_reported_exactly(history: History, data: st.DataObject) -> None:
    store = projected(history, dict.fromkeys(PROJECTION_NAMES, len(history.events)), batch=25)
    live = live_models(store)
    places = sorted(
        (name, table, key)
        for name, rows in live.rows.items()
        for table, found in rows.public().items()
        for key in found
    )
    assert places, "every history registers people, so some read model has rows"
    name, table, key = data.draw(st.sampled_from(places), label="row")
    rows = live.rows[name].tables()[table]
    original = rows[key]
    how = data.draw(st.sampled_from(["change", "remove", "add"]), label="how")
    # Before tampering, live equals replayed (property (a)): the replayed side of the
    # difference is the original value.
    expected: Difference
    if how == "change" and isinstance(original, dict) and original:
        column = data.draw(st.sampled_from(sorted(original)), label="field")
        before = original[column]
        original[column] = tampered(before)
        expected = Difference(name, table, key, column, CHANGED, original[column], before)
    elif how == "change":
        rows[key] = tampered(original)
        expected = Difference(name, table, key, None, CHANGED, rows[key], original)
    elif how == "remove":
        del rows[key]
        expected = Difference(name, table, key, None, ONLY_REPLAYED, None, original)
    else:
        rows["tampered-key"] = {"points": 1}
        expected = Difference(name, table, "tampered-key", None, ONLY_LIVE, {"points": 1})

    found = compare(StoreSource(history.engine), live)
    assert found.differences == [expected]
    assert expected.describe().startswith(f"{name} · {table} · ")


# -- (c) as of a moment = the fold of exactly the events up to it -------------------------


@PROPERTY
@given(history=played_histories(), data=st.data())
def test_as_of_a_cut_equals_the_fold_of_the_events_up_to_it(
    history: History, data: st.DataObject
) -> None:
    events = [event for _, event in history.events]
    start = events[0].timestamp - timedelta(days=1)
    end = events[-1].timestamp + timedelta(days=1)
    moments = [start, end, *(e.timestamp for e in events)]
    cut = data.draw(st.sampled_from(moments), label="event") + timedelta(
        microseconds=data.draw(st.integers(0, 999), label="after it")
    )
    names = data.draw(
        st.lists(st.sampled_from(PROJECTION_NAMES), unique=True, max_size=3), label="names"
    )
    found = as_of(history.engine, cut, names or None)

    # Timestamps grow along the log here, so "up to the cut" is a prefix of the history.
    upto = [e for e in events if e.timestamp <= cut]
    assert upto == events[: len(upto)]
    assert sorted(found) == sorted(names or PROJECTION_NAMES)
    for projection in all_projections():
        if projection.name in found:
            assert found[projection.name].public() == fold(projection, upto).public()


# -- examples --------------------------------------------------------------------------------


def test_values_compare_as_a_store_gives_them_back() -> None:
    live = {"p": Rows({"t": {"a": {"xs": ["1", "2"], "n": 1}, "b": [1, 2]}})}
    replayed = {"p": Rows({"t": {"a": {"xs": ("1", "2"), "n": 1}, "b": (1, 2)}})}
    assert diff(live, replayed) == []  # a tuple comes back from JSON as a list
    replayed["p"].put("t", "a", {"xs": ["1", "2"], "n": 1.0})
    assert diff(live, replayed) == []  # numbers compare by value
    replayed["p"].put("t", "a", {"xs": ["2", "1"], "n": 1})
    assert diff(live, replayed) == [
        Difference("p", "t", "a", "xs", CHANGED, ["1", "2"], ["2", "1"])
    ]


def test_bookkeeping_tables_are_not_compared() -> None:
    assert diff({"p": Rows({"_versions": {"x": 1}})}, {"p": Rows({"_versions": {"x": 2}})}) == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-03-02", "2026-03-02T00:00:00+00:00"),
        ("2026-03-02T09:30", "2026-03-02T09:30:00+00:00"),
        ("2026-03-02T09:30:00Z", "2026-03-02T09:30:00+00:00"),
        ("2026-03-02 10:30+01:00", "2026-03-02T09:30:00+00:00"),
    ],
)
def test_moments_are_read_as_utc(text: str, iso: str) -> None:
    assert parse_moment(text).isoformat() == iso


def test_a_moment_that_is_not_one_is_refused() -> None:
    with pytest.raises(AuditError, match="not a moment"):
        parse_moment("yesterday")


def test_an_unknown_projection_is_refused() -> None:
    with pytest.raises(AuditError, match="unknown projection 'nope'"):
        replay(StoreSource(None), ["nope"])


class MovingStore(MemoryStore):
    """A store whose projector saves right after each load, ``moves`` times."""

    def __init__(self, moves: int) -> None:
        super().__init__()
        self.moves = moves

    def load(self, projection: str) -> tuple[Rows, int, int]:
        found = super().load(projection)
        if self.moves:
            self.moves -= 1
            position, version = self.marks[projection]
            self.save(projection, [("t", f"k{position}", {"n": 1})], position + 1, version)
        return found


def test_live_rows_are_read_again_until_they_match_their_checkpoint() -> None:
    store = MovingStore(moves=2)
    store.save("leaderboard", [("t", "k0", {"n": 1})], 1, 2)
    live = live_models(store, ["leaderboard"])
    # The rows read belong to the checkpoint read with them: position 3, three rows.
    assert live.at == {"leaderboard": 3}
    assert sorted(live.rows["leaderboard"].table("t")) == ["k0", "k1", "k2"]
    store = MovingStore(moves=10)
    store.save("leaderboard", [], 1, 2)
    with pytest.raises(AuditError, match="kept moving"):
        live_models(store, ["leaderboard"], attempts=3)


def test_rows_without_a_checkpoint_are_not_compared() -> None:
    store = MemoryStore()
    store.tables["balances"] = {"accounts": {"treasury": {"balance": -5}}}
    with pytest.raises(AuditError, match="no checkpoint position"):
        live_models(store, ["balances"])
