"""Read models in PostgreSQL (production), in the engine's database and schema."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from consumers.ports import Change, Checkpoint
from groundswell.ddl import NO_AUTOVACUUM
from groundswell.readstore import search_index
from groundswell.readstore.row_json import LazyRows, encoded_rows
from groundswell.readstore.sessions import Session
from projections.rows import VERSIONS, Rows

# Rows are partitioned by projection. A rebuild fills a fresh table and swaps it in as its
# projection's partition (see replace): no deleted rows and dead index entries to write
# around, and a key built once over all rows. Rows of projections never rebuilt stay in
# the default partition.
ROWS_COLUMNS = """projection TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL,
    value JSONB NOT NULL"""
SCHEMA = f"""
DO $rows$
DECLARE old_trigger name;
BEGIN
IF to_regclass('projection_rows') IS NULL THEN
    CREATE TABLE projection_rows ({ROWS_COLUMNS}, PRIMARY KEY (projection, tbl, key))
        PARTITION BY LIST (projection);
    CREATE TABLE projection_rows_rest PARTITION OF projection_rows DEFAULT;
ELSIF NOT EXISTS (SELECT FROM pg_partitioned_table
                  WHERE partrelid = to_regclass('projection_rows')) THEN
    -- A schema from before partitions: its table, rows and key become the default
    -- partition as they are. Its triggers come back on the new table, from the set-up of
    -- what made them (search_index), and so reach every partition.
    ALTER TABLE projection_rows RENAME TO projection_rows_rest;
    ALTER INDEX projection_rows_pkey RENAME TO projection_rows_rest_pkey;
    FOR old_trigger IN SELECT tgname FROM pg_trigger
        WHERE tgrelid = 'projection_rows_rest'::regclass AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON projection_rows_rest', old_trigger);
    END LOOP;
    CREATE TABLE projection_rows ({ROWS_COLUMNS}, PRIMARY KEY (projection, tbl, key))
        PARTITION BY LIST (projection);
    ALTER TABLE projection_rows ATTACH PARTITION projection_rows_rest DEFAULT;
END IF;
END $rows$;
CREATE TABLE IF NOT EXISTS projection_versions (
    projection TEXT NOT NULL, aggregate_id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
);
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL
);
"""


def partition_of(projection: str) -> str:
    """The name of ``projection``'s own partition of ``projection_rows``."""
    if re.fullmatch("[a-z0-9_]{1,24}", projection):
        return f"projection_rows_of_{projection}"
    # Any other name still makes a valid identifier, distinct and short enough to keep whole
    # with the suffixes a rebuild's table and key add (see Staging).
    return f"projection_rows_of_{hashlib.sha256(projection.encode()).hexdigest()[:24]}"


# How long a rebuild's swap waits for a lock at a time, and for how long it tries again.
SWAP_LOCK_WAIT = "200ms"
SWAP_PATIENCE = 300.0

# The first key of the advisory locks of rebuilds' staged tables (the second is the token).
STAGING_LOCKS = 0x6773_7467  # "gstg"


@dataclass(frozen=True)
class Staging:
    """A rebuild's fresh rows table, which any process may fill (:func:`stage_rows`)
    before the store swaps it in (:meth:`PostgresReadModelStore.replace`). Its name is
    the rebuild's own, so two rebuilds at once never write into each other's table."""

    url: str
    schema: str | None
    projection: str
    token: str  # this rebuild's, in the names of all its tables

    @property
    def table(self) -> str:
        return f"{partition_of(self.projection)}_next_{self.token}"

    @property
    def documents(self) -> str:
        """The rebuild's search documents table (search only)."""
        return f"search_documents_next_{self.token}"


class StagedRows(LazyRows):
    """A rebuild's rows, already written to ``staging`` by other processes (all but the
    bookkeeping ``versions``, passed here); read back from the store when first used."""

    def __init__(
        self, staging: Staging, versions: dict[str, int], load: Callable[[], Rows]
    ) -> None:
        super().__init__(lambda: load().tables())
        self.staging = staging
        self.versions = versions


def stage_rows(staging: Staging, rows: Iterable[tuple[str, str, str]]) -> None:
    """Write ``(table, key, JSON text)`` rows to a rebuild's staging table, and commit; from
    any process (a rebuild's workers each write their share side by side)."""
    with _connect(staging.url, staging.schema) as conn, conn.cursor() as cursor:
        copy_rows = sql.SQL("COPY {} (projection, tbl, key, value) FROM STDIN")
        with cursor.copy(copy_rows.format(sql.Identifier(staging.table))) as copy:
            for tbl, key, text in rows:
                copy.write_row((staging.projection, tbl, key, text))


def _connect(url: str, schema: str | None, **options: Any) -> psycopg.Connection[Any]:
    path = f"-c search_path={schema}" if schema else ""
    return psycopg.connect(url, options=path, **options)


# Every table a rebuild stages is named ``…_next_<token>``; a search rebuild's documents
# table takes its parts with it when dropped.
_STAGED_TABLES = r"""SELECT relname FROM pg_class
WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'p')
AND NOT relispartition AND (relname LIKE 'projection\_rows\_of\_%\_next\_%'
                            OR relname LIKE 'search\_documents\_next\_%')"""


def _owner_lock(token: str) -> tuple[int, int]:
    """The advisory lock a rebuild's session holds while its staged tables are its own."""
    return STAGING_LOCKS, int(token, 16) - 2**31


def _key_rows(conn: Any, table: str) -> None:
    """Index a filled staging table's key (made its primary key at the swap), and analyse it."""
    conn.execute("SET maintenance_work_mem = '256MB'")  # keys sorted in memory
    conn.execute(
        sql.SQL("CREATE UNIQUE INDEX {} ON {} (projection, tbl, key)").format(
            sql.Identifier(f"{table}_pkey"), sql.Identifier(table)
        )
    )
    # A fresh table has no statistics; the projection's queries read it by key meanwhile.
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


class PostgresReadModelStore:
    # Run by every session: one that a server restart ended is opened again.
    session_setup: tuple[str, ...] = (SCHEMA, search_index.POSTGRES_SCHEMA)

    def __init__(self, url: str, schema: str | None = None) -> None:
        self._url, self._schema = url, schema
        self._session = Session(url, schema, self.session_setup)
        self._lock = threading.Lock()
        self._tokens: set[str] = set()  # of the rebuilds this session stages (see stage)

    @property
    def _conn(self) -> psycopg.Connection[Any]:
        return self._session.connection()

    def load(self, projection: str) -> tuple[Rows, int, int]:
        with self._lock, self._conn.transaction():
            found = self._conn.execute(
                "SELECT position, version FROM projection_checkpoints WHERE projection = %s",
                (projection,),
            ).fetchone()
            tables: dict[str, dict[str, object]] = {}
            for tbl, key, value in self._conn.execute(
                "SELECT tbl, key, value FROM projection_rows WHERE projection = %s", (projection,)
            ):
                tables.setdefault(tbl, {})[key] = value
            versions = self._conn.execute(
                "SELECT aggregate_id, version FROM projection_versions WHERE projection = %s",
                (projection,),
            ).fetchall()
            if versions:
                tables[VERSIONS] = dict(versions)
        position, version = found if found else (0, 0)
        return Rows(tables), position, version

    def save(self, projection: str, changes: list[Change], position: int, version: int) -> None:
        with self._lock, self._conn.transaction():
            self._write(projection, changes)
            self._checkpoint(projection, position, version)

    def stage(self, projection: str) -> Staging:
        """A fresh, empty rows table for a rebuild of ``projection`` that any process may
        fill; :meth:`replace` swaps it in, :meth:`discard` drops it if the rebuild fails.

        The rebuild's tables are its own while this session holds the advisory lock named
        after its token. Tables of a rebuild whose lock nobody holds (its process was
        killed, or could not drop them) are dropped here, by the next rebuild."""
        staging = Staging(self._url, self._schema, projection, secrets.token_hex(4))
        with self._lock:
            self._sweep()
            self._conn.execute("SELECT pg_advisory_lock(%s, %s)", _owner_lock(staging.token))
            self._tokens.add(staging.token)
            # The check lets the table be attached as the projection's partition without
            # PostgreSQL reading it all again to make sure.
            self._conn.execute(
                sql.SQL("CREATE TABLE {} ({}, CHECK (projection = {})){}").format(
                    sql.Identifier(staging.table),
                    sql.SQL(ROWS_COLUMNS),
                    sql.Literal(projection),
                    sql.SQL(NO_AUTOVACUUM),
                )
            )
        return staging

    def staged(self, staging: Staging, versions: dict[str, int]) -> StagedRows:
        """The rows of a filled ``staging`` table, to hand to :meth:`replace`. They are
        read back from the store when first used (a command-line rebuild never does)."""
        return StagedRows(staging, versions, lambda: self.load(staging.projection)[0])

    def discard(self, staging: Staging) -> None:
        """Drop what a rebuild made that was not swapped in."""
        with self._lock:
            self._drop_staged(staging.token)
            self._release(staging.token)

    def replace(self, projection: str, rows: Rows, position: int, version: int) -> None:
        """Swap in ``rows`` as ``projection``'s rows, with the checkpoint, in one transaction.

        The rows go to a staging table first, committed but read by nobody (a rebuild's
        worker processes have written :class:`StagedRows` there already), so sessions
        beside this one can index it, and the search documents made from it, side by
        side. Whatever fails before the swap commits leaves the stored rows as they were;
        what was staged is dropped."""
        staged = isinstance(rows, StagedRows)
        if isinstance(rows, StagedRows):
            if rows.staging.projection != projection:
                raise ValueError(f"rows staged for {rows.staging.projection}, not {projection}")
            staging, versions = rows.staging, rows.versions
        else:
            staging, versions = self.stage(projection), rows.table(VERSIONS)
        try:
            if not staged:
                stage_rows(staging, encoded_rows(rows))
            self._prepare(staging)
            self._swap_staged(staging, versions, position, version)
        except BaseException:
            with contextlib.suppress(Exception):  # the error that got here says more
                self.discard(staging)
            raise
        with self._lock:
            self._release(staging.token)
        rows.take_changes()

    def _sweep(self) -> None:
        """Drop the tables of rebuilds that are gone (see :meth:`stage`)."""
        names = [name for (name,) in self._conn.execute(_STAGED_TABLES)]
        for token in sorted({name.rsplit("_next_", 1)[1] for name in names} - self._tokens):
            (free,) = self._conn.execute(  # type: ignore[misc]
                "SELECT pg_try_advisory_lock(%s, %s)", _owner_lock(token)
            ).fetchone()
            if free:  # else its rebuild is still going
                self._drop_staged(token)
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", _owner_lock(token))

    def _drop_staged(self, token: str) -> None:
        for (name,) in self._conn.execute(_STAGED_TABLES).fetchall():
            if name.endswith(f"_next_{token}"):
                self._conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))

    def _release(self, token: str) -> None:
        if token in self._tokens:
            self._tokens.discard(token)
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", _owner_lock(token))

    def _prepare(self, staging: Staging) -> None:
        """Index the staged rows and, for search, make and index its documents from them:
        each part in a session of its own, side by side (every step is one process)."""
        jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = [(_key_rows, (staging.table,))]
        if staging.projection == search_index.PROJECTION:
            with self._lock:
                search_index.postgres_stage_documents(self._conn, staging.documents)
            jobs += [
                (search_index.postgres_fill_part, (staging.table, staging.documents, part))
                for part in range(search_index.PARTS)
            ]
        with ThreadPoolExecutor(len(jobs)) as sessions:
            running = [sessions.submit(self._in_own_session, job, args) for job, args in jobs]
            for job in running:
                job.result()

    def _in_own_session(self, job: Callable[..., None], args: tuple[Any, ...]) -> None:
        with _connect(self._url, self._schema, autocommit=True) as conn:
            job(conn, *args)

    def _swap_staged(
        self, staging: Staging, versions: dict[str, int], position: int, version: int
    ) -> None:
        """Swap the staged tables in. The swap locks every projection's rows, and while it
        waits for a session that holds them (a long read, a Kafka batch), every batch
        after it would wait too: so it waits a moment at a time, and lets them by between
        tries, for up to ``SWAP_PATIENCE`` seconds."""
        pause, deadline = 0.05, time.monotonic() + SWAP_PATIENCE
        while True:
            try:
                return self._swap_once(staging, versions, position, version)
            except psycopg.errors.LockNotAvailable:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the rebuilt {staging.projection} was not swapped in: other sessions "
                        f"kept the read models' rows locked for {SWAP_PATIENCE} s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _swap_once(
        self, staging: Staging, versions: dict[str, int], position: int, version: int
    ) -> None:
        projection, fresh = staging.projection, staging.table
        searched = projection == search_index.PROJECTION
        with self._lock, self._conn.transaction():
            conn = self._conn
            conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_WAIT}'")
            # Every session's rows wait from here to the commit, which follows at once (all
            # the work was done before). The rows are locked first, as every batch takes
            # them before its versions and the search index, so the swap and a batch never
            # wait for each other in turn.
            conn.execute("LOCK TABLE projection_rows IN ACCESS EXCLUSIVE MODE")
            if searched:
                search_index.postgres_before_replace(conn)
            conn.execute("DELETE FROM projection_versions WHERE projection = %s", (projection,))
            with conn.cursor().copy(
                "COPY projection_versions (projection, aggregate_id, version) FROM STDIN"
            ) as copy:
                for key, version_of in versions.items():
                    copy.write_row((projection, key, version_of))
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}").format(
                    sql.Identifier(fresh), *[sql.Identifier(f"{fresh}_pkey")] * 2
                )
            )
            if searched:
                search_index.postgres_index_documents(conn, staging.documents)
            self._swap_in(projection, fresh)
            if searched:
                search_index.postgres_swap(conn, staging.documents)
            self._checkpoint(projection, position, version)

    def _swap_in(self, projection: str, fresh: str) -> None:
        """Make the filled ``fresh`` table ``projection``'s partition, in place of its rows."""
        conn = self._conn
        own = partition_of(projection)
        attached = conn.execute(
            "SELECT EXISTS (SELECT FROM pg_inherits WHERE inhrelid = to_regclass(%s) "
            "AND inhparent = 'projection_rows'::regclass)",
            (own,),
        ).fetchone()
        if attached and attached[0]:
            conn.execute(
                sql.SQL("ALTER TABLE projection_rows DETACH PARTITION {}").format(
                    sql.Identifier(own)
                )
            )
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(own)))
        else:  # its rows are still in the default partition
            conn.execute("DELETE FROM projection_rows WHERE projection = %s", (projection,))
        conn.execute(
            sql.SQL("ALTER TABLE projection_rows ATTACH PARTITION {} FOR VALUES IN ({})").format(
                sql.Identifier(fresh), sql.Literal(projection)
            )
        )
        conn.execute(
            sql.SQL("ALTER TABLE {} RESET (autovacuum_enabled)").format(sql.Identifier(fresh))
        )
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(fresh), sql.Identifier(own)
        ))  # fmt: skip
        conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(
            sql.Identifier(f"{fresh}_pkey"), sql.Identifier(f"{own}_pkey")
        ))  # fmt: skip

    def checkpoints(self) -> list[Checkpoint]:
        with self._lock:
            found = self._conn.execute(
                "SELECT c.projection, c.position, c.version, "
                "(SELECT count(*) FROM projection_rows r WHERE r.projection = c.projection) "
                "FROM projection_checkpoints c ORDER BY c.projection"
            ).fetchall()
        return [Checkpoint(*row) for row in found]

    def close(self) -> None:
        self._session.close()

    def _write(self, projection: str, changes: list[Change]) -> None:
        versions = [(projection, k, v) for t, k, v in changes if t == VERSIONS]
        upserts = [
            (projection, t, k, Jsonb(v)) for t, k, v in changes if v is not None and t != VERSIONS
        ]
        deletes = [(projection, t, k) for t, k, v in changes if v is None]
        # The rows first, then the versions: the order a rebuild's swap takes them in.
        with self._conn.cursor() as cursor:
            if upserts:
                cursor.executemany(
                    "INSERT INTO projection_rows (projection, tbl, key, value) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, tbl, key) "
                    "DO UPDATE SET value = excluded.value",
                    upserts,
                )
            if deletes:
                cursor.executemany(
                    "DELETE FROM projection_rows WHERE projection = %s AND tbl = %s AND key = %s",
                    deletes,
                )
            if versions:
                cursor.executemany(
                    "INSERT INTO projection_versions (projection, aggregate_id, version) "
                    "VALUES (%s, %s, %s) ON CONFLICT (projection, aggregate_id) "
                    "DO UPDATE SET version = excluded.version",
                    versions,
                )

    def _checkpoint(self, projection: str, position: int, version: int) -> None:
        self._conn.execute(
            "INSERT INTO projection_checkpoints (projection, position, version) "
            "VALUES (%s, %s, %s) ON CONFLICT (projection) DO UPDATE SET "
            "position = excluded.position, version = excluded.version",
            (projection, position, version),
        )
