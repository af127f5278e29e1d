"""The library's PostgreSQL application recorder, cheaper per command.

The library composes its statements (``psycopg.sql.Composed``) and renders them again on
every execute, and reads rows as dicts; at a few hundred commands a second that was a
fifth of the engine's CPU. Here the statements a command runs are rendered to bytes once
(psycopg then finds the parsed query in its cache and the prepared statement by name),
and events are read as tuples in binary (no hex decoding of the states). The SQL is the
library's, with the selected columns named.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import product
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, TupleRow, tuple_row
from psycopg.sql import SQL, Composable, Composed, Identifier, Literal

from groundswell.eventstore.chain import (
    CHAIN_TABLE,
    ChainRow,
)
from groundswell.eventstore.idempotency import CommandKey, KeptResult
from groundswell.eventstore.keyed import (
    CREATE,
    CREATE_REFUSALS,
    INSERT,
    INSERT_REFUSAL,
    REFUSALS,
    SELECT,
    ChainLink,
    ChainQueries,
    ChainReader,
    ResultToKeep,
    kept_result,
)

# (gt, lte, desc, limit) given: the select_events statement for that shape.
Shape = tuple[bool, bool, bool, bool]


def rendered(statement: Composable) -> bytes:
    """A statement as psycopg sends it (identifiers quoted as the library quotes them)."""
    return statement.as_bytes()


class PreparedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock_table_statements = [
            rendered(s) if isinstance(s, Composable) else s for s in self.lock_table_statements
        ]
        self.notify_statement = rendered(SQL("NOTIFY {}").format(Identifier(self.channel_name)))
        self.select_events_of_statement = rendered(
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {}.{}"
                " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
            ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        )
        self.select_events_statements = {
            shape: rendered(select_events_statement(self, *shape))
            for shape in product((False, True), repeat=4)
        }

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications_of_share(
        self,
        start: int,
        limit: int,
        stop: int | None,
        topics: Sequence[str],
        share: tuple[int, int],
    ) -> list[Notification]:
        """As ``select_notifications``, of one share of the aggregates only: those whose
        id's last hex digit is ``k`` modulo ``n`` for ``share=(k, n)`` (as
        ``consumers.log_follower.share_of``), filtered here so the rest is never sent."""
        k, shares = share
        statement = SQL(
            "SELECT * FROM {}.{} WHERE notification_id >= %s AND notification_id <= %s"
            " AND (get_byte(uuid_send(originator_id), 15) & 15) %% %s = %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        params: list[Any] = [start, stop if stop is not None else 2**63 - 1, shares, k]
        if topics:
            statement += SQL(" AND topic = ANY(%s)")
            params.append(list(topics))
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [*params, limit], prepare=True)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        curs.execute(self.notify_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        shape = (gt is not None, lte is not None, desc, limit is not None)
        params = [originator_id, *(p for p in (gt, lte, limit) if p is not None)]
        statement = self.select_events_statements[shape]
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(statement, params, prepare=True, binary=True)
            return [StoredEvent(row[0], row[1], row[2], bytes(row[3])) for row in c.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID | str]) -> list[StoredEvent]:
        """Every event of several aggregates in one round trip: by aggregate, oldest first."""
        statement = self.select_events_of_statement
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as c:
            c.execute(statement, [list(originator_ids)], prepare=True, binary=True)
            return [StoredEvent(row[0], row[1], row[2], bytes(row[3])) for row in c.fetchall()]


def select_events_statement(
    recorder: PostgresApplicationRecorder, gt: bool, lte: bool, desc: bool, limit: bool
) -> Composable:
    """The library's ``select_events`` statement for one shape, its columns named."""
    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {}.{} WHERE originator_id = %s"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    if gt:
        statement += SQL(" AND originator_version > %s")
    if lte:
        statement += SQL(" AND originator_version <= %s")
    statement += SQL(" ORDER BY originator_version") + SQL(" DESC" if desc else " ASC")
    if limit:
        statement += SQL(" LIMIT %s")
    return statement


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
        command_key: ResultToKeep | None = None,
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
