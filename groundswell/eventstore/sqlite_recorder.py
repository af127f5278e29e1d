"""The SQLite event recorder that keeps command keys and chain rows with the events
(see :mod:`groundswell.eventstore.keyed`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import (
    Notification,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

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

SQLITE_CHAIN = (
    "CREATE TABLE IF NOT EXISTS {0} (notification_id INTEGER PRIMARY KEY,"
    " prev_id INTEGER NOT NULL, hash BLOB NOT NULL, adopted INTEGER NOT NULL DEFAULT 0)"
)


# The value of an originator id's last hex digit, as consumers.log_follower.share_of takes
# it: every text form of a UUID ends in that digit, but for a closing brace.
SHARE_OF_ID = "(instr('0123456789abcdef', lower(substr(rtrim(originator_id, '}'), -1))) - 1)"


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
        ``consumers.log_follower.share_of``), filtered here so the rest is never fetched."""
        k, shares = share
        where = ["rowid >= ?", f"{SHARE_OF_ID} % ? = ?"]
        params: list[Any] = [start, shares, k]
        if stop is not None:
            where.append("rowid <= ?")
            params.append(stop)
        if topics:
            where.append(f"topic IN ({','.join('?' * len(topics))})")
            params.extend(topics)
        statement = (
            f"SELECT rowid, * FROM {self.events_table_name} WHERE {' AND '.join(where)} "
            "ORDER BY rowid LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [*params, limit])
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=self.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]

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
        command_key: ResultToKeep | None = None,
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
