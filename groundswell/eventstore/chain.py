"""The tamper-evident hash chain over the event log: its format, ``verify`` and ``head``.

Every stored event gets one row in ``event_chain``, written by the recorders in
``groundswell/eventstore/keyed.py`` in the transaction that inserts the event:
``(notification_id, prev_id, hash, adopted)``. ``prev_id`` is the notification id of the
event before it in the log (0 for the first) and ``hash`` is

    H(p) = SHA-256( H(prev)                          32 bytes (GENESIS for the first event)
                  ‖ u64 p                            the event's notification id
                  ‖ i64 originator_version
                  ‖ u64 len(id) ‖ u64 len(topic) ‖ u64 len(state)
                  ‖ id ‖ topic ‖ state )

with integers big-endian and ``id`` the originator id as stored: the 32 lowercase hex
digits of the UUID (or the text of a text id), ASCII; ``topic`` UTF-8; ``state`` the
stored bytes. Every length precedes the variable fields, so no two different events
encode alike, and the position is hashed too, so an event moved elsewhere no longer
matches. ``GENESIS`` is SHA-256 of ``b"groundswell event chain v1"``.

A store written before the chain existed is *adopted* the first time a chain-aware
engine opens it (or writes to it): its events are chained then, marked ``adopted``;
``verify`` reports that range, because changes made before adoption cannot be seen.
Only an empty chain is adopted: an event stored later without a chain row (by SQL, or an
old engine still running) stays unchained, and ``verify`` names it.

``verify`` stops at the first problem and names it: ``content changed`` (the event at a
position no longer hashes to its chain row), ``event missing`` (the chain records an
event the log no longer has), ``extra event`` (an event the chain does not record),
``order changed`` (an event sits at another position than the chain records),
``chain row missing`` / ``chain row changed`` (the event is intact, its chain row is
not). At the log's end a deleted chain row looks like an extra event, and an altered
last chain row like a changed event: nothing follows them to tell.

What it proves: ``verify`` finds any change to, removal of, insertion into or
reordering of the log that did not also rewrite the chain from that point on. Someone
who can write the database and rewrites the chain consistently (or appends well-formed
events at the end) is caught only against a head recorded elsewhere before:
``verify(engine, anchor=head_from_an_export_manifest)``.

Over 400 lines on purpose: the chain's format (``link``) and its verification, which names
every kind of break it finds, must agree byte for byte, so they are kept in one place.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from uuid import UUID

if TYPE_CHECKING:
    from eventsourcing.application import Application

GENESIS = hashlib.sha256(b"groundswell event chain v1").digest()
CHAIN_TABLE = "event_chain"
BATCH = 10_000

_HEADER = struct.Struct(">QqQQQ")  # position, version, len(id), len(topic), len(state)
_sha256 = hashlib.sha256

# (position, originator id bytes, version, topic bytes, state) as stored
EventRow = tuple[int, bytes, int, bytes, bytes]
# (position, prev_id, hash)
ChainRow = tuple[int, int, bytes]
# an event and its chain row, if any: (*EventRow, prev_id, hash, adopted)
JoinedRow = tuple[int, bytes, int, bytes, bytes, Any, Any, Any]

CONTENT_CHANGED = "content changed"
EVENT_MISSING = "event missing"
EXTRA_EVENT = "extra event"
ORDER_CHANGED = "order changed"
CHAIN_ROW_MISSING = "chain row missing"
CHAIN_ROW_CHANGED = "chain row changed"
ANCHOR_MISMATCH = "anchor mismatch"


def link(
    prev: bytes, position: int, originator_id: bytes, version: int, topic: bytes, state: bytes
) -> bytes:
    """The chain hash of one event, given the hash of the event before it."""
    header = _HEADER.pack(position, version, len(originator_id), len(topic), len(state))
    return _sha256(b"".join((prev, header, originator_id, topic, state))).digest()


def id_bytes(originator_id: UUID | str) -> bytes:
    """The originator id as the SQLite store keeps it (and the chain hashes it)."""
    return originator_id.hex.encode() if isinstance(originator_id, UUID) else originator_id.encode()


def _link_stored(prev: bytes, row: Sequence[Any]) -> bytes | None:
    """``link`` over a row as read back; None when a field no longer has its type."""
    try:
        return link(prev, row[0], row[1], row[2], row[3], row[4])
    except (struct.error, TypeError):
        return None


class ChainSnapshot(Protocol):
    """One consistent read of the events and the chain (what the recorders offer)."""

    def count(self) -> int: ...
    def head(self) -> tuple[int, bytes] | None: ...
    def joined(self, after: int, limit: int) -> list[JoinedRow]: ...
    def events(self, after: int, limit: int) -> list[EventRow]: ...
    def chain(self, after: int, limit: int) -> list[ChainRow]: ...
    def first_orphan(self) -> int | None: ...


@runtime_checkable
class ChainedRecorder(Protocol):
    def chain_snapshot(self) -> AbstractContextManager[ChainSnapshot]: ...
    def chain_head(self) -> tuple[int, bytes] | None: ...


class ChainUnavailable(ValueError):
    """The engine's store keeps no chain (the in-memory store)."""


@dataclass(frozen=True)
class Problem:
    """The first place where the log and its chain disagree."""

    kind: str
    notification_id: int
    aggregate_id: str | None
    aggregate_version: int | None
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """``ok`` when every event matches the chain. ``head`` is the stored chain's last
    position and hash (hex); ``intact_through`` the last position verified before the
    first problem. ``adopted`` is the range of events chained after they were written
    (a store from before the chain), or None."""

    ok: bool
    events_checked: int
    events_total: int
    head: tuple[int, str] | None
    intact_through: int
    problem: Problem | None
    adopted: tuple[int, int] | None = None
    anchor: tuple[int, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["head"] = _position_hash(self.head)
        found["anchor"] = _position_hash(self.anchor)
        if self.adopted is not None:
            found["adopted"] = {"first": self.adopted[0], "last": self.adopted[1]}
        return found


def _position_hash(pair: tuple[int, str] | None) -> dict[str, Any] | None:
    return None if pair is None else {"position": pair[0], "hash": pair[1]}


def _recorder(engine: Application) -> ChainedRecorder:
    recorder = engine.recorder
    if not isinstance(recorder, ChainedRecorder):
        raise ChainUnavailable(
            f"{type(recorder).__name__} keeps no hash chain; only the SQLite and PostgreSQL "
            "stores do."
        )
    return recorder


def head(engine: Application) -> tuple[int, str] | None:
    """The chain's last position and hash (hex), as stored; None when nothing is chained
    (an empty log) or the store keeps no chain (in-memory). Cheap: one indexed read."""
    try:
        found = _recorder(engine).chain_head()
    except ChainUnavailable:
        return None
    return None if found is None else (found[0], found[1].hex())


def verify(
    engine: Application,
    progress: Callable[[int, int], None] | None = None,
    *,
    anchor: tuple[int, str] | None = None,
    batch: int = BATCH,
) -> VerifyReport:
    """Recompute the chain over the whole log, in notification order, from one consistent
    snapshot, and name the first event whose content, order or presence no longer matches.

    ``progress(checked, total)`` is called after each batch. ``anchor`` is a (position,
    hash hex) pair recorded earlier (``head``): the recomputed chain must pass through it.
    Raises ``ChainUnavailable`` on a store that keeps no chain."""
    with _recorder(engine).chain_snapshot() as snapshot:
        return _Verifier(snapshot, progress, anchor, batch).run()


class _Verifier:
    def __init__(
        self,
        snapshot: ChainSnapshot,
        progress: Callable[[int, int], None] | None,
        anchor: tuple[int, str] | None,
        batch: int,
    ) -> None:
        self.snap = snapshot
        self.progress = progress
        self.anchor = anchor
        self.batch = batch
        self.total = snapshot.count()
        self.stored_head = snapshot.head()
        self.checked = 0
        self.last_pos = 0
        self.last_hash = GENESIS
        self.adopted: tuple[int, int] | None = None

    def run(self) -> VerifyReport:
        orphan = self.snap.first_orphan()
        anchor_pos, anchor_hash = self.anchor or (-1, "")
        after = 0
        while rows := self.snap.joined(after, self.batch):
            # The hot loop: locals only; the state is written back when a batch is done or
            # before a problem is diagnosed.
            last_pos, last_hash, checked = self.last_pos, self.last_hash, self.checked
            problem = None
            for row in rows:
                pos, stored = row[0], row[6]
                if orphan is not None and orphan < pos:
                    problem = "orphan"
                    break
                if stored is None:
                    problem = "unchained"
                    break
                computed = _link_stored(last_hash, row)
                if computed is None or computed != stored or row[5] != last_pos:
                    problem = "mismatch"
                    break
                if row[7]:
                    self.adopted = (self.adopted[0] if self.adopted else pos, pos)
                if pos == anchor_pos and computed.hex() != anchor_hash:
                    problem = "anchor"
                    break
                last_pos, last_hash = pos, computed
                checked += 1
            self.last_pos, self.last_hash, self.checked = last_pos, last_hash, checked
            if problem == "orphan" and orphan is not None:
                return self.failed(self.chain_without_event(orphan))
            if problem == "unchained":
                return self.failed(self.event_without_chain(row))
            if problem == "mismatch":
                return self.failed(self.mismatch(row, _link_stored(last_hash, row)))
            if problem == "anchor":
                return self.failed(self.anchor_mismatch(row, _link_stored(last_hash, row)))
            after = rows[-1][0]
            if self.progress is not None:
                self.progress(checked, self.total)
        if orphan is not None:
            return self.failed(self.chain_without_event(orphan))
        if self.anchor is not None and self.last_pos < anchor_pos:
            return self.failed(
                Problem(
                    EVENT_MISSING,
                    anchor_pos,
                    None,
                    None,
                    f"Event {anchor_pos} is missing: the anchor records the chain up to it, "
                    f"but the log ends at {self.last_pos}.",
                )
            )
        return self.report(None)

    # -- the report

    def report(self, problem: Problem | None) -> VerifyReport:
        stored = self.stored_head
        return VerifyReport(
            ok=problem is None,
            events_checked=self.checked,
            events_total=self.total,
            head=None if stored is None else (stored[0], stored[1].hex()),
            intact_through=self.last_pos,
            problem=problem,
            adopted=self.adopted,
            anchor=self.anchor,
        )

    def failed(self, problem: Problem) -> VerifyReport:
        if self.progress is not None:
            self.progress(self.checked, self.total)
        return self.report(problem)

    @staticmethod
    def problem(kind: str, row: Sequence[Any], sentence: str, **names: Any) -> Problem:
        aggregate, version = _names(row)
        what = f"event {row[0]} ({aggregate} version {version})"
        text = sentence.format(what=what, **names)
        return Problem(kind, row[0], aggregate, version, text[0].upper() + text[1:])

    # -- diagnosis of the first problem (runs once, may scan the log again)

    def mismatch(self, row: JoinedRow, computed: bytes | None) -> Problem:
        """The event at a chained position does not hash to its chain row, or the row does
        not name the event before it."""
        pos, prev_id = row[0], row[5]
        if computed is not None and computed == row[6]:
            return self.problem(CHAIN_ROW_CHANGED, row, _ROW_CHANGED)
        if isinstance(prev_id, int) and prev_id > self.last_pos:
            return Problem(
                EVENT_MISSING,
                prev_id,
                None,
                None,
                f"Event {prev_id} is missing: the chain records it right before event {pos}, "
                "but the log has no event there.",
            )
        if isinstance(prev_id, int) and prev_id < self.last_pos:
            extra = self.snap.joined(prev_id, 1)[0]
            return self.problem(EXTRA_EVENT, extra, _EXTRA)
        if computed is not None and self.next_links(pos, computed):
            return self.problem(CHAIN_ROW_CHANGED, row, _ROW_CHANGED)
        recorded_at = self.recorded_at(row)
        now_at = self.now_at(pos, self.last_hash, row[6])
        if recorded_at is not None and now_at is not None:
            return self.problem(ORDER_CHANGED, row, _MOVED, there=recorded_at)
        if recorded_at is not None:
            return Problem(
                EVENT_MISSING,
                pos,
                None,
                None,
                f"Event {pos} is missing: the event now at that position was recorded at "
                f"position {recorded_at}, and the one recorded at {pos} is nowhere in the log.",
            )
        if now_at is not None:
            return self.problem(EXTRA_EVENT, row, _EXTRA)
        return self.problem(CONTENT_CHANGED, row, _CHANGED)

    def event_without_chain(self, row: JoinedRow) -> Problem:
        pos = row[0]
        recorded_at = self.recorded_at(row)
        if recorded_at is not None:
            return self.problem(ORDER_CHANGED, row, _MOVED, there=recorded_at)
        if self.stored_head is None:
            return self.problem(CHAIN_ROW_MISSING, row, _NO_CHAIN, total=self.total)
        following = self.snap.chain(pos, 1)
        if following and following[0][1] == pos:
            return self.problem(CHAIN_ROW_MISSING, row, _ROW_MISSING)
        return self.problem(EXTRA_EVENT, row, _EXTRA)

    def chain_without_event(self, pos: int) -> Problem:
        chained = self.chain_row(pos)
        if chained is not None:
            prev = self.chain_row(chained[1]) if chained[1] else None
            before = GENESIS if chained[1] == 0 else (prev[2] if prev else None)
            now_at = None if before is None else self.now_at(pos, before, chained[2])
            if now_at is not None:
                moved = self.snap.joined(now_at - 1, 1)[0]
                aggregate, version = _names(moved)
                return Problem(
                    ORDER_CHANGED,
                    pos,
                    aggregate,
                    version,
                    f"Event {pos} ({aggregate} version {version}) is out of place: the chain "
                    f"records it at position {pos}, but it now sits at position {now_at}.",
                )
        return Problem(
            EVENT_MISSING,
            pos,
            None,
            None,
            f"Event {pos} is missing: the chain records an event at that position, "
            "but the log has none.",
        )

    def anchor_mismatch(self, row: JoinedRow, computed: bytes | None) -> Problem:
        return self.problem(
            ANCHOR_MISMATCH,
            row,
            "{what} ends a chain with hash {found}, but the anchor recorded {expected}: "
            "the history up to it was rewritten, chain included, after the anchor was taken.",
            found=computed.hex() if computed else "",
            expected=self.anchor[1] if self.anchor else "",
        )

    def next_links(self, pos: int, computed: bytes) -> bool:
        """Does the next event link to ``computed``? Then this event is intact and only its
        chain row was altered."""
        following = self.snap.joined(pos, 1)
        if not following or following[0][6] is None or following[0][5] != pos:
            return False
        return _link_stored(computed, following[0]) == following[0][6]

    def chain_row(self, pos: int) -> ChainRow | None:
        found = self.snap.chain(pos - 1, 1)
        return found[0] if found and found[0][0] == pos else None

    def recorded_at(self, row: Sequence[Any]) -> int | None:
        """Another position whose chain row this event's content hashes to (it moved)."""
        prev = GENESIS
        for chained in self._scan(self.snap.chain):
            q = chained[0]
            if q != row[0] and _link_stored(prev, (q, *row[1:5])) == chained[2]:
                return q
            prev = chained[2]
        return None

    def now_at(self, pos: int, prev: bytes, stored: bytes) -> int | None:
        """Another position holding the event the chain records at ``pos``."""
        for event in self._scan(self.snap.events):
            if event[0] != pos and _link_stored(prev, (pos, *event[1:5])) == stored:
                return event[0]
        return None

    def _scan(self, read: Callable[[int, int], Sequence[Any]]) -> Iterator[Any]:
        after = 0
        while rows := read(after, self.batch):
            yield from rows
            after = rows[-1][0]


_CHANGED = "{what} was changed after it was stored: its content no longer matches the chain."
_EXTRA = "{what} is not part of the chain: it was added to the log after the fact."
_MOVED = "{what} is out of place: the chain records it at position {there}."
_ROW_MISSING = "{what} has no chain row: its row in the chain was deleted."
_ROW_CHANGED = "The chain row of {what} was altered; the event itself still matches the chain."
_NO_CHAIN = (
    "{what} has no chain row, nor has any of the {total} events: the store predates the chain "
    "and no chain-aware engine has opened it for writing since."
)


def _names(row: Sequence[Any]) -> tuple[str, int | None]:
    """The aggregate id (as a UUID when it still is one) and version, for people."""
    raw = row[1]
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    with suppress(ValueError):
        text = str(UUID(text))
    version = row[2] if isinstance(row[2], int) else None
    return text, version
