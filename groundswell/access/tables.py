"""Where the tokens and the sessions keep their tables: the SQLite file or a PostgreSQL
schema, opened the same way for both stores, their tables made if missing, and one
statement run at a time (``mark`` is the database's placeholder)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from groundswell.ddl import create_one_at_a_time
from groundswell.files import private_dir, private_file

Rows = list[tuple[Any, ...]]


class Tables(Protocol):
    mark: str

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Rows: ...

    def close(self) -> None: ...


class SQLiteTables:
    """One connection to the file, shared by threads behind a lock."""

    mark = "?"

    def __init__(self, path: Path, *tables: str) -> None:
        private_dir(path.parent)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # The engine writes to the same file; wait for its transactions rather than fail.
        self._db.execute("PRAGMA busy_timeout=10000")
        for table in tables:
            self._db.execute(table)
        private_file(path)
        self._lock = threading.Lock()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Rows:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresTables:
    """A small pool of autocommitted connections to ``schema`` (None: the default path)."""

    mark = "%s"

    def __init__(self, url: str, schema: str | None, *tables: str) -> None:
        from psycopg_pool import ConnectionPool

        options = f"-c search_path={schema}" if schema else ""
        self._pool = ConnectionPool(
            url, min_size=1, max_size=4, kwargs={"options": options, "autocommit": True},
            open=True,
        )  # fmt: skip
        with self._pool.connection() as conn:
            create_one_at_a_time(conn, tables, schema)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> Rows:
        with self._pool.connection() as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        self._pool.close()


class OnTables:
    """A store whose statements are written once for both databases, run on ``tables``."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self.mark = tables.mark

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> Rows:
        return self._tables.run(sql, params)

    def close(self) -> None:
        self._tables.close()
