"""What the event recorders keep, in the transaction of the events, beside them: the command's
idempotency key and each event's link in the tamper-evident hash chain. The recorders are
``sqlite_recorder.KeyedSQLiteRecorder`` and ``postgres_recorder.KeyedPostgresRecorder``.

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

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import (
    PersistenceError,
    StoredEvent,
)

from groundswell.eventstore.chain import (
    BATCH,
    GENESIS,
    ChainRow,
    EventRow,
    JoinedRow,
    id_bytes,
    link,
)
from groundswell.eventstore.idempotency import CommandKey, KeptResult

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


class ResultToKeep:
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
