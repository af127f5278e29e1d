"""Where each relay got to in the notification log, kept in the event store's own database.

The position lives beside the events it counts (the SQLite file, or the engine's
PostgreSQL schema), so a backup or a restore of the store carries it along, and a relay
never needs a second database to know where to resume.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol

TABLE = "CREATE TABLE IF NOT EXISTS relay_positions (relay TEXT PRIMARY KEY, position BIGINT)"
SELECT = "SELECT position FROM relay_positions WHERE relay = {0}"
UPSERT = (
    "INSERT INTO relay_positions (relay, position) VALUES ({0}, {0})"
    " ON CONFLICT (relay) DO UPDATE SET position = excluded.position"
)


class RelayPositions(Protocol):
    """The last notification id a relay has seen acknowledged by the broker."""

    def load(self, relay: str) -> int:
        """The recorded position (0 when the relay never recorded one)."""
        ...

    def save(self, relay: str, position: int) -> None:
        """Record ``position``, durably, before returning."""
        ...

    def close(self) -> None: ...


class SQLiteRelayPositions:
    """Positions in the embedded event store's SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # The engine writes to the same file; wait for its transactions rather than fail.
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(TABLE)
        self._lock = threading.Lock()

    def load(self, relay: str) -> int:
        with self._lock:
            row = self._db.execute(SELECT.format("?"), (relay,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, relay: str, position: int) -> None:
        with self._lock:
            self._db.execute(UPSERT.format("?"), (relay, position))

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresRelayPositions:
    """Positions in the engine's PostgreSQL database, in the engine's schema."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        import psycopg  # only PostgreSQL deployments need the driver loaded

        options = f"-c search_path={schema}" if schema else ""
        self._conn = psycopg.connect(url, options=options, autocommit=True)
        self._conn.execute(TABLE)
        self._lock = threading.Lock()

    def load(self, relay: str) -> int:
        with self._lock:
            row = self._conn.execute(SELECT.format("%s"), (relay,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, relay: str, position: int) -> None:
        with self._lock:
            self._conn.execute(UPSERT.format("%s"), (relay, position))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
