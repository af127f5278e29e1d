"""The hash chain over the event log: written with the events, verified from the outside.

Tampering is done the way someone with database access would: SQL on the tables. On
PostgreSQL the tables refuse UPDATE and DELETE with a trigger; the tables' owner (the
engine's role, which creates them; a superuser could too) disables it first, as
``owner_edit`` does, which is exactly what the chain is there to catch.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import PersistenceError
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.cli import app as cli_app
from groundswell.eventstore.chain import (
    CHAIN_ROW_CHANGED,
    CHAIN_ROW_MISSING,
    CONTENT_CHANGED,
    EVENT_MISSING,
    EXTRA_EVENT,
    GENESIS,
    ORDER_CHANGED,
    ChainUnavailable,
    head,
    verify,
)
from groundswell.eventstore.idempotency import CommandKey, keyed
from groundswell.eventstore.keyed import ChainConflict
from groundswell.settings import Settings
from tests.scenario import COLLEAGUE, TEAMMATE, Scenario, all_events, twin_engine
from tests.support import (
    SteppingClock,
    database_url_or_fail,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
)

CHAIN = "event_chain"
THREADS = 8
TRIGGER = "groundswell_append_only"


def write_history(engine: Engine) -> None:
    """A real history: the cast, two challenges, ideas at every stage, comments, rewards."""
    s = Scenario(engine).with_cast()
    first = s.challenge("open")
    for status in ("submitted", "accepted", "implemented", "rejected"):
        idea = s.idea(first, status, team=(TEAMMATE,) if status == "accepted" else ())
        s.helpful_comment(idea)
    second = s.challenge("open", pot=500, title="Fewer pallets lost")
    s.idea(second, "under review", author=COLLEAGUE)
    s.move(second, "review")


def positions(engine: Engine) -> list[int]:
    return [n.id for n in engine.recorder.select_notifications(start=1, limit=10**6)]


# -- direct SQL, as someone with database access ---------------------------------------------


def sqlite_path(engine: Engine) -> str:
    return engine.env["SQLITE_DBNAME"]


def is_postgres(engine: Engine) -> bool:
    return engine.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"


def events_table(engine: Engine) -> str:
    recorder: Any = engine.recorder
    if is_postgres(engine):
        return f"{recorder.datastore.schema}.{recorder.events_table_name}"
    return str(recorder.events_table_name)


@contextmanager
def owner_edit(engine: Engine) -> Iterator[Any]:
    """A connection that may change stored rows, committed on exit. On PostgreSQL: the
    tables' owner with the append-only triggers disabled for the transaction's length."""
    if not is_postgres(engine):
        with closing(sqlite3.connect(sqlite_path(engine))) as db:
            yield db
            db.commit()
        return
    import psycopg

    schema = engine.env["POSTGRES_SCHEMA"]
    tables = (events_table(engine), f"{schema}.{CHAIN}")
    with psycopg.connect(database_url_or_fail()) as db:  # one transaction, committed on exit
        for table in tables:
            db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {TRIGGER}")
        yield db
        for table in tables:
            db.execute(f"ALTER TABLE {table} ENABLE TRIGGER {TRIGGER}")


def flip_state_byte(engine: Engine, position: int, offset: int) -> None:
    """Change one byte of one stored event's state, in SQL."""
    table = events_table(engine)
    with owner_edit(engine) as db:
        if is_postgres(engine):
            db.execute(
                f"UPDATE {table} SET state = set_byte(state, %s, get_byte(state, %s) # 1)"
                " WHERE notification_id = %s",
                (offset, offset, position),
            )
            return
        (state,) = db.execute(f"SELECT state FROM {table} WHERE rowid = ?", (position,)).fetchone()
        changed = bytearray(state)
        changed[offset] ^= 1
        db.execute(f"UPDATE {table} SET state = ? WHERE rowid = ?", (bytes(changed), position))


# -- (a) a real history verifies, on SQLite and PostgreSQL ------------------------------------


def test_a_real_history_verifies_intact_and_head_names_its_end(engine: Engine) -> None:
    write_history(engine)
    stored = positions(engine)
    seen: list[tuple[int, int]] = []

    report = verify(engine, progress=lambda checked, total: seen.append((checked, total)), batch=7)

    assert report.ok, report.problem
    assert report.problem is None
    assert report.events_checked == report.events_total == len(stored)
    assert report.intact_through == stored[-1]
    assert report.head == head(engine)
    assert report.head is not None and report.head[0] == stored[-1]
    assert len(report.head[1]) == 64
    assert report.adopted is None
    assert seen[-1] == (len(stored), len(stored))
    # Every further command extends the chain; a recorded head stays on it.
    before = report.head
    engine.register_person("zed", name="Zed", department="Sales", roles=["contributor"])
    after = head(engine)
    assert after is not None and after[0] > before[0] and after[1] != before[1]
    assert verify(engine, anchor=before).ok
    assert verify(engine, anchor=after).ok


def test_the_chain_is_the_documented_sha256_over_length_prefixed_fields(engine: Engine) -> None:
    """An independent re-computation from the documented encoding, over the library's own
    reading of the log, gives exactly the stored head."""
    write_history(engine)
    prev = hashlib.sha256(b"groundswell event chain v1").digest()
    assert prev == GENESIS
    for n in engine.recorder.select_notifications(start=1, limit=10**6):
        assert isinstance(n.originator_id, uuid.UUID)
        oid = n.originator_id.hex.encode()  # 32 lowercase hex digits, ASCII
        topic = n.topic.encode()
        lengths = (len(oid), len(topic), len(n.state))
        header = struct.pack(">QqQQQ", n.id, n.originator_version, *lengths)
        prev = hashlib.sha256(prev + header + oid + topic + n.state).digest()
    assert head(engine) == (n.id, prev.hex())


def test_keyed_commands_and_racing_writers_keep_one_unbroken_chain(
    engine: Engine, clock: SteppingClock
) -> None:
    """Two engines on one store (two processes), eight threads: keyed duplicates refused at
    commit and retried, each rolled-back insert rolled back with its chain rows (leaving
    gaps in PostgreSQL's ids); the chain links exactly the events that landed."""
    s = Scenario(engine).with_cast()
    idea = s.idea(s.challenge("open"))
    twin = twin_engine(engine, clock)
    start = threading.Barrier(THREADS)

    def one(i: int) -> None:
        app = (engine, twin)[i % 2]
        start.wait()
        with keyed(CommandKey("test", f"key-{i % 4}", "the same request")):
            app.comment(COLLEAGUE, idea, f"keyed comment {i % 4}")  # two threads per key
        for n in range(3):
            app.comment(COLLEAGUE, idea, f"comment {i}-{n}")

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(one, range(THREADS)))
    finally:
        twin.close()
    stored = positions(engine)
    comments = [e for e in all_events(engine) if type(e).__name__ == "Added"]
    assert len(comments) == 4 + THREADS * 3
    report = verify(engine)
    assert report.ok, report.problem
    assert report.events_checked == len(stored)
    assert report.head == head(engine) and report.head is not None
    assert report.head[0] == stored[-1]


# -- (b) PostgreSQL refuses UPDATE, DELETE and TRUNCATE for the engine's role ------------------


@pytest.mark.postgres
def test_postgres_refuses_to_change_or_delete_stored_history() -> None:
    import psycopg

    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        engine = postgres_engine(url, schema, SteppingClock())
        try:
            write_history(engine)
            before = verify(engine)
            table = events_table(engine)
            refusals = [
                f"UPDATE {table} SET topic = topic",
                f"UPDATE {table} SET state = ''::bytea WHERE notification_id = 1",
                f"DELETE FROM {table} WHERE notification_id = 2",
                f"TRUNCATE {table} CASCADE",
                f"UPDATE {schema}.{CHAIN} SET hash = hash",
                f"DELETE FROM {schema}.{CHAIN}",
                f"TRUNCATE {schema}.{CHAIN}",
            ]
            with psycopg.connect(url, autocommit=True) as db:  # the engine's own role
                for statement in refusals:
                    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                        db.execute(statement)
            after = verify(engine)
            assert after.ok and after.head == before.head
        finally:
            engine.close()


# -- (c) one changed byte of one event, found and named ---------------------------------------


def test_one_changed_byte_in_one_stored_event_is_found_and_named(engine: Engine) -> None:
    write_history(engine)
    stored = positions(engine)
    target = stored[len(stored) // 2]
    (event,) = engine.recorder.select_notifications(start=target, limit=1)
    stored_head = head(engine)

    flip_state_byte(engine, target, offset=len(event.state) // 2)

    report = verify(engine)
    assert not report.ok
    problem = report.problem
    assert problem is not None
    assert problem.kind == CONTENT_CHANGED
    assert problem.notification_id == target
    assert problem.aggregate_id == str(event.originator_id)
    assert problem.aggregate_version == event.originator_version
    assert str(target) in problem.message and "changed" in problem.message
    assert report.intact_through == stored[stored.index(target) - 1]
    assert report.events_checked == stored.index(target)
    assert report.head == stored_head  # the stored chain itself was left alone


# -- what the chain cannot see alone, and what the engine refuses ------------------------------


def test_a_truncated_end_is_found_only_against_a_recorded_head(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path, SteppingClock())
    try:
        write_history(engine)
        recorded = head(engine)
        assert recorded is not None
        last = recorded[0]
        with owner_edit(engine) as db:
            db.execute(f"DELETE FROM {events_table(engine)} WHERE rowid = ?", (last,))
            db.execute(f"DELETE FROM {CHAIN} WHERE notification_id = ?", (last,))
        assert verify(engine).ok  # a consistent cut at the end leaves no trace in the chain
        report = verify(engine, anchor=recorded)
        assert not report.ok and report.problem is not None
        assert report.problem.kind == EVENT_MISSING
        assert report.problem.notification_id == last
    finally:
        engine.close()


def test_writes_stop_when_the_log_lost_its_end_but_the_chain_did_not(tmp_path: Path) -> None:
    """SQLite gives a deleted last row's id to the next event: the chain would fork, so the
    engine refuses to write until someone has looked."""
    engine = sqlite_engine(tmp_path, SteppingClock())
    try:
        write_history(engine)
        last = positions(engine)[-1]
        with owner_edit(engine) as db:
            db.execute(f"DELETE FROM {events_table(engine)} WHERE rowid = ?", (last,))
        with pytest.raises(ChainConflict, match="audit verify"):
            engine.register_person("zed", name="Zed", department="Sales", roles=["contributor"])
        assert isinstance(ChainConflict("x"), PersistenceError)
        report = verify(engine)
        assert report.problem is not None and report.problem.kind == EVENT_MISSING
        assert report.problem.notification_id == last
    finally:
        engine.close()


def test_the_in_memory_store_keeps_no_chain(memory: Engine) -> None:
    write_history(memory)
    assert head(memory) is None
    with pytest.raises(ChainUnavailable, match="no hash chain"):
        verify(memory)


# -- a store written before the chain existed --------------------------------------------------


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_from_before_the_chain_is_adopted_and_says_so(backend: str, tmp_path: Path) -> None:
    with store_settings(backend, tmp_path) as settings:
        library = "eventsourcing.sqlite:SQLiteApplicationRecorder"
        if backend == "postgres":
            library = "eventsourcing.postgres:PostgresApplicationRecorder"
        legacy = Settings(
            data_dir=settings.data_dir,
            database_url=settings.database_url,
            postgres_schema=settings.postgres_schema,
            extra_env={"APPLICATION_RECORDER_TOPIC": library},
        )
        old = build_engine(legacy, clock=SteppingClock())
        write_history(old)
        legacy_end = old.last_position
        old.close()

        engine = build_engine(settings, clock=SteppingClock())  # adopts at start-up
        try:
            report = verify(engine)
            assert report.ok, report.problem
            assert report.adopted == (positions(engine)[0], legacy_end)
            engine.register_person("zed", name="Zed", department="Sales", roles=["contributor"])
            later = verify(engine)
            assert later.ok and later.adopted == report.adopted
            assert later.head is not None and later.head[0] > legacy_end
            flip_state_byte(engine, legacy_end, offset=3)  # adopted events are guarded too
            changed = verify(engine).problem
            assert changed is not None and changed.notification_id == legacy_end
        finally:
            engine.close()


@contextmanager
def store_settings(backend: str, tmp_path: Path) -> Iterator[Settings]:
    if backend == "sqlite":
        yield Settings(data_dir=tmp_path)
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        yield Settings(database_url=url, postgres_schema=schema)


def test_a_store_whose_chain_was_never_written_is_reported_not_passed(tmp_path: Path) -> None:
    """The engine adopts a pre-chain store when it opens it; if something kept it from
    doing so (tables managed elsewhere), verify names the first unchained event."""
    engine = sqlite_engine(tmp_path, SteppingClock())
    try:
        write_history(engine)
        with owner_edit(engine) as db:
            db.execute(f"DELETE FROM {CHAIN}")
        report = verify(engine)
        assert not report.ok and report.problem is not None
        assert report.problem.kind == CHAIN_ROW_MISSING
        assert report.problem.notification_id == positions(engine)[0]
        assert "predates the chain" in report.problem.message
    finally:
        engine.close()


# -- the command line --------------------------------------------------------------------------


def test_audit_verify_on_the_command_line(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path, SteppingClock())
    write_history(engine)
    recorded = head(engine)
    assert recorded is not None
    target = positions(engine)[5]
    runner = CliRunner()
    env = {"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"}

    def run(*args: str) -> Any:
        command = ["--data-dir", str(tmp_path), "audit", "verify", *args]
        return runner.invoke(cli_app, command, env=env)

    intact = run()
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.stdout and recorded[1] in intact.stdout
    as_json = run("--json", "--anchor", f"{recorded[0]}:{recorded[1]}")
    assert as_json.exit_code == 0, as_json.output
    assert '"ok": true' in as_json.stdout

    flip_state_byte(engine, target, offset=2)
    engine.close()
    tampered = run()
    assert tampered.exit_code == 1, tampered.output
    assert f"content changed at position {target}" in tampered.stdout
    import json

    found = json.loads(run("--json").stdout)
    assert found["ok"] is False
    assert found["problem"]["notification_id"] == target
    assert found["problem"]["kind"] == CONTENT_CHANGED
    assert run("--anchor", "12:nothex").exit_code == 2


# -- (d) every tampering a strategy makes on a copy of a store is found, first event named -----


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, tuple[int, str]]:
    """A SQLite store with a real history: its file, its number of events, its head."""
    where = tmp_path_factory.mktemp("base")
    engine = sqlite_engine(where, SteppingClock())
    write_history(engine)
    count, recorded = len(positions(engine)), head(engine)
    engine.close()
    assert recorded is not None and positions_are_contiguous(where, count)
    return where / "groundswell.sqlite", count, recorded


def positions_are_contiguous(where: Path, count: int) -> bool:
    with closing(sqlite3.connect(where / "groundswell.sqlite")) as db:
        found = db.execute("SELECT min(rowid), max(rowid) FROM stored_events").fetchone()
    return bool(found == (1, count))


EVENT_COLUMNS = ("state", "topic", "originator_id", "originator_version")
KINDS = (
    "flip",
    "delete",
    "delete_both",
    "delete_shift",
    "insert_end",
    "insert_shift",
    "swap",
    "move_to_end",
    "chain_flip",
    "chain_delete",
    "chain_prev",
)
tamperings = st.tuples(
    st.sampled_from(KINDS),
    st.integers(-1, 10**6),  # which event (mod the count: -1 is the last)
    st.integers(-1, 10**6),  # a second event, or a byte offset
    st.integers(1, 255),  # the XOR mask of a changed byte
    st.sampled_from(EVENT_COLUMNS),
)


@settings(
    # ~5 ms an example; CHAIN_EXAMPLES=3000 for a deeper run (about 20 s).
    max_examples=int(os.environ.get("CHAIN_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tampering=tamperings)
# The ends, where the chain has no successor to consult.
@example(tampering=("chain_flip", -1, 0, 1, "state"))
@example(tampering=("chain_delete", -1, 0, 1, "state"))
@example(tampering=("delete_both", -1, 0, 1, "state"))
@example(tampering=("delete_both", 0, 0, 1, "state"))
@example(tampering=("move_to_end", -1, 0, 1, "state"))
@example(tampering=("swap", 0, -1, 1, "state"))
@example(tampering=("insert_shift", 0, 0, 1, "state"))
@example(tampering=("flip", -1, 0, 128, "originator_version"))
def test_every_tampering_is_found_and_the_first_affected_event_named(
    base_store: tuple[Path, int, tuple[int, str]],
    tmp_path_factory: pytest.TempPathFactory,
    tampering: tuple[str, int, int, int, str],
) -> None:
    source, count, recorded = base_store
    where = tmp_path_factory.mktemp("copy")
    copy = where / "groundswell.sqlite"
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(copy)) as db:
        src.backup(db)
        expected, kind, named = tamper(db, count, *tampering)
        db.commit()
    engine = sqlite_engine(where, SteppingClock())
    try:
        anchor = recorded if tampering[0] == "delete_both" and expected == count else None
        report = verify(engine, anchor=anchor)
    finally:
        engine.close()
    assert not report.ok, tampering
    problem = report.problem
    assert problem is not None
    assert (problem.notification_id, problem.kind) == (expected, kind), (tampering, problem)
    if named is not None:
        assert problem.aggregate_id == named, (tampering, problem)
    assert report.intact_through == expected - 1


def tamper(
    db: sqlite3.Connection, count: int, what: str, a: int, b: int, mask: int, column: str
) -> tuple[int, str, str | None]:
    """Apply one tampering; the first affected position, the kind verify must say, and the
    aggregate it must name (None: nothing to name there)."""
    i = a % count + 1
    j = b % count + 1
    events = "stored_events"

    def set_rowid(old: int, new: int, table: str = events) -> None:
        key = "rowid" if table == events else "notification_id"
        db.execute(f"UPDATE {table} SET {key} = ? WHERE {key} = ?", (new, old))

    def shift(start: int, by: int) -> None:
        # Through negative ids, so no two rows ever share an id on the way.
        db.execute(f"UPDATE {events} SET rowid = -(rowid + ?) WHERE rowid >= ?", (by, start))
        db.execute(f"UPDATE {events} SET rowid = -rowid WHERE rowid < 0")

    def name_at(position: int) -> str | None:
        found = db.execute(
            f"SELECT CAST(originator_id AS BLOB) FROM {events} WHERE rowid = ?", (position,)
        ).fetchone()
        return None if found is None else shown(found[0])

    # A new event: a real one's topic and state under a new aggregate id.
    template = db.execute(f"SELECT topic, state FROM {events} WHERE rowid = ?", (j,)).fetchone()

    def fake_event(position: int) -> None:
        db.execute(
            f"INSERT INTO {events} (rowid, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, 1, ?, ?)",
            (position, uuid.uuid4().hex, *template),
        )

    if what == "flip":
        if column == "originator_version":
            (version,) = db.execute(
                f"SELECT {column} FROM {events} WHERE rowid = ?", (i,)
            ).fetchone()
            raw = bytearray(version.to_bytes(8, "big", signed=True))
            raw[b % 8] ^= mask
            changed: Any = int.from_bytes(raw, "big", signed=True)
            cast = "?"
        else:
            select = f"SELECT CAST({column} AS BLOB) FROM {events} WHERE rowid = ?"
            (raw_value,) = db.execute(select, (i,)).fetchone()
            raw = bytearray(raw_value)
            raw[b % len(raw)] ^= mask
            changed = bytes(raw)
            cast = "?" if column == "state" else "CAST(? AS TEXT)"
        try:
            db.execute(f"UPDATE {events} SET {column} = {cast} WHERE rowid = ?", (changed, i))
        except sqlite3.IntegrityError:
            assume(False)  # the change made another event's (id, version): not one byte alone
        return i, CONTENT_CHANGED, name_at(i)
    if what == "delete":
        db.execute(f"DELETE FROM {events} WHERE rowid = ?", (i,))
        return i, EVENT_MISSING, None
    if what == "delete_both":
        db.execute(f"DELETE FROM {events} WHERE rowid = ?", (i,))
        db.execute(f"DELETE FROM {CHAIN} WHERE notification_id = ?", (i,))
        return i, EVENT_MISSING, None
    if what == "delete_shift":
        db.execute(f"DELETE FROM {events} WHERE rowid = ?", (i,))
        shift(i + 1, -1)
        return i, EVENT_MISSING, None
    if what == "insert_end":
        fake_event(count + 1)
        return count + 1, EXTRA_EVENT, name_at(count + 1)
    if what == "insert_shift":
        shift(i, 1)
        fake_event(i)
        return i, EXTRA_EVENT, name_at(i)
    if what == "swap":
        assume(i != j)
        i, j = min(i, j), max(i, j)
        set_rowid(i, -1)
        set_rowid(j, i)
        set_rowid(-1, j)
        return i, ORDER_CHANGED, name_at(i)
    if what == "move_to_end":
        set_rowid(i, count + 1)
        return i, ORDER_CHANGED, name_at(count + 1)
    if what == "chain_flip":
        select = f"SELECT hash FROM {CHAIN} WHERE notification_id = ?"
        (digest,) = db.execute(select, (i,)).fetchone()
        raw = bytearray(digest)
        raw[b % len(raw)] ^= mask
        db.execute(f"UPDATE {CHAIN} SET hash = ? WHERE notification_id = ?", (bytes(raw), i))
        # The last row has no successor to show that its event is still the one hashed.
        return i, CHAIN_ROW_CHANGED if i < count else CONTENT_CHANGED, name_at(i)
    if what == "chain_delete":
        db.execute(f"DELETE FROM {CHAIN} WHERE notification_id = ?", (i,))
        # At the end, a missing chain row and an event added without one look alike.
        return i, CHAIN_ROW_MISSING if i < count else EXTRA_EVENT, name_at(i)
    assert what == "chain_prev"
    db.execute(f"UPDATE {CHAIN} SET prev_id = prev_id + ? WHERE notification_id = ?", (mask, i))
    return i, CHAIN_ROW_CHANGED, name_at(i)


def shown(raw: bytes) -> str:
    """How verify names an aggregate: its UUID when the stored id still is one."""
    text = raw.decode("utf-8", "replace")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text
