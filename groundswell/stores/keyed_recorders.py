"""Event recorders that store a command's idempotency key in the transaction of its events.

The eventsourcing library's application recorders, extended by one table,
``command_keys``: when ``Application.save`` is given ``command_key=...``, the key row
is inserted beside the events, after them, in one transaction. A second command with
the same key violates the table's primary key, so the store refuses it whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL

from groundswell.idempotency import CommandKey, KeptResult

COLUMNS = "scope, key, fingerprint, result_id, events, position"
CREATE = (
    "CREATE TABLE IF NOT EXISTS {0} (scope TEXT NOT NULL, key TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL, result_id TEXT, events INTEGER NOT NULL,"
    " position BIGINT NOT NULL, PRIMARY KEY (scope, key))"
)
INSERT = f"INSERT INTO {{0}} ({COLUMNS}) VALUES ({{1}})"
SELECT = "SELECT fingerprint, result_id, events, position FROM {0} WHERE scope = {1} AND key = {1}"


class KeyedResult:
    """What ``save`` is given: the key, and the result to keep with it."""

    def __init__(self, key: CommandKey, result_id: str | None, events: int) -> None:
        self.key = key
        self.result_id = result_id
        self.events = events

    def row(self, position: int) -> tuple[Any, ...]:
        k = self.key
        return (k.scope, k.key, k.fingerprint, self.result_id, self.events, position)


def kept_result(row: Sequence[Any] | None) -> KeptResult | None:
    if row is None:
        return None
    return KeptResult(str(row[0]), row[1], int(row[2]), int(row[3]))


class KeyedSQLiteRecorder(SQLiteApplicationRecorder):
    table = "command_keys"

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), CREATE.format(self.table)]

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        command_key: KeyedResult | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if command_key is not None and ids:
            c.execute(INSERT.format(self.table, ", ".join("?" * 6)), command_key.row(max(ids)))
        return ids

    def kept(self, key: CommandKey) -> KeptResult | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT.format(self.table, "?"), (key.scope, key.key))
            return kept_result(c.fetchone())


class KeyedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys_table = f"{self.datastore.schema}.command_keys"
        self.sql_create_statements.append(SQL(CREATE.format(self.keys_table)))  # type: ignore[arg-type]

    def _fetch_ids_after_insert_events(
        self,
        curs: Any,
        stored_events: Sequence[StoredEvent],
        *,
        command_key: KeyedResult | None = None,
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if command_key is not None and ids:
            # A duplicate key fails the commit; the datastore turns that into IntegrityError.
            curs.execute(
                INSERT.format(self.keys_table, ", ".join(["%s"] * 6)), command_key.row(max(ids))
            )
        return ids

    def kept(self, key: CommandKey) -> KeptResult | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT.format(self.keys_table, "%s"), (key.scope, key.key))
            row = curs.fetchone()
        return kept_result(None if row is None else list(row.values()))
