"""Event recorders that keep, in the transaction of the events, the command's idempotency key
and each event's link in the tamper-evident hash chain.

The eventsourcing library's application recorders, extended by two tables:

- ``command_keys``: when ``Application.save`` is given ``command_key=...``, the key row
  is inserted beside the events, after them, in one transaction. A second command with
  the same key violates the table's primary key, so the store refuses it whole.
- ``event_chain``: one row per event, ``(notification_id, prev_id, hash, adopted)``,
  hashed as ``groundswell/eventstore/chain.py`` documents. Inserts are serial (SQLite's one
  writer; PostgreSQL's ``LOCK TABLE ... IN EXCLUSIVE MODE``), so the chain's last row,
  read after the insert, is the event right before the new ones. A store from before the
  chain is adopted when its chain is empty: at start-up, or else by the first insert.

On PostgreSQL both tables refuse UPDATE, DELETE and TRUNCATE with a trigger. That stops
the application and any role given only DML; the tables' owner (the engine's role, which
creates them) or a superuser can still disable it, and then the chain is the evidence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, TupleRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from groundswell.eventstore.chain import (
    BATCH,
    CHAIN_TABLE,
    GENESIS,
    ChainRow,
    EventRow,
    JoinedRow,
    id_bytes,
    link,
)
from groundswell.eventstore.idempotency import CommandKey, KeptResult
from groundswell.eventstore.postgres_recorder import PreparedPostgresRecorder

COLUMNS = "scope, key, fingerprint, result_id, events, position"
CREATE = (
    "CREATE TABLE IF NOT EXISTS {0} (scope TEXT NOT NULL, key TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL, result_id TEXT, events INTEGER NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (scope, key))"
)
INSERT = f"INSERT INTO {{0}} ({COLUMNS}) VALUES ({{1}})"
# Refusals kept under their key (``groundswell/eventstore/idempotency.py``), in a table of
# their own so stores from before it need no migration: a result, if one was stored,
# outranks a refusal.
REFUSALS = "command_refusals"
CREATE_REFUSALS = (
    "CREATE TABLE IF NOT EXISTS {0} (scope TEXT NOT NULL, key TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL, refusal TEXT NOT NULL, PRIMARY KEY (scope, key))"
)
INSERT_REFUSAL = (
    "INSERT INTO {0} (scope, key, fingerprint, refusal) VALUES ({1}, {1}, {1}, {1})"
    " ON CONFLICT DO NOTHING"
)
SELECT = (
    "SELECT fingerprint, result_id, events, position, CAST(NULL AS TEXT) FROM {0}"
    " WHERE scope = {2} AND key = {2} UNION ALL"
    " SELECT fingerprint, CAST(NULL AS TEXT), 0, CAST(0 AS BIGINT), refusal FROM {1}"
    " WHERE scope = {2} AND key = {2}"
)


class KeyedResult:
    """What ``save`` is given: the key, and the result to keep with it."""

    def __init__(self, key: CommandKey, result_id: str | None, events: int) -> None:
        self.key = key
        self.result_id = result_id
        self.events = events

    def row(self, position: int) -> tuple[Any, ...]:
        k = self.key
        return (k.scope, k.key, k.fingerprint, self.result_id, self.events, position)


def kept_result(rows: Sequence[Sequence[Any]]) -> KeptResult | None:
    """The kept answer among the rows ``SELECT`` found: the result, else the refusal."""
    if not rows:
        return None
    row = min(rows, key=lambda r: r[4] is not None)
    return KeptResult(str(row[0]), row[1], int(row[2]), int(row[3]), row[4])


class ChainConflict(PersistenceError):
    """The chain already has a row at or after a new event's position: rows were deleted
    from the log's end (SQLite reuses their ids). Nothing is written until it is looked at."""


ChainLink = tuple[int, bytes]  # (notification id, hash) of the chain's last row


def new_links(
    last: ChainLink | None, ids: Sequence[int], events: Sequence[StoredEvent]
) -> list[ChainRow]:
    """The chain rows (notification_id, prev_id, hash) of freshly inserted events."""
    prev_id, prev_hash = last or (0, GENESIS)
    if prev_id >= min(ids):
        raise ChainConflict(
            f"the event chain already reaches position {prev_id}, but new events were given "
            f"position {min(ids)}: events were deleted from the log; run `groundswell audit "
            "verify` before writing again."
        )
    rows = []
    for position, e in sorted(zip(ids, events, strict=True), key=lambda pair: pair[0]):
        oid, version, topic = id_bytes(e.originator_id), e.originator_version, e.topic.encode()
        prev_hash = link(prev_hash, position, oid, version, topic, e.state)
        rows.append((position, prev_id, prev_hash))
        prev_id = position
    return rows


def adopt(
    read: Callable[[int, int, int | None], list[EventRow]],
    insert: Callable[[list[ChainRow]], None],
    before: int | None,
) -> ChainLink | None:
    """Chain the events stored before the chain existed (all, or those before ``before``),
    from the genesis; returns the last link. The caller holds the writers' lock."""
    last: ChainLink | None = None
    while rows := read(last[0] if last else 0, BATCH, before):
        prev_id, prev_hash = last or (0, GENESIS)
        links = []
        for row in rows:
            prev_hash = link(prev_hash, *row)
            links.append((row[0], prev_id, prev_hash))
            prev_id = row[0]
        insert(links)
        last = (prev_id, prev_hash)
    return last


SQLITE_CHAIN = (
    "CREATE TABLE IF NOT EXISTS {0} (notification_id INTEGER PRIMARY KEY,"
    " prev_id INTEGER NOT NULL, hash BLOB NOT NULL, adopted INTEGER NOT NULL DEFAULT 0)"
)


class ChainQueries:
    """The statements the chain needs on one store, rendered once per recorder.

    Events are read with their fields as the chain hashes them: ``oid`` and ``topic`` are
    the expressions that give them as bytes. ``joined`` pairs each event with its chain
    row, if any. ``p`` is the placeholder (``?`` or ``%s``); ``insert`` adds chain rows.
    """

    def __init__(
        self, events: str, chain: str, *, position: str, oid: str, topic: str, p: str, insert: str
    ) -> None:
        fields = f"e.{position}, {oid}, e.originator_version, {topic}, e.state"
        self.select_events = f"SELECT {fields} FROM {events} e WHERE e.{position} > {p}"
        self.events_before = f"{self.select_events} AND e.{position} < {p}"
        self.joined = (
            f"SELECT {fields}, c.prev_id, c.hash, c.adopted FROM {events} e"
            f" LEFT JOIN {chain} c ON c.notification_id = e.{position}"
            f" WHERE e.{position} > {p} ORDER BY e.{position} LIMIT {p}"
        )
        self.order = f" ORDER BY e.{position} LIMIT {p}"
        self.count = f"SELECT count(*) FROM {events}"
        self.head = (
            f"SELECT notification_id, hash FROM {chain} ORDER BY notification_id DESC LIMIT 1"
        )
        self.chain = (
            f"SELECT notification_id, prev_id, hash FROM {chain}"
            f" WHERE notification_id > {p} ORDER BY notification_id LIMIT {p}"
        )
        self.first_orphan = (
            f"SELECT min(c.notification_id) FROM {chain} c WHERE NOT EXISTS"
            f" (SELECT 1 FROM {events} e WHERE e.{position} = c.notification_id)"
        )
        self.insert = insert


class ChainReader:
    """Reads the events and the chain in log order through one cursor (one transaction),
    and extends the chain; the backends differ only in their statements and cursors."""

    def __init__(self, cursor: Any, queries: ChainQueries) -> None:
        self.c = cursor
        self.q = queries

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        self.c.execute(query, params)
        return list(self.c.fetchall())

    def count(self) -> int:
        return int(self._rows(self.q.count)[0][0])

    def head(self) -> ChainLink | None:
        found = self._rows(self.q.head)
        return (int(found[0][0]), bytes(found[0][1])) if found else None

    def joined(self, after: int, limit: int) -> list[JoinedRow]:
        return self._rows(self.q.joined, (after, limit))

    def events(self, after: int, limit: int, before: int | None = None) -> list[EventRow]:
        if before is None:
            return self._rows(self.q.select_events + self.q.order, (after, limit))
        return self._rows(self.q.events_before + self.q.order, (after, before, limit))

    def chain(self, after: int, limit: int) -> list[ChainRow]:
        return self._rows(self.q.chain, (after, limit))

    def first_orphan(self) -> int | None:
        found = self._rows(self.q.first_orphan)[0][0]
        return None if found is None else int(found)

    def insert(self, links: list[ChainRow], adopted: bool = False) -> None:
        raise NotImplementedError

    def extend(
        self, ids: Sequence[int], events: Sequence[StoredEvent], last: ChainLink | None
    ) -> None:
        """Chain just-inserted events after ``last``, the chain's last row as read in the
        insert's transaction (which holds the writers' lock)."""
        if last is None:
            last = self.adopt(before=min(ids))
        self.insert(new_links(last, ids, events))

    def adopt(self, before: int | None = None) -> ChainLink | None:
        return adopt(self.events, lambda links: self.insert(links, adopted=True), before)


class SQLiteChainReader(ChainReader):
    def __init__(self, cursor: sqlite3.Cursor, queries: ChainQueries) -> None:
        cursor.row_factory = None  # plain tuples: the verifier reads millions of rows
        super().__init__(cursor, queries)

    def insert(self, links: list[ChainRow], adopted: bool = False) -> None:
        self.c.executemany(self.q.insert, [(*row, int(adopted)) for row in links])


class KeyedSQLiteRecorder(SQLiteApplicationRecorder):
    table = "command_keys"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chain_queries = ChainQueries(
            self.events_table_name,
            CHAIN_TABLE,
            position="rowid",
            # As bytes: what the chain hashes, and no UTF-8 decoding to fail on tampered text.
            oid="CAST(e.originator_id AS BLOB)",
            topic="CAST(e.topic AS BLOB)",
            p="?",
            insert=f"INSERT INTO {CHAIN_TABLE} (notification_id, prev_id, hash, adopted)"
            " VALUES (?, ?, ?, ?)",
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            CREATE.format(self.table),
            CREATE_REFUSALS.format(REFUSALS),
            SQLITE_CHAIN.format(CHAIN_TABLE),
        ]

    def create_table(self) -> None:
        super().create_table()
        with self.chain_snapshot() as chain:
            unchained = chain.head() is None and chain.events(0, 1)
        if not unchained:
            return
        # A store from before the chain: adopt it under the write lock (BEGIN IMMEDIATE, so
        # a writer that got in first is seen rather than raced).
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor().sqlite_cursor
            cursor.execute("BEGIN IMMEDIATE")
            try:
                reader = SQLiteChainReader(cursor, self.chain_queries)
                if reader.head() is None:
                    reader.adopt()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        command_key: KeyedResult | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            # A second cursor on the connection: the same transaction, its own row factory.
            # The insert took SQLite's one write lock, so the chain's last row is final.
            cursor = c.sqlite_cursor.connection.cursor()
            try:
                reader = SQLiteChainReader(cursor, self.chain_queries)
                reader.extend(ids, stored_events, reader.head())
            finally:
                cursor.close()
        if command_key is not None and ids:
            c.execute(INSERT.format(self.table, ", ".join("?" * 6)), command_key.row(max(ids)))
        return ids

    def kept(self, key: CommandKey) -> KeptResult | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT.format(self.table, REFUSALS, "?"), (key.scope, key.key) * 2)
            return kept_result([tuple(row) for row in c.fetchall()])

    def keep_refusal(self, key: CommandKey, refusal: str) -> None:
        """Keep a refusal under its key (the first one kept stays)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                INSERT_REFUSAL.format(REFUSALS, "?"), (key.scope, key.key, key.fingerprint, refusal)
            )

    @contextmanager
    def chain_snapshot(self) -> Iterator[SQLiteChainReader]:
        """One read transaction (a WAL snapshot): writers go on, the reader sees none of it."""
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor.connection.cursor()
            try:
                yield SQLiteChainReader(cursor, self.chain_queries)
            finally:
                cursor.close()

    def chain_head(self) -> ChainLink | None:
        with self.chain_snapshot() as chain:
            return chain.head()


def postgres_chain_statements(schema: str, events: str) -> list[Composed]:
    """The chain table, and the trigger that makes it and the events table append-only."""
    refuse = Identifier(schema, "groundswell_append_only")
    statements = [
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (notification_id bigint PRIMARY KEY,"
            " prev_id bigint NOT NULL, hash bytea NOT NULL, adopted boolean NOT NULL DEFAULT false)"
        ).format(Identifier(schema, CHAIN_TABLE)),
        SQL(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN"
            " RAISE EXCEPTION 'groundswell: % on %.% refused: the event history is append-only',"
            " TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege',"
            " HINT = 'History is corrected by new events, never by editing stored ones.';"
            " END $body$"
        ).format(refuse),
    ]
    for table in (events, CHAIN_TABLE):
        # Looked up first, so a start-up on an existing store takes no lock on the table;
        # duplicate_object covers two processes creating it at once.
        statements.append(
            SQL(
                "DO $do$ BEGIN IF NOT EXISTS (SELECT FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = {schema} AND c.relname = {name}"
                " AND t.tgname = 'groundswell_append_only') THEN"
                " CREATE TRIGGER groundswell_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION {refuse}();"
                " CREATE TRIGGER groundswell_append_only_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION {refuse}();"
                " END IF; EXCEPTION WHEN duplicate_object THEN NULL; END $do$"
            ).format(
                schema=Literal(schema),
                name=Literal(table),
                table=Identifier(schema, table),
                refuse=refuse,
            )
        )
    return statements


class PostgresChainReader(ChainReader):
    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        # Binary results: bytea arrives as bytes without hex decoding.
        self.c.execute(query, params, binary=True, prepare=True)
        return list(self.c.fetchall())

    def insert(self, links: list[ChainRow], adopted: bool = False) -> None:
        ids, prevs, hashes = zip(*links, strict=True) if links else ((), (), ())
        params = (adopted, list(ids), list(prevs), list(hashes))
        self.c.execute(self.q.insert, params, prepare=True)


class HeadQuery:
    """Carries the cursor of the chain-head query from the insert to the fetch of its ids."""

    cursor: Cursor[TupleRow] | None = None


class KeyedPostgresRecorder(PreparedPostgresRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        d = self.datastore
        if d.enable_db_functions:
            # That path inserts through a server-side function and skips the hooks below.
            raise ProgrammingError(
                "POSTGRES_ENABLE_DB_FUNCTIONS is not supported: the idempotency keys and the "
                "event chain are written beside the events by this recorder"
            )
        self.keys_table = f"{d.schema}.command_keys"
        self.refusals_table = f"{d.schema}.{REFUSALS}"
        self.sql_create_statements.append(SQL(CREATE.format(self.keys_table)))  # type: ignore[arg-type]
        self.sql_create_statements.append(SQL(CREATE_REFUSALS.format(self.refusals_table)))  # type: ignore[arg-type]
        self.sql_create_statements.extend(
            postgres_chain_statements(d.schema, self.events_table_name)
        )
        # The originator id as the chain hashes it: the UUID's 32 hex digits, as bytes.
        oid = (
            "e.originator_id"
            if d.originator_id_type == "text"
            else "encode(uuid_send(e.originator_id), 'hex')"
        )
        chain = Identifier(d.schema, CHAIN_TABLE).as_string()
        self.chain_queries = ChainQueries(
            Identifier(d.schema, self.events_table_name).as_string(),
            chain,
            position="notification_id",
            oid=f"convert_to({oid}, 'UTF8')",
            topic="convert_to(e.topic, 'UTF8')",
            p="%s",
            # The arrays in binary (%b): the hashes go as they are, unescaped.
            insert=f"INSERT INTO {chain} (notification_id, prev_id, hash, adopted) SELECT n, p, h,"
            " %s FROM unnest(%b::bigint[], %b::bigint[], %b::bytea[]) AS l(n, p, h)",
        )

    def create_table(self) -> None:
        # Processes starting together on a new database (API, relay and its encoder,
        # projector) would run the library's CREATE ... IF NOT EXISTS at the same moment,
        # which PostgreSQL refuses ("tuple concurrently updated", a duplicate pg_type row):
        # one process at a time creates, under a lock named after the schema.
        lock = f"groundswell-create:{self.datastore.schema}"
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
            try:
                self._create_and_chain()
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))

    def _create_and_chain(self) -> None:
        super().create_table()
        with self.chain_snapshot() as chain:
            unchained = chain.head() is None and chain.events(0, 1)
        if not unchained:
            return
        # A store from before the chain: adopt it under the writers' lock.
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.lock_table_statements:
                curs.execute(statement)
            reader = PostgresChainReader(
                curs.connection.cursor(row_factory=tuple_row), self.chain_queries
            )
            if reader.head() is None:
                reader.adopt()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return super().insert_events(stored_events, chain_head=HeadQuery(), **kwargs)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        chain_head: HeadQuery | None = None,
        **kwargs: Any,
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        if chain_head is not None:
            # Queued behind the LOCK TABLE and the insert, answered by the same sync: reading
            # the chain's last row costs no round trip of its own.
            chain_head.cursor = curs.connection.cursor(row_factory=tuple_row)
            chain_head.cursor.execute(self.chain_queries.head, binary=True, prepare=True)

    def _fetch_ids_after_insert_events(
        self,
        curs: Any,
        stored_events: Sequence[StoredEvent],
        *,
        command_key: KeyedResult | None = None,
        chain_head: HeadQuery | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids and chain_head is not None and chain_head.cursor is not None:
            with chain_head.cursor as head:
                found = head.fetchone()
                last = None if found is None else (int(found[0]), bytes(found[1]))
                PostgresChainReader(head, self.chain_queries).extend(ids, stored_events, last)
        if command_key is not None and ids:
            # A duplicate key fails the commit; the datastore turns that into IntegrityError.
            curs.execute(
                INSERT.format(self.keys_table, ", ".join(["%s"] * 6)), command_key.row(max(ids))
            )
        return ids

    # Retried as the library's own reads are: a pooled connection the server dropped (a
    # restart) fails once, and a keyed command must not fail with it.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def kept(self, key: CommandKey) -> KeptResult | None:
        query = SELECT.format(self.keys_table, self.refusals_table, "%s")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, (key.scope, key.key) * 2)
            rows = [list(row.values()) for row in curs.fetchall()]
        return kept_result(rows)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def keep_refusal(self, key: CommandKey, refusal: str) -> None:
        """Keep a refusal under its key (the first one kept stays)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                INSERT_REFUSAL.format(self.refusals_table, "%s"),
                (key.scope, key.key, key.fingerprint, refusal),
            )

    @contextmanager
    def chain_snapshot(self) -> Iterator[PostgresChainReader]:
        """One repeatable-read, read-only transaction: a consistent snapshot of both tables."""
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with conn.cursor(row_factory=tuple_row) as curs:
                yield PostgresChainReader(curs, self.chain_queries)

    def chain_head(self) -> ChainLink | None:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            return PostgresChainReader(c, self.chain_queries).head()
