"""Read models in PostgreSQL (production), in the engine's database and schema."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from consumers.ports import Change, Checkpoint
from groundswell.readstore import search_index
from groundswell.readstore.row_json import encoded_rows
from groundswell.readstore.sessions import Session
from projections.rows import VERSIONS, Rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS projection_rows (
    projection TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, value JSONB NOT NULL,
    PRIMARY KEY (projection, tbl, key)
);
CREATE TABLE IF NOT EXISTS projection_versions (
    projection TEXT NOT NULL, aggregate_id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
);
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL
);
"""


class PostgresReadModelStore:
    # Run by every session: one that a server restart ended is opened again.
    session_setup: tuple[str, ...] = (SCHEMA, search_index.POSTGRES_SCHEMA)

    def __init__(self, url: str, schema: str | None = None) -> None:
        self._session = Session(url, schema, self.session_setup)
        self._lock = threading.Lock()

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

    def replace(self, projection: str, rows: Rows, position: int, version: int) -> None:
        searched = projection == search_index.PROJECTION
        with self._lock, self._conn.transaction():
            if searched:
                search_index.postgres_before_replace(self._conn)
            self._conn.execute("DELETE FROM projection_rows WHERE projection = %s", (projection,))
            self._conn.execute(
                "DELETE FROM projection_versions WHERE projection = %s", (projection,)
            )
            cursor = self._conn.cursor()
            with cursor.copy(
                "COPY projection_rows (projection, tbl, key, value) FROM STDIN"
            ) as copy:
                # In key order: each entry of the primary key's index then goes at its
                # right-hand edge instead of into a page anywhere in it.
                for tbl, key, text in encoded_rows(rows):
                    copy.write_row((projection, tbl, key, text))
            with cursor.copy(
                "COPY projection_versions (projection, aggregate_id, version) FROM STDIN"
            ) as copy:
                for key, version in rows.table(VERSIONS).items():
                    copy.write_row((projection, key, version))
            if searched:
                search_index.postgres_after_replace(self._conn)
            self._checkpoint(projection, position, version)
        rows.take_changes()

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
        with self._conn.cursor() as cursor:
            if versions:
                cursor.executemany(
                    "INSERT INTO projection_versions (projection, aggregate_id, version) "
                    "VALUES (%s, %s, %s) ON CONFLICT (projection, aggregate_id) "
                    "DO UPDATE SET version = excluded.version",
                    versions,
                )
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

    def _checkpoint(self, projection: str, position: int, version: int) -> None:
        self._conn.execute(
            "INSERT INTO projection_checkpoints (projection, position, version) "
            "VALUES (%s, %s, %s) ON CONFLICT (projection) DO UPDATE SET "
            "position = excluded.position, version = excluded.version",
            (projection, position, version),
        )
