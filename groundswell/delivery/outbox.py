"""The delivery outbox: one row per message (notice, person, channel), and every attempt.

Rows are derived from the event log (see ``derive``) together with the position they were
derived up to, in one transaction, so deriving twice writes nothing twice. A deliverer claims
due rows for a lease (one claim at a time: an advisory lock on PostgreSQL, one writer at a time
on SQLite), a run of consecutive ones per recipient and channel, sends them, and records the
attempts and outcomes of the claim in one transaction, only while its claim holds: several
deliverers never send the same row at once, and a killed one's rows are claimed again when its
lease runs out (at least once; receivers drop duplicates by id).

Over 400 lines on purpose: the SQLite and PostgreSQL outboxes make the same claims and
record the same outcomes, so their statements sit side by side.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from groundswell.ddl import create_one_at_a_time

PENDING, SENT, PARKED, SKIPPED = "pending", "sent", "parked", "skipped"
SCAN = 500  # pending rows a claim reads at a time
# Held for a digest, then digested: sent as part of the digest message named in ``part_of``.
HELD, DIGESTED = "held", "digested"

COLUMNS = (
    "message_id, channel, handle, address, event_id, kind, at, notice, state, attempts,"
    " next_at, last_error, sent_at, digest, part_of"
)
SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery_outbox (
    seq {serial}, message_id TEXT NOT NULL UNIQUE, channel TEXT NOT NULL,
    handle TEXT NOT NULL, address TEXT, event_id TEXT NOT NULL, kind TEXT NOT NULL,
    at TEXT NOT NULL, notice TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at TEXT NOT NULL, last_error TEXT,
    sent_at TEXT, claimed_by TEXT, claimed_until TEXT, digest TEXT, part_of TEXT
);
CREATE INDEX IF NOT EXISTS delivery_outbox_recipient ON delivery_outbox (handle, channel, seq);
CREATE INDEX IF NOT EXISTS delivery_outbox_line ON delivery_outbox (state, seq);
DROP INDEX IF EXISTS delivery_outbox_due;
DROP INDEX IF EXISTS delivery_outbox_waiting;
DROP INDEX IF EXISTS delivery_outbox_held;
CREATE TABLE IF NOT EXISTS delivery_attempts (
    message_id TEXT NOT NULL, attempt INTEGER NOT NULL, at TEXT NOT NULL, ok INTEGER NOT NULL,
    detail TEXT NOT NULL, ms REAL NOT NULL, PRIMARY KEY (message_id, attempt)
);
CREATE TABLE IF NOT EXISTS delivery_endpoints (
    endpoint_id TEXT PRIMARY KEY, url TEXT NOT NULL, type TEXT NOT NULL, kinds TEXT NOT NULL,
    secret TEXT NOT NULL, created_at TEXT NOT NULL, disabled TEXT
);
CREATE TABLE IF NOT EXISTS delivery_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def stamp(moment: datetime) -> str:
    """Times as text that sorts as the times do (UTC, always with microseconds)."""
    if moment.tzinfo is not UTC:  # converting a time already in UTC took half of the work
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row: what to tell whom, over which channel, and how far it got."""

    message_id: str
    channel: str
    handle: str
    address: str | None
    event_id: str
    kind: str
    at: str
    notice: dict[str, Any]
    state: str
    attempts: int
    next_at: str
    last_error: str | None
    sent_at: str | None
    digest: str | None = None  # the period it is held for (a digest's own period)
    part_of: str | None = None  # the digest message it went out in
    # The row's place in line, known for a claimed message: its outcome is recorded by it
    # (the table's own key) rather than looked up by the message id's index.
    seq: int | None = field(default=None, compare=False)

    def logged(self) -> dict[str, Any]:
        """The message as the delivery log shows it (its place in line is the outbox's)."""
        shown = asdict(self)
        del shown["seq"]
        return shown

    @classmethod
    def of(cls, row: Sequence[Any]) -> Message:
        values = list(row)
        values[7] = orjson.loads(values[7])  # a sixth of json.loads's time, the same dict
        return cls(*values)


@dataclass(frozen=True, slots=True)
class Attempt:
    message_id: str
    attempt: int
    at: str
    ok: bool
    detail: str
    ms: float


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed message: its attempt, its new state, and when to try again
    (for one left pending)."""

    message: Message
    attempt: Attempt
    state: str
    next_at: str | None = None


class Outbox:
    """The statements, written once for both databases (``mark`` is the placeholder)."""

    mark = "?"
    row_lock = ""  # SQLite: the transaction holds the whole file

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def _run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        raise NotImplementedError

    # -- deriving ---------------------------------------------------------------------

    def derived_position(self) -> int:
        found = self._run(
            f"SELECT value FROM delivery_state WHERE name = {self.mark}", ("derived",)
        )
        return int(found[0][0]) if found else 0

    def add(self, messages: Sequence[Message], position: int) -> None:
        """Write new messages (those already there are left as they are) and the position
        they were derived up to, in one transaction."""
        m = self.mark
        with self.transaction() as cursor:
            for msg in messages:
                self._insert(cursor, msg)
            # Never backwards: another deliverer may have derived further meanwhile.
            cursor.execute(
                f"INSERT INTO delivery_state (name, value) VALUES ('derived', {m})"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                " WHERE CAST(delivery_state.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
                (str(position),),
            )

    def make_digests(self, now: datetime, lock: str = "") -> int:
        """Turn what was held for periods now over into one digest message per person,
        channel and period, in one transaction; how many digests were made."""
        from groundswell.delivery.digests import digest_of, period_end

        m = self.mark
        made = 0
        with self.transaction() as cursor:
            # The periods first: every round asks, and most rounds no period has ended, so
            # the held rows themselves (a week of notices for everyone on a weekly digest)
            # are read only for the periods that are over.
            cursor.execute("SELECT DISTINCT digest FROM delivery_outbox WHERE state = 'held'")
            over = [key for (key,) in cursor.fetchall() if period_end(str(key)) <= now]
            if not over:
                return 0
            cursor.execute(
                f"SELECT {COLUMNS} FROM delivery_outbox WHERE state = 'held'"
                f" AND digest IN ({', '.join([m] * len(over))}) ORDER BY seq {lock}",
                over,
            )
            groups: dict[tuple[str, str, str], list[Message]] = {}
            for row in cursor.fetchall():
                held = Message.of(row)
                groups.setdefault((held.handle, held.channel, str(held.digest)), []).append(held)
            for held_rows in groups.values():
                digest = digest_of(held_rows)
                self._insert(cursor, digest)
                for held in held_rows:
                    cursor.execute(
                        f"UPDATE delivery_outbox SET state = 'digested', part_of = {m}"
                        f" WHERE message_id = {m}",
                        (digest.message_id, held.message_id),
                    )
                made += 1
        return made

    # -- webhook endpoints ------------------------------------------------------------

    def add_endpoint(self, endpoint: Any) -> None:
        m = self.mark
        self._run(
            "INSERT INTO delivery_endpoints (endpoint_id, url, type, kinds, secret, created_at)"
            f" VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
            (
                endpoint.endpoint_id,
                endpoint.url,
                endpoint.type,
                json.dumps(endpoint.kinds),
                endpoint.secret,
                endpoint.created_at,
            ),
        )

    def endpoints(self) -> list[Any]:
        from groundswell.delivery.webhooks import Endpoint

        found = self._run(
            "SELECT endpoint_id, url, type, kinds, secret, created_at, disabled"
            " FROM delivery_endpoints ORDER BY created_at"
        )
        return [Endpoint(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6]) for r in found]

    def disable_endpoint(self, endpoint_id: str, reason: str | None) -> bool:
        """Disable an endpoint with the reason (None: enable it again)."""
        m = self.mark
        found = self._run(
            f"UPDATE delivery_endpoints SET disabled = {m} WHERE endpoint_id = {m}"
            " RETURNING endpoint_id",
            (reason, endpoint_id),
        )
        return bool(found)

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Forget an endpoint (what is still due to it is parked, untried, by the deliverer)."""
        found = self._run(
            f"DELETE FROM delivery_endpoints WHERE endpoint_id = {self.mark} RETURNING endpoint_id",
            (endpoint_id,),
        )
        return bool(found)

    def redeliver(self, message_id: str, now: datetime) -> bool:
        """Put a parked message back in line, due now (its attempts so far are kept)."""
        m = self.mark
        found = self._run(
            f"UPDATE delivery_outbox SET state = 'pending', next_at = {m}"
            f" WHERE message_id = {m} AND state = 'parked' RETURNING message_id",
            (stamp(now), message_id),
        )
        return bool(found)

    def _insert(self, cursor: Any, msg: Message) -> None:
        m = self.mark
        cursor.execute(
            f"INSERT INTO delivery_outbox (message_id, channel, handle, address,"
            f" event_id, kind, at, notice, state, attempts, next_at, last_error, digest)"
            f" VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, {m}, 0, {m}, {m}, {m})"
            " ON CONFLICT (message_id) DO NOTHING",
            (
                msg.message_id,
                msg.channel,
                msg.handle,
                msg.address,
                msg.event_id,
                msg.kind,
                msg.at,
                json.dumps(msg.notice, ensure_ascii=False),
                msg.state,
                msg.next_at,
                msg.last_error,
                msg.digest,
            ),
        )

    def secret(self) -> bytes:
        """The key unsubscribe links are signed with: made once, kept in the database."""
        m = self.mark
        with self.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO delivery_state (name, value) VALUES ('secret', {m})"
                " ON CONFLICT (name) DO NOTHING",
                (secrets.token_hex(32),),
            )
            cursor.execute("SELECT value FROM delivery_state WHERE name = 'secret'")
            return bytes.fromhex(cursor.fetchall()[0][0])

    # -- sending ----------------------------------------------------------------------

    def claim(
        self, deliverer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Message]:
        """Due messages for ``deliverer`` until ``lease_until``, oldest first: per recipient
        and channel a run of consecutive ones, starting at the first not yet done and stopping
        before one that waits for a retry or that another deliverer holds (kept in order)."""
        raise NotImplementedError

    def _claimable(self, cursor: Any, now: str, limit: int) -> list[int]:
        """The rows a claim at ``now`` takes: pending rows in order, each recipient's up to
        the first that is not due or is held by another deliverer. Read a page at a time, so
        a claim reads about as many rows as it takes (a query asking, per row, whether an
        earlier one blocks it took 80 s to claim 200 of 10,000 rows for one endpoint).
        Claims are taken one at a time, so the next one sees this one's rows as held."""
        taken: list[int] = []
        blocked: set[tuple[str, str]] = set()
        after, page = 0, min(limit, SCAN)  # usually all due: the first page is the claim
        while len(taken) < limit:
            cursor.execute(
                "SELECT seq, handle, channel, next_at, claimed_until FROM delivery_outbox"
                f" WHERE state = 'pending' AND seq > {self.mark} ORDER BY seq LIMIT {self.mark}",
                (after, page),
            )
            rows = cursor.fetchall()
            for seq, handle, channel, next_at, claimed_until in rows:
                if (handle, channel) in blocked:
                    continue
                if next_at > now or (claimed_until is not None and claimed_until >= now):
                    blocked.add((handle, channel))
                    continue
                taken.append(seq)
                if len(taken) == limit:
                    break
            if len(rows) < page:
                break
            after, page = rows[-1][0], SCAN
        return taken

    def finish(
        self, outcomes: Sequence[Outcome], deliverer: str, release: Sequence[Message] = ()
    ) -> set[str]:
        """Record the attempts and outcomes of a claim, and give back the claimed messages
        not tried (``release``), in one transaction, for the messages ``deliverer`` still
        holds; the ids of the messages recorded."""
        m = self.mark
        with self.transaction() as cursor:
            seqs = self._seqs(cursor, [o.message for o in outcomes] + list(release))
            held: set[int] = set()
            wanted = list(seqs.values())
            for start in range(0, len(wanted), SCAN):
                part = wanted[start : start + SCAN]
                cursor.execute(
                    "SELECT seq FROM delivery_outbox WHERE claimed_by = "
                    f"{m} AND seq IN ({', '.join([m] * len(part))}) {self.row_lock}",
                    (deliverer, *part),
                )
                held.update(row[0] for row in cursor.fetchall())
            # What another deliverer claimed again after this one's claim ran out is theirs.
            mine = [o for o in outcomes if seqs.get(o.message.message_id) in held]
            cursor.executemany(
                f"UPDATE delivery_outbox SET state = {m}, attempts = {m},"
                f" next_at = COALESCE({m}, next_at), last_error = {m},"
                f" sent_at = {m}, claimed_by = NULL, claimed_until = NULL"
                f" WHERE seq = {m}",
                [
                    (
                        o.state,
                        o.attempt.attempt,
                        o.next_at,
                        None if o.attempt.ok else o.attempt.detail,
                        o.attempt.at if o.attempt.ok else None,
                        seqs[o.message.message_id],
                    )
                    for o in mine
                ],
            )
            cursor.executemany(
                f"INSERT INTO delivery_attempts (message_id, attempt, at, ok, detail, ms)"
                f" VALUES ({m}, {m}, {m}, {m}, {m}, {m}) ON CONFLICT DO NOTHING",
                [
                    (a.message_id, a.attempt, a.at, int(a.ok), a.detail, a.ms)
                    for a in (o.attempt for o in mine)
                ],
            )
            cursor.executemany(
                "UPDATE delivery_outbox SET claimed_by = NULL, claimed_until = NULL"
                f" WHERE seq = {m}",
                [(seqs[r.message_id],) for r in release if seqs.get(r.message_id) in held],
            )
        return {o.message.message_id for o in mine}

    def _seqs(self, cursor: Any, messages: Sequence[Message]) -> dict[str, int]:
        """Each message's row, as claimed (or looked up by its id when not known)."""
        found = {m.message_id: m.seq for m in messages if m.seq is not None}
        unknown = [m.message_id for m in messages if m.seq is None]
        for start in range(0, len(unknown), SCAN):
            part = unknown[start : start + SCAN]
            cursor.execute(
                "SELECT message_id, seq FROM delivery_outbox"
                f" WHERE message_id IN ({', '.join([self.mark] * len(part))})",
                part,
            )
            found.update(cursor.fetchall())
        return found

    # -- reading ----------------------------------------------------------------------

    def messages(self, handle: str | None = None, state: str | None = None) -> list[Message]:
        m, where, params = self.mark, [], []
        if handle is not None:
            where.append(f"handle = {m}")
            params.append(handle)
        if state is not None:
            where.append(f"state = {m}")
            params.append(state)
        condition = f" WHERE {' AND '.join(where)}" if where else ""
        found = self._run(f"SELECT {COLUMNS} FROM delivery_outbox{condition} ORDER BY seq", params)
        return [Message.of(row) for row in found]

    def attempts(self, message_id: str) -> list[Attempt]:
        found = self._run(
            "SELECT message_id, attempt, at, ok, detail, ms FROM delivery_attempts"
            f" WHERE message_id = {self.mark} ORDER BY attempt",
            (message_id,),
        )
        return [Attempt(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in found]


class SQLiteOutbox(Outbox):
    """The outbox in its own SQLite file beside the events (one writer at a time)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA journal_mode=WAL")
        # Rows are derived with the position they were derived up to, and a message is marked
        # sent after it was: after a power cut, WAL with synchronous=NORMAL may forget the last
        # rounds, which are then derived or sent again (with the same ids: at least once),
        # never lost; a process killed at any point loses nothing. Waiting for the disk at
        # every commit took a third of the deliverer's time per webhook.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA.format(serial="INTEGER PRIMARY KEY AUTOINCREMENT"))
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._lock:
            cursor = self._db.cursor()
            # IMMEDIATE: take the write lock at once, so a claim's read and update are one step
            # for every process sharing the file.
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def claim(
        self, deliverer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Message]:
        with self.transaction() as cursor:
            seqs = self._claimable(cursor, stamp(now), limit)
            if not seqs:
                return []
            marks = ", ".join("?" * len(seqs))
            cursor.execute(
                f"UPDATE delivery_outbox SET claimed_by = ?, claimed_until = ?"
                f" WHERE seq IN ({marks}) RETURNING {COLUMNS}, seq",
                (deliverer, stamp(lease_until), *seqs),
            )
            found = sorted(cursor.fetchall(), key=lambda row: row[-1])
            return [Message.of(row) for row in found]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresOutbox(Outbox):
    """The outbox in the engine's PostgreSQL schema; claims are taken one at a time."""

    mark = "%s"
    row_lock = "FOR UPDATE"

    def __init__(self, url: str, schema: str | None = None) -> None:
        from psycopg_pool import ConnectionPool

        options = f"-c search_path={schema}" if schema else ""
        self._pool = ConnectionPool(
            url, min_size=1, max_size=4, kwargs={"options": options}, open=True
        )
        statements = SCHEMA.format(serial="BIGSERIAL PRIMARY KEY").split(";")
        with self._pool.connection() as conn:
            create_one_at_a_time(conn, [s for s in statements if s.strip()], schema)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield cursor

    def claim(
        self, deliverer: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Message]:
        now_text = stamp(now)
        with self.transaction() as cursor:
            # One claim at a time, each seeing the claims before it (see ``_claimable``); held
            # only for the claim's own short transaction.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('groundswell.delivery.claim'))")
            seqs = self._claimable(cursor, now_text, limit)
            if not seqs:
                return []
            # Checked again: a deliverer whose claim ran out may have finished one meanwhile.
            cursor.execute(
                "UPDATE delivery_outbox SET claimed_by = %s, claimed_until = %s"
                " WHERE seq = ANY(%s) AND state = 'pending'"
                " AND (claimed_until IS NULL OR claimed_until < %s)"
                f" RETURNING {COLUMNS}, seq",
                (deliverer, stamp(lease_until), seqs, now_text),
            )
            found = sorted(cursor.fetchall(), key=lambda row: row[-1])
            return [Message.of(row) for row in found]

    def close(self) -> None:
        self._pool.close()
