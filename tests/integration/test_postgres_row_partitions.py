"""PostgreSQL keeps each rebuilt projection's rows in a partition of its own, swapped in
whole by a rebuild; a schema made before partitions is brought over with its rows.

Through the real server (``DATABASE_URL``, or the one ``make test`` starts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from groundswell.readstore.postgres import PostgresReadModelStore, partition_of, stage_rows
from projections.rows import VERSIONS, Rows
from tests.support import database_url_or_fail, postgres_schema


def document(title: str) -> dict[str, Any]:
    return {"kind": "idea", "challenge_id": "c1", "author": "cat", "title": title, "body": ""}


@pytest.fixture
def schema() -> Iterator[tuple[str, str]]:
    url = database_url_or_fail()
    with postgres_schema(url) as name:
        yield url, name


def connect(url: str, schema: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}")


def partitions(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """Each partition of projection_rows and its bound."""
    found = conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'projection_rows'::regclass"
    ).fetchall()
    return dict(found)


def indexed(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return conn.execute("SELECT key, title FROM search_documents ORDER BY key").fetchall()


def rows_of(store: PostgresReadModelStore, projection: str) -> tuple[dict[str, Any], int, int]:
    rows, position, version = store.load(projection)
    return rows.tables(), position, version


# The rows table as every schema had it before partitions.
OLD_ROWS_TABLE = """CREATE TABLE projection_rows (
    projection TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, value JSONB NOT NULL,
    PRIMARY KEY (projection, tbl, key)
)"""


def make_unpartitioned(conn: psycopg.Connection[Any]) -> None:
    """Turn this schema's rows table back into the one plain table (with the search
    triggers on it) that every schema had before partitions, keeping every row."""
    triggers = [
        definition
        for (definition,) in conn.execute(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid = 'projection_rows'::regclass AND NOT tgisinternal"
        )
    ]
    assert len(triggers) == 2, triggers
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE kept AS SELECT * FROM projection_rows")
        conn.execute("DROP TABLE projection_rows")
        conn.execute(OLD_ROWS_TABLE)
        conn.execute("INSERT INTO projection_rows SELECT * FROM kept")
        for definition in triggers:
            conn.execute(definition)


def test_a_rebuild_swaps_in_a_partition_and_leaves_other_projections_alone(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    store = PostgresReadModelStore(url, name)
    try:
        store.save("balances", [("accounts", "cat", {"balance": 3})], 4, 1)
        store.save("search", [("documents", "idea:a", document("Zeppelin tours"))], 4, 1)
        balances = rows_of(store, "balances")

        store.replace("search", Rows({"documents": {"idea:b": document("Paper jig")}}), 9, 1)
        with connect(url, name) as conn:
            assert partitions(conn) == {
                "projection_rows_rest": "DEFAULT",
                partition_of("search"): "FOR VALUES IN ('search')",
            }
            assert indexed(conn) == [("idea:b", "Paper jig")]
        assert rows_of(store, "search") == ({"documents": {"idea:b": document("Paper jig")}}, 9, 1)

        # Rows written live land in the partition, and its triggers keep the index in step.
        store.save("search", [("documents", "idea:c", document("Tape clamps"))], 10, 1)
        store.save("search", [("documents", "idea:b", None)], 11, 1)
        with connect(url, name) as conn:
            assert indexed(conn) == [("idea:c", "Tape clamps")]

        # A second rebuild replaces the partition the first one attached.
        store.replace("search", Rows({"documents": {"idea:d": document("Glue")}}), 12, 1)
        with connect(url, name) as conn:
            assert set(partitions(conn)) == {"projection_rows_rest", partition_of("search")}
            assert indexed(conn) == [("idea:d", "Glue")]
            # Nothing is left of the swapped-out tables.
            assert conn.execute(
                "SELECT count(*) FROM pg_class WHERE relname LIKE '%%_next%%' "
                "AND relnamespace = current_schema()::regnamespace"
            ).fetchone() == (0,)
        assert rows_of(store, "balances") == balances
    finally:
        store.close()


def test_a_rebuild_that_fails_before_its_commit_leaves_the_partitions_as_they_were(
    schema: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, name = schema
    store = PostgresReadModelStore(url, name)
    try:
        store.replace("search", Rows({"documents": {"idea:a": document("Jig")}}), 3, 1)
        before = rows_of(store, "search")

        def fail(*args: Any) -> None:
            raise RuntimeError("connection lost")

        monkeypatch.setattr(store, "_checkpoint", fail)
        with pytest.raises(RuntimeError):
            store.replace("search", Rows({"documents": {"idea:b": document("Tape")}}), 5, 1)
        monkeypatch.undo()

        assert rows_of(store, "search") == before
        with connect(url, name) as conn:
            assert indexed(conn) == [("idea:a", "Jig")]
        # The next rebuild clears what the failed one left and goes through.
        store.replace("search", Rows({"documents": {"idea:c": document("Glue")}}), 6, 1)
        with connect(url, name) as conn:
            assert indexed(conn) == [("idea:c", "Glue")]
    finally:
        store.close()


def test_a_schema_from_before_partitions_is_brought_over_with_its_rows(
    schema: tuple[str, str],
) -> None:
    url, name = schema
    store = PostgresReadModelStore(url, name)
    store.save("balances", [("accounts", "cat", {"balance": 3})], 4, 1)
    store.save("search", [("documents", "idea:a", document("Zeppelin tours"))], 4, 1)
    before = {p: rows_of(store, p) for p in ("balances", "search")}
    store.close()
    with connect(url, name) as conn:
        make_unpartitioned(conn)
        assert partitions(conn) == {}

    store = PostgresReadModelStore(url, name)  # its session's set-up brings the schema over
    try:
        assert {p: rows_of(store, p) for p in ("balances", "search")} == before
        with connect(url, name) as conn:
            assert partitions(conn) == {"projection_rows_rest": "DEFAULT"}
            # The old table's triggers went with it; the partitioned table has its own, once.
            assert conn.execute(
                "SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'search_rows_written' "
                "AND c.relnamespace = current_schema()::regnamespace GROUP BY 1 ORDER BY 1"
            ).fetchall() == [("projection_rows", 1), ("projection_rows_rest", 1)]
        store.save("search", [("documents", "idea:b", document("Paper jig"))], 5, 1)
        with connect(url, name) as conn:
            assert indexed(conn) == [("idea:a", "Zeppelin tours"), ("idea:b", "Paper jig")]

        # The first rebuild moves the projection's rows out of the default partition.
        store.replace("search", Rows({"documents": {"idea:c": document("Glue")}}), 6, 1)
        with connect(url, name) as conn:
            assert conn.execute(
                "SELECT projection, count(*) FROM projection_rows_rest GROUP BY 1"
            ).fetchall() == [("balances", 1)]
            assert indexed(conn) == [("idea:c", "Glue")]
        assert rows_of(store, "balances") == before["balances"]
    finally:
        store.close()
    # Sessions opened later find the schema as it is now and change nothing.
    PostgresReadModelStore(url, name).close()
    with connect(url, name) as conn:
        assert set(partitions(conn)) == {"projection_rows_rest", partition_of("search")}


def test_batches_written_beside_rebuilds_neither_fail_nor_wait_forever(
    schema: tuple[str, str],
) -> None:
    """Another session keeps saving batches (rows, versions and search documents, as the
    server does while `projections rebuild` runs in another process) while rebuilds swap
    partitions and the search table: no deadlock (a batch that took a version row the swap
    deletes, then waited for the rows the swap locks, was one), no failed batch, and the
    other projection's rows all arrive."""
    url, name = schema
    rebuilder, writer = PostgresReadModelStore(url, name), PostgresReadModelStore(url, name)
    stop, failures, written = threading.Event(), list[Exception](), list[int]()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                writer.save(
                    "balances",
                    [("accounts", f"p{n}", {"balance": n}), (VERSIONS, f"a{n}", 1)],
                    n,
                    1,
                )
                writer.save(
                    "search",
                    [("documents", f"idea:w{n}", document(f"Live {n}")), (VERSIONS, "i", n)],
                    n,
                    1,
                )
            except Exception as failure:  # any failure is the finding
                failures.append(failure)
                return
            written.append(n)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        for n in range(4):
            rebuilt = {"documents": {f"idea:r{n}": document("Rebuilt")}, VERSIONS: {"r": n}}
            rebuilder.replace("search", Rows(rebuilt), 10_000 + n, 1)
    finally:
        stop.set()
        thread.join(timeout=60)
    try:
        assert failures == [] and not thread.is_alive()
        assert len(written) > 4  # batches went on between and during the rebuilds
        accounts = rows_of(rebuilder, "balances")[0]["accounts"]
        assert set(accounts) == {f"p{n}" for n in written}
    finally:
        rebuilder.close()
        writer.close()


def test_a_swap_waiting_for_a_long_reader_lets_other_batches_by(schema: tuple[str, str]) -> None:
    """A swap locks every projection's rows. While a session holds them (a long read), the
    swap waits a moment at a time, so batches of other projections are not queued behind
    it; once the reader is done, the swap goes through."""
    url, name = schema
    rebuilder, writer = PostgresReadModelStore(url, name), PostgresReadModelStore(url, name)
    try:
        writer.save("balances", [("accounts", "cat", {"balance": 1})], 1, 1)
        with connect(url, name) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM projection_rows WHERE projection = 'balances'")
            rebuilt = Rows({"documents": {"idea:r": document("Rebuilt")}})
            swap = threading.Thread(target=rebuilder.replace, args=("search", rebuilt, 7, 1))
            swap.start()
            time.sleep(1.0)  # the swap is trying by now
            assert swap.is_alive()
            batch = threading.Thread(
                target=writer.save, args=("balances", [("accounts", "dan", {"balance": 2})], 2, 1)
            )
            batch.start()
            batch.join(timeout=5)
            reader.execute("COMMIT")  # (so that a batch stuck behind the swap ends too)
            assert not batch.is_alive()  # it was not queued behind the waiting swap
            swap.join(timeout=30)
            assert not swap.is_alive()
        assert rows_of(writer, "search") == ({"documents": {"idea:r": document("Rebuilt")}}, 7, 1)
        assert set(rows_of(writer, "balances")[0]["accounts"]) == {"cat", "dan"}
    finally:
        rebuilder.close()
        writer.close()


def staged_tables(url: str, schema: str) -> list[str]:
    with connect(url, schema) as conn:
        return [
            name
            for (name,) in conn.execute(
                "SELECT relname FROM pg_class WHERE relname LIKE %s AND relkind IN ('r', 'p') "
                "AND relnamespace = current_schema()::regnamespace ORDER BY 1",
                ("%\\_next\\_%",),
            )
        ]


def test_the_tables_of_a_rebuild_that_was_killed_are_dropped_by_the_next(
    schema: tuple[str, str],
) -> None:
    """A rebuild killed midway (its session ends without dropping what it staged) leaves
    tables that the next rebuild drops; the tables of a rebuild still going are kept."""
    url, name = schema
    killed = PostgresReadModelStore(url, name)
    staging = killed.stage("search")
    stage_rows(staging, [("documents", "idea:k", '{"kind": "idea", "title": "Killed"}')])
    killed._prepare(staging)  # its documents table and parts too
    killed.close()  # as a killed process's session ends
    assert len(staged_tables(url, name)) == 4  # rows, documents and its 2 parts

    going = PostgresReadModelStore(url, name)
    other = going.stage("balances")  # the next rebuild, still going when the one after starts
    assert staged_tables(url, name) == [other.table]
    store = PostgresReadModelStore(url, name)
    try:
        store.replace("search", Rows({"documents": {"idea:n": document("Next")}}), 3, 1)
        assert staged_tables(url, name) == [other.table]
        going.discard(other)
        assert staged_tables(url, name) == []
        assert rows_of(store, "search")[0] == {"documents": {"idea:n": document("Next")}}
    finally:
        store.close()
        going.close()
