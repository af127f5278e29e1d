"""Read models in SQLite (the embedded default): one file per projection, beside the events.

A file per projection lets projections write at the same time (SQLite has one writer per
file) — a parallel rebuild's workers never wait for each other — while each projection's
rows and checkpoint still commit in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from consumers.ports import Change, Checkpoint
from groundswell.files import private_dir, private_file
from groundswell.readstore import search_index
from groundswell.readstore.row_json import encode, encoded_rows
from projections.rows import VERSIONS, Rows

SCHEMA = """
CREATE TABLE IF NOT EXISTS projection_rows (
    projection TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (projection, tbl, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projection_versions (
    projection TEXT NOT NULL, aggregate_id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (projection, aggregate_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection TEXT PRIMARY KEY, position INTEGER NOT NULL, version INTEGER NOT NULL
);
"""
PREFIX = "readmodel-"


class SQLiteReadModelStore:
    """Keeps ``<directory>/readmodel-<projection>.sqlite`` per projection."""

    def __init__(self, directory: Path) -> None:
        private_dir(directory)
        self._directory = directory
        self._connections: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def _db(self, projection: str) -> sqlite3.Connection:
        found = self._connections.get(projection)
        if found is None:
            path = self._directory / f"{PREFIX}{projection}.sqlite"
            found = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            found.execute("PRAGMA journal_mode=WAL")
            found.execute("PRAGMA busy_timeout=120000")
            # Read models are derived data: after a power cut WAL with synchronous=NORMAL
            # may lose the last batches, but rows and checkpoint stay consistent with each
            # other, so the projection resumes from the older checkpoint and loses nothing.
            found.execute("PRAGMA synchronous=NORMAL")
            found.executescript(SCHEMA)
            if projection == search_index.PROJECTION:
                search_index.sqlite_setup(found)
            private_file(path)
            self._connections[projection] = found
        return found

    def load(self, projection: str) -> tuple[Rows, int, int]:
        with self._lock:
            db = self._db(projection)
            found = db.execute(
                "SELECT position, version FROM projection_checkpoints WHERE projection = ?",
                (projection,),
            ).fetchone()
            tables: dict[str, dict[str, object]] = {}
            for tbl, key, value in db.execute(
                "SELECT tbl, key, value FROM projection_rows WHERE projection = ?", (projection,)
            ):
                tables.setdefault(tbl, {})[key] = json.loads(value)
            versions = db.execute(
                "SELECT aggregate_id, version FROM projection_versions WHERE projection = ?",
                (projection,),
            ).fetchall()
            if versions:
                tables[VERSIONS] = dict(versions)
        position, version = found if found else (0, 0)
        return Rows(tables), position, version

    def save(self, projection: str, changes: list[Change], position: int, version: int) -> None:
        with self._lock:
            db = self._db(projection)
            db.execute("BEGIN IMMEDIATE")
            try:
                self._write(projection, changes)
                self._checkpoint(projection, position, version)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def replace(self, projection: str, rows: Rows, position: int, version: int) -> None:
        # Plain inserts in key order (as encoded_rows gives them) into emptied tables: several
        # times faster than upserts in hash order, which lets a rebuild's writes keep up.
        values = [(projection, t, k, text) for t, k, text in encoded_rows(rows)]
        versions = sorted((projection, k, v) for k, v in rows.table(VERSIONS).items())
        with self._lock:
            db = self._db(projection)
            db.execute("BEGIN IMMEDIATE")
            try:
                searched = projection == search_index.PROJECTION
                if searched:
                    search_index.sqlite_before_replace(db)
                # The file holds this projection's rows only. Emptying whole tables (no
                # WHERE, and no trigger: the search index's are off) lets SQLite free their
                # pages at once instead of deleting row by row.
                db.execute("DELETE FROM projection_rows")
                db.execute("DELETE FROM projection_versions")
                db.executemany("INSERT INTO projection_rows VALUES (?, ?, ?, ?)", values)
                if searched:
                    search_index.sqlite_after_replace(db)
                db.executemany("INSERT INTO projection_versions VALUES (?, ?, ?)", versions)
                self._checkpoint(projection, position, version)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        rows.take_changes()

    def checkpoints(self) -> list[Checkpoint]:
        names = sorted(
            path.name[len(PREFIX) : -len(".sqlite")]
            for path in self._directory.glob(f"{PREFIX}*.sqlite")
        )
        found = []
        with self._lock:
            for name in names:
                row = (
                    self._db(name)
                    .execute(
                        "SELECT c.projection, c.position, c.version, "
                        "(SELECT count(*) FROM projection_rows r "
                        "WHERE r.projection = c.projection) "
                        "FROM projection_checkpoints c WHERE c.projection = ?",
                        (name,),
                    )
                    .fetchone()
                )
                if row:
                    found.append(Checkpoint(*row))
        return found

    def close(self) -> None:
        with self._lock:
            for connection in self._connections.values():
                connection.close()
            self._connections.clear()

    def _write(self, projection: str, changes: list[Change]) -> None:
        db = self._db(projection)
        versions = [(projection, k, v) for t, k, v in changes if t == VERSIONS]
        upserts = [
            (projection, t, k, encode(v)) for t, k, v in changes if v is not None and t != VERSIONS
        ]
        deletes = [(projection, t, k) for t, k, v in changes if v is None]
        db.executemany(
            "INSERT INTO projection_versions (projection, aggregate_id, version) VALUES (?, ?, ?) "
            "ON CONFLICT (projection, aggregate_id) DO UPDATE SET version = excluded.version",
            versions,
        )
        db.executemany(
            "INSERT INTO projection_rows (projection, tbl, key, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (projection, tbl, key) DO UPDATE SET value = excluded.value",
            upserts,
        )
        db.executemany(
            "DELETE FROM projection_rows WHERE projection = ? AND tbl = ? AND key = ?", deletes
        )

    def _checkpoint(self, projection: str, position: int, version: int) -> None:
        self._db(projection).execute(
            "INSERT INTO projection_checkpoints (projection, position, version) VALUES (?, ?, ?) "
            "ON CONFLICT (projection) DO UPDATE SET position = excluded.position, "
            "version = excluded.version",
            (projection, position, version),
        )
