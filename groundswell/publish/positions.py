"""Where each relay got to in the notification log, kept in the event store's own database.

The position lives beside the events it counts (the SQLite file, or the engine's
PostgreSQL schema), so a backup or a restore of the store carries it along, and a relay
never needs a second database to know where to resume.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from groundswell.files import private_dir, private_file

TABLE = "CREATE TABLE IF NOT EXISTS relay_positions (relay TEXT PRIMARY KEY, position BIGINT)"
# Per partition, the offset after the last message the relay had acknowledged at its
# position: a reader that has consumed up to these offsets has seen every event up to it.
OFFSETS_TABLE = (
    "CREATE TABLE IF NOT EXISTS relay_offsets (relay TEXT NOT NULL, partition INTEGER NOT NULL,"
    " next_offset BIGINT NOT NULL, PRIMARY KEY (relay, partition))"
)
SELECT = "SELECT position FROM relay_positions WHERE relay = {0}"
SELECT_OFFSETS = "SELECT partition, next_offset FROM relay_offsets WHERE relay = {0}"
UPSERT = (
    "INSERT INTO relay_positions (relay, position) VALUES ({0}, {0})"
    " ON CONFLICT (relay) DO UPDATE SET position = excluded.position"
)
UPSERT_OFFSET = (
    "INSERT INTO relay_offsets (relay, partition, next_offset) VALUES ({0}, {0}, {0})"
    " ON CONFLICT (relay, partition) DO UPDATE SET next_offset = excluded.next_offset"
)


class RelayPositions(Protocol):
    """The last notification id a relay has seen acknowledged by the broker."""

    def load(self, relay: str) -> int:
        """The recorded position (0 when the relay never recorded one)."""
        ...

    def save(self, relay: str, position: int, offsets: dict[int, int] | None = None) -> None:
        """Record ``position`` (and the partitions' next offsets), durably, before returning."""
        ...

    def offsets(self, relay: str) -> dict[int, int]:
        """Per partition, the next offset after what the relay had published at its position."""
        ...

    def close(self) -> None: ...


class SQLiteRelayPositions:
    """Positions in the embedded event store's SQLite file."""

    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # The engine writes to the same file; wait for its transactions rather than fail.
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(TABLE)
        private_file(path)
        self._db.execute(OFFSETS_TABLE)
        self._lock = threading.Lock()

    def load(self, relay: str) -> int:
        with self._lock:
            row = self._db.execute(SELECT.format("?"), (relay,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, relay: str, position: int, offsets: dict[int, int] | None = None) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(UPSERT.format("?"), (relay, position))
            for partition, offset in (offsets or {}).items():
                self._db.execute(UPSERT_OFFSET.format("?"), (relay, partition, offset))

    def offsets(self, relay: str) -> dict[int, int]:
        with self._lock:
            return dict(self._db.execute(SELECT_OFFSETS.format("?"), (relay,)).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresRelayPositions:
    """Positions in the engine's PostgreSQL database, in the engine's schema."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        # Here: only PostgreSQL deployments need the driver loaded.
        from groundswell.readstore.sessions import Session

        # A session a server restart ended is opened again (the API reads positions).
        self._session = Session(url, schema, (TABLE, OFFSETS_TABLE))
        self._lock = threading.Lock()

    @property
    def _conn(self) -> Any:
        return self._session.connection()

    def load(self, relay: str) -> int:
        with self._lock:
            row = self._conn.execute(SELECT.format("%s"), (relay,)).fetchone()
        return int(row[0]) if row else 0

    def save(self, relay: str, position: int, offsets: dict[int, int] | None = None) -> None:
        with self._lock, self._conn.transaction():
            self._conn.execute(UPSERT.format("%s"), (relay, position))
            for partition, offset in (offsets or {}).items():
                self._conn.execute(UPSERT_OFFSET.format("%s"), (relay, partition, offset))

    def offsets(self, relay: str) -> dict[int, int]:
        with self._lock:
            return dict(self._conn.execute(SELECT_OFFSETS.format("%s"), (relay,)).fetchall())

    def close(self) -> None:
        with self._lock:
            self._session.close()
