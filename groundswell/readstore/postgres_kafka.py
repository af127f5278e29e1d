"""Read models fed from Kafka, in PostgreSQL: one batch is ONE transaction.

A batch's changed rows, its aggregates' versions, the next offset of each partition it
read and its dead letters commit together, so the offsets stored here (not the ones
Kafka keeps for the group) say exactly what the rows contain. Rows are read with
``SELECT ... FOR UPDATE`` inside the batch: instances of one projection that share the
work (a consumer group) serialise on the rows they both change instead of overwriting
each other. A row that was absent when read is inserted without ``ON CONFLICT``: if
another instance inserted it meanwhile, the batch fails with :class:`BatchConflict` and
is folded again against the rows as they are then.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from consumers.ports import BatchConflict, DeadLetter
from groundswell.readstore.postgres import PostgresReadModelStore
from groundswell.readstore.sessions import Session
from projections.rows import VERSIONS, Rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS projection_offsets (
    projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (projection, topic, partition)
);
CREATE TABLE IF NOT EXISTS projection_dead_letters (
    projection TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    "offset" BIGINT NOT NULL, key BYTEA, value BYTEA, error TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition, "offset")
);
CREATE TABLE IF NOT EXISTS projection_feeds (
    projection TEXT PRIMARY KEY, topic TEXT NOT NULL, version INTEGER NOT NULL
);
"""
# A batch's writes, staged per session (so set up again in every new session).
STAGING = """
CREATE TEMP TABLE IF NOT EXISTS kafka_batch_writes (
    op TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, value JSONB
) ON COMMIT DELETE ROWS
"""

# What another transaction doing the same work can make a batch fail with; the batch is
# rolled back and folded again from the stored offsets and rows.
CONFLICTS = (errors.DeadlockDetected, errors.SerializationFailure, errors.UniqueViolation)


class StaleReadModel(Exception):
    """The stored rows were written by another version of the fold."""


class KafkaReadModelStore(PostgresReadModelStore):
    """The embedded store's rows and versions tables, plus offsets and dead letters.

    Loading rows (:meth:`load`) works as for the embedded store, so readers need not
    know how a read model was fed.
    """

    session_setup = (*PostgresReadModelStore.session_setup, SCHEMA, STAGING)

    def adopt(self, projection: str, topic: str, version: int, *, rebuild: bool = False) -> None:
        """Check the stored rows were folded by this ``version``; ``rebuild`` starts over."""
        with self._lock, self._conn.transaction():
            found = self._conn.execute(
                "SELECT topic, version FROM projection_feeds WHERE projection = %s FOR UPDATE",
                (projection,),
            ).fetchone()
            if found == (topic, version) and not rebuild:
                return
            if found is not None and not rebuild:
                raise StaleReadModel(
                    f"{projection}: the stored rows were folded from {found[0]} by version "
                    f"{found[1]}, this is version {version} on {topic}; run "
                    f"`groundswell project {projection} --rebuild` with other instances stopped"
                )
            if found is None and not rebuild and self._has_rows(projection):
                # Rows no feed of ours wrote (the embedded projector's, in this schema):
                # folding the topic on top of them would count every event twice.
                raise StaleReadModel(
                    f"{projection}: this schema holds rows not fed from Kafka; run "
                    f"`groundswell project {projection} --rebuild` or use another schema"
                )
            for table in ("rows", "versions", "offsets", "dead_letters"):
                self._conn.execute(
                    f"DELETE FROM projection_{table} WHERE projection = %s", (projection,)
                )
            self._conn.execute(
                "INSERT INTO projection_feeds (projection, topic, version) VALUES (%s, %s, %s) "
                "ON CONFLICT (projection) DO UPDATE SET topic = excluded.topic, "
                "version = excluded.version",
                (projection, topic, version),
            )

    def _has_rows(self, projection: str) -> bool:
        return bool(
            self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM projection_versions WHERE projection = %s)",
                (projection,),
            ).fetchone()[0]  # type: ignore[index]
        )

    def offsets(self, projection: str, topic: str) -> dict[int, int]:
        """The next offset to read per partition, as committed with the rows."""
        with self._lock:
            return stored_offsets(self._conn, projection, topic)

    def snapshot(self, projection: str, topic: str) -> tuple[Rows, dict[int, int]]:
        """The rows and the offsets they were folded up to, read from one snapshot."""
        with self._lock, self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            offsets = dict(
                self._conn.execute(
                    "SELECT partition, next_offset FROM projection_offsets "
                    "WHERE projection = %s AND topic = %s",
                    (projection, topic),
                ).fetchall()
            )
            tables: dict[str, dict[str, Any]] = {}
            for tbl, key, value in self._conn.execute(
                "SELECT tbl, key, value FROM projection_rows WHERE projection = %s", (projection,)
            ):
                tables.setdefault(tbl, {})[key] = value
        return Rows(tables), offsets

    def dead_letters(self, projection: str) -> list[DeadLetter]:
        """The messages set aside, by partition and offset."""
        with self._lock:
            found = self._conn.execute(
                'SELECT partition, "offset", key, value, error FROM projection_dead_letters '
                'WHERE projection = %s ORDER BY partition, "offset"',
                (projection,),
            ).fetchall()
        return [
            DeadLetter(p, o, bytes(k) if k else k, bytes(v) if v else v, e)
            for p, o, k, v, e in found
        ]

    @contextmanager
    def batch(self, projection: str, topic: str) -> Iterator[Batch]:
        """One transaction for one batch; raises :class:`BatchConflict` when it must be redone."""
        with self._lock:
            try:
                with self._conn.transaction():
                    yield Batch(self._conn, projection, topic)
            except CONFLICTS as error:
                raise BatchConflict(str(error).strip()) from error


def stored_offsets(conn: psycopg.Connection[Any], projection: str, topic: str) -> dict[int, int]:
    return dict(
        conn.execute(
            "SELECT partition, next_offset FROM projection_offsets "
            "WHERE projection = %s AND topic = %s",
            (projection, topic),
        ).fetchall()
    )


def feed_session_name(projection: str, pid: int | None = None) -> str:
    """How a feed process's session shows in ``pg_stat_activity``."""
    return f"groundswell-feed {projection} pid {pid or os.getpid()}"


class StoredOffsetsReader:
    """A projection's stored offsets and nothing else, on a session of its own: for the
    process that reads Kafka for the projector (which made the tables)."""

    def __init__(self, url: str, schema: str | None, projection: str, topic: str) -> None:
        self._url, self._schema = url, schema
        self._session: Session | None = None  # opened on first use: the database may be down
        self.projection, self.topic = projection, topic
        self.last: dict[int, int] = {}  # what the last call read, for the log

    def __call__(self) -> dict[int, int]:
        if self._session is None:
            # Read inside kafka-python's rebalance callback: a database host that drops
            # packets must not hold it (and the group's heartbeats) for minutes.
            self._session = Session(
                self._url,
                self._schema,
                connect_timeout=5,
                application_name=feed_session_name(self.projection),
            )
        self.last = stored_offsets(self._session.connection(), self.projection, self.topic)
        return self.last

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


class Batch:
    """What one batch reads and writes, all inside its transaction."""

    def __init__(self, conn: psycopg.Connection[Any], projection: str, topic: str) -> None:
        self._conn = conn
        self.projection = projection
        self.topic = topic
        self._claimed: dict[int, int] = {}

    def claim(self, partitions: Sequence[int]) -> dict[int, int]:
        """Lock the partitions' stored next offsets (an instance that read the same
        messages before a rebalance waits here, then sees them applied)."""
        self._claimed = dict(
            self._conn.execute(
                "SELECT partition, next_offset FROM projection_offsets "
                "WHERE projection = %s AND topic = %s AND partition = ANY(%s) "
                "ORDER BY partition FOR UPDATE",
                (self.projection, self.topic, sorted(partitions)),
            ).fetchall()
        )
        return dict(self._claimed)

    def fetch(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The stored value of each key that exists, locked until the batch commits."""
        versions = [k for t, k in keys if t == VERSIONS]
        rows = [(t, k) for t, k in keys if t != VERSIONS]
        found: dict[tuple[str, str], Any] = {}
        if versions:
            for key, version in self._conn.execute(
                "SELECT aggregate_id, version FROM projection_versions WHERE projection = %s "
                "AND aggregate_id = ANY(%s) ORDER BY aggregate_id FOR UPDATE",
                (self.projection, versions),
            ):
                found[(VERSIONS, key)] = version
        if rows:
            for tbl, key, value in self._conn.execute(
                "SELECT tbl, key, value FROM projection_rows WHERE projection = %s "
                "AND (tbl, key) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "ORDER BY tbl, key FOR UPDATE",
                (self.projection, [t for t, _ in rows], [k for _, k in rows]),
            ):
                found[(tbl, key)] = value
        return found

    def write(
        self,
        writes: list[tuple[str, str, Any, bool | None]],
        next_offsets: dict[int, int],
        dead: Sequence[DeadLetter] = (),
    ) -> None:
        """Write changed rows and versions, dead letters, and the partitions' next offsets.

        Rows go through COPY into a staging table and then a few set-wise statements:
        a row at a time cost more than the fold itself in a catch-up.
        """
        with self._conn.cursor() as cursor:
            if writes:
                with cursor.copy(
                    "COPY kafka_batch_writes (op, tbl, key, value) FROM STDIN"
                ) as copy:
                    for table, key, value, existed in writes:
                        if value is not None:
                            # A row absent when read is inserted plainly: if another instance
                            # inserted it meanwhile, the batch conflicts and is redone.
                            op = "i" if existed is False else "u"
                            copy.write_row((op, table, key, Jsonb(value)))
                        elif existed is not False:
                            copy.write_row(("d", table, key, None))
            with self._conn.pipeline():
                if writes:
                    for sql in APPLY_WRITES:
                        cursor.execute(sql, {"projection": self.projection})
                p, topic = self.projection, self.topic
                letters = [(p, topic, d.partition, d.offset, d.key, d.value, d.error) for d in dead]
                if letters:
                    cursor.executemany(DEAD_LETTER, letters)
                claimed = [(o, p, topic, n) for n, o in next_offsets.items() if n in self._claimed]
                if claimed:
                    cursor.executemany(OFFSET_UPDATE, claimed)
                fresh = [
                    (p, topic, n, o) for n, o in next_offsets.items() if n not in self._claimed
                ]
                if fresh:
                    cursor.executemany(OFFSET_INSERT, fresh)


_ROWS = "SELECT %(projection)s, tbl, key, value FROM kafka_batch_writes WHERE tbl <> '_versions'"
_VERSIONS = (
    "SELECT %(projection)s, key, value::integer FROM kafka_batch_writes WHERE tbl = '_versions'"
)
APPLY_WRITES = (
    # Versions only grow, and every applied event writes one: a second instance applying
    # the same event (a rebalance in between) trips over the plain insert.
    f"INSERT INTO projection_versions (projection, aggregate_id, version) {_VERSIONS} AND op = 'i'",
    f"INSERT INTO projection_versions (projection, aggregate_id, version) {_VERSIONS} "
    "AND op = 'u' ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = excluded.version",
    f"INSERT INTO projection_rows (projection, tbl, key, value) {_ROWS} AND op = 'i'",
    f"INSERT INTO projection_rows (projection, tbl, key, value) {_ROWS} AND op = 'u' "
    "ON CONFLICT (projection, tbl, key) DO UPDATE SET value = excluded.value",
    "DELETE FROM projection_rows r USING kafka_batch_writes b WHERE b.op = 'd' "
    "AND r.projection = %(projection)s AND r.tbl = b.tbl AND r.key = b.key",
)
DEAD_LETTER = (
    'INSERT INTO projection_dead_letters (projection, topic, partition, "offset", key, value, '
    "error) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
OFFSET_INSERT = (
    "INSERT INTO projection_offsets (projection, topic, partition, next_offset) "
    "VALUES (%s, %s, %s, %s)"
)
OFFSET_UPDATE = (
    "UPDATE projection_offsets SET next_offset = GREATEST(next_offset, %s) "
    "WHERE projection = %s AND topic = %s AND partition = %s"
)
