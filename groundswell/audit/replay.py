"""Replay the history from zero into scratch folds, compare them with the live read models,
and read models as they were at a moment. Read-only: no event and no stored row is written.

Where the history comes from (a :class:`Source`):

- :class:`StoreSource`: the event store's notification log from position 1;
- :class:`KafkaSource`: the topic from offset 0, read by a plain consumer (no group, every
  partition assigned, nothing committed) and decoded with the Avro codec.

Why a replay stops where the live read model stopped: a live read model is caught up to
some point (embedded: its checkpoint position; fed from Kafka: the next offset per
partition committed with its rows), and the history may grow while the audit runs.
Compared with a replay of everything, each event written meanwhile would show as a
difference. So :func:`replay` takes ``at``: per projection, the position (inclusive) or
the next offset per partition (exclusive) to stop at, read together with the live rows by
:func:`live_models` or :func:`live_kafka_models`; :func:`compare` does both.

Everything returned is plain data (rows are JSON values, :class:`Difference` is a
dataclass of JSON values), so the HTTP API can hand it to auditors as it is.
"""

from __future__ import annotations

import json
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from consumers.ports import ReadModelStore
from consumers.projector import bulk_work
from projections.catalog import PROJECTION_NAMES, all_projections
from projections.projection import Projection, apply_all
from projections.rows import Rows

# Where a replay stops for one projection: a notification-log position (inclusive), or
# per Kafka partition the next offset not to read (exclusive).
Bound = int | Mapping[int, int]
Progress = Callable[[int], None]

ONLY_LIVE, ONLY_REPLAYED, CHANGED = "only live", "only replayed", "changed"


class AuditError(Exception):
    """The audit cannot be done as asked (a message for a person, not a difference)."""


class IncompleteHistory(AuditError):
    """The source no longer holds the whole history (Kafka retention deleted the start)."""


class NotComparable(AuditError):
    """The live read model has no position to replay up to, or kept moving while read."""


# -- sources -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """Some events in the order to apply them, and per projection how many of the leading
    ones lie within its bound; ``advanced`` is how far the chunk moves the replay on
    (positions, or Kafka messages), for progress."""

    advanced: int
    events: Sequence[Any]
    within: Mapping[str, int]


class Source(Protocol):
    """A history to replay."""

    kind: str  # "store" or "kafka"
    # Whether the chunks may hold an event twice: then each projection keeps every
    # aggregate's last version applied, as the live projectors fed from Kafka do.
    dedupe: bool

    def head(self) -> Bound:
        """Where the history ends now."""
        ...

    def size(self, bounds: Mapping[str, Bound]) -> int:
        """How far (in the unit of ``Chunk.advanced``) reading up to ``bounds`` goes."""
        ...

    def chunks(self, bounds: Mapping[str, Bound], wanted: set[type]) -> Iterator[Chunk]:
        """The events of the classes in ``wanted`` up to the furthest bound."""
        ...


class StoreSource:
    """The event store's notification log (SQLite or PostgreSQL) from position 1."""

    kind = "store"
    dedupe = False  # each position is read once: no per-aggregate versions to keep

    def __init__(self, engine: Any, batch_size: int = 5_000) -> None:
        self.engine = engine
        self.batch_size = batch_size

    def head(self) -> int:
        return int(self.engine.recorder.max_notification_id() or 0)

    def size(self, bounds: Mapping[str, Bound]) -> int:
        return max((_position(b) for b in bounds.values()), default=0)

    def chunks(self, bounds: Mapping[str, Bound], wanted: set[type]) -> Iterator[Chunk]:
        stops = {name: _position(bound) for name, bound in bounds.items()}
        stop = max(stops.values(), default=0)
        recorder, to_event = self.engine.recorder, self.engine.mapper.to_domain_event
        topics = _topics(wanted)
        after = 0
        while after < stop:
            # The store filters by topic, so events no chosen projection reads are neither
            # fetched nor decoded; positions still advance over them.
            page = recorder.select_notifications(
                start=after + 1, limit=self.batch_size, stop=stop, topics=topics
            )
            if not page:
                break
            positions = [n.id for n in page]
            events = [to_event(n) for n in page]
            last = positions[-1]
            within = {
                name: len(events) if bound >= last else bisect_right(positions, bound)
                for name, bound in stops.items()
            }
            yield Chunk(last - after, events, within)
            after = last
            if len(page) < self.batch_size:
                break
        if stop > after:  # the last positions held nothing wanted: progress still gets there
            yield Chunk(stop - after, [], {name: 0 for name in stops})


def _position(bound: Bound) -> int:
    if not isinstance(bound, int):
        raise AuditError("a replay from the event store stops at a position, not at offsets")
    return bound


def _topics(wanted: set[type]) -> list[str]:
    from eventsourcing.utils import get_topic

    from domain.catalog import EVENT_CLASSES

    if wanted >= set(EVENT_CLASSES.values()):
        return []  # every class: no filter at all is cheaper for the database
    return sorted(get_topic(event_class) for event_class in wanted)


# Larger fetches than kafka-python's defaults (1 MiB per partition): a replay reads whole
# partitions, and fewer, larger fetches keep the broker round trips out of its profile.
KAFKA_READER: dict[str, Any] = {
    "enable_auto_commit": False,
    "max_partition_fetch_bytes": 8 * 1024 * 1024,
    "fetch_max_bytes": 64 * 1024 * 1024,
    "receive_buffer_bytes": 4 * 1024 * 1024,
}


def kafka_reader(servers: str, **overrides: Any) -> Any:
    """A plain consumer: no group, so it joins nothing, commits nothing and disturbs no
    projector's offsets; partitions are assigned explicitly."""
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=servers, group_id=None, **{**KAFKA_READER, **overrides})


class KafkaSource:
    """A Kafka topic from offset 0, read to given offsets and decoded with the Avro codec.

    The relay delivers at least once; a redelivered event (its aggregate's version at or
    below one already read) is dropped here, once for all projections, and counted in
    ``redelivered``. That is what each live projector's versions per aggregate do: each
    aggregate's events are published in order, so only a redelivery can show an old
    version. Messages that cannot be decoded are passed over and listed in
    ``undecodable`` (topic, partition, offset, why): the live projector stopped at them
    or set them aside as dead letters, and an auditor must hear of them either way.
    Close it when done.
    """

    kind = "kafka"
    dedupe = False  # done while reading, once rather than per projection (see above)

    def __init__(
        self,
        servers: str,
        topic: str,
        *,
        codec: Any = None,
        max_records: int = 20_000,
        idle_timeout: float = 30.0,
    ) -> None:
        from domain.catalog import EVENT_CLASSES
        from schemas.codec import MAGIC, EventCodec

        self.servers, self.topic = servers, topic
        self.codec = codec or EventCodec(EVENT_CLASSES)
        self.max_records = max_records
        self.idle_timeout = idle_timeout
        self.undecodable: list[str] = []
        self.redelivered = 0
        self._versions: dict[int, int] = {}  # aggregate id (as an int) -> last version read
        self._magic = MAGIC
        self._consumer: Any = None

    def _client(self) -> Any:
        if self._consumer is None:
            self._consumer = kafka_reader(self.servers)
        return self._consumer

    def partitions(self, wait: float = 5.0) -> list[Any]:
        from kafka import TopicPartition

        consumer, deadline = self._client(), time.monotonic() + wait
        while not (found := consumer.partitions_for_topic(self.topic)):
            if time.monotonic() > deadline:
                raise AuditError(f"no topic {self.topic!r} at {self.servers}")
            time.sleep(0.1)  # each call asks the broker again
        return [TopicPartition(self.topic, p) for p in sorted(found)]

    def head(self) -> dict[int, int]:
        ends = self._client().end_offsets(self.partitions())
        return {tp.partition: offset for tp, offset in ends.items()}

    def size(self, bounds: Mapping[str, Bound]) -> int:
        return sum(self._stops(bounds).values())

    def _stops(self, bounds: Mapping[str, Bound]) -> dict[int, int]:
        offsets = [_offsets(bound) for bound in bounds.values()]
        partitions = {p for found in offsets for p in found}
        return {p: max(found.get(p, 0) for found in offsets) for p in sorted(partitions)}

    def chunks(self, bounds: Mapping[str, Bound], wanted: set[type]) -> Iterator[Chunk]:
        from kafka import TopicPartition

        per_name = {name: _offsets(bound) for name, bound in bounds.items()}
        stops = {p: s for p, s in self._stops(bounds).items() if s > 0}
        if not stops:
            return
        consumer = self._client()
        parts = [TopicPartition(self.topic, p) for p in sorted(stops)]
        consumer.assign(parts)
        try:
            for tp, first in consumer.beginning_offsets(parts).items():
                if first > 0:
                    raise IncompleteHistory(
                        f"{self.topic} partition {tp.partition} now starts at offset {first}: "
                        "the messages before it were deleted (retention), so the topic no "
                        "longer holds the whole history; replay from the event store instead"
                    )
            consumer.seek_to_beginning(*parts)
            self._versions, self.redelivered = {}, 0
            skip = self._unwanted(wanted)
            remaining, idle_since = set(parts), time.monotonic()
            while remaining:
                polled = consumer.poll(timeout_ms=500, max_records=self.max_records)
                if polled:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > self.idle_timeout:
                    raise AuditError(
                        f"{self.topic}: nothing arrived for {self.idle_timeout:.0f} s before "
                        f"the offsets to replay up to ({stops}) were reached"
                    )
                for tp, records in polled.items():
                    stop = stops[tp.partition]
                    if records and records[-1].offset >= stop:
                        records = records[: bisect_left([r.offset for r in records], stop)]
                    if records:
                        yield self._chunk(tp.partition, records, per_name, skip)
                    if consumer.position(tp) >= stop:
                        consumer.pause(tp)  # fetch nothing past the stop
                        remaining.discard(tp)
        finally:
            consumer.unsubscribe()

    def _unwanted(self, wanted: set[type]) -> set[bytes]:
        """Fingerprints of schemas whose events no chosen projection reads: passed over
        without decoding their bodies (decoding is the dearest step)."""
        classes = self.codec.event_classes
        return {
            fingerprint
            for fingerprint, schema in self.codec.by_fingerprint.items()
            if classes.get(schema.name) not in wanted
        }

    def _chunk(
        self,
        partition: int,
        records: Sequence[Any],
        per_name: Mapping[str, Mapping[int, int]],
        skip: set[bytes],
    ) -> Chunk:
        decode, magic, versions = self.codec.decode, self._magic, self._versions
        offsets: list[int] = []
        events: list[Any] = []
        for record in records:
            value = record.value
            if value is not None and value[:2] == magic and value[2:10] in skip:
                continue
            try:
                if value is None:
                    raise ValueError("no value (a tombstone)")
                event = decode(value)
            except ValueError as error:  # UndecodableEvent is a ValueError
                self.undecodable.append(
                    f"{self.topic} partition {partition} offset {record.offset}: {error}"
                )
                continue
            aggregate, version = event.originator_id.int, event.originator_version
            if version <= versions.get(aggregate, 0):
                self.redelivered += 1
                continue
            versions[aggregate] = version
            events.append(event)
            offsets.append(record.offset)
        within = {
            name: bisect_left(offsets, bound.get(partition, 0)) for name, bound in per_name.items()
        }
        return Chunk(len(records), events, within)

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None

    def __enter__(self) -> KafkaSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _offsets(bound: Bound) -> Mapping[int, int]:
    if isinstance(bound, int):
        raise AuditError("a replay from Kafka stops at offsets per partition, not at a position")
    return bound


# -- replay --------------------------------------------------------------------------------


def projections_named(names: Sequence[str] | None = None) -> list[Projection]:
    """The projections named (all when None or empty), in the catalogue's order."""
    unknown = sorted(set(names or ()) - set(PROJECTION_NAMES))
    if unknown:
        raise AuditError(
            f"unknown projection {', '.join(map(repr, unknown))}; the projections are: "
            f"{', '.join(PROJECTION_NAMES)}"
        )
    return [p for p in all_projections() if not names or p.name in names]


def as_source(engine_or_source: Any) -> Source:
    """A :class:`Source` as it is; an engine becomes its notification log."""
    if hasattr(engine_or_source, "chunks"):
        return engine_or_source  # type: ignore[no-any-return]
    return StoreSource(engine_or_source)


def replay(
    engine_or_source: Any,
    names: Sequence[str] | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
    *,
    at: Mapping[str, Bound] | None = None,
) -> dict[str, Rows]:
    """Fold the history from zero into fresh rows for each named projection (all when None).

    ``at`` stops each projection where its live read model stopped (see the module's
    docstring); without it every projection reads to where the history ends now.
    ``until`` folds only events whose timestamp is at or before that moment (they are
    filtered, not cut at the first later one: concurrent writers may commit slightly out
    of timestamp order). ``progress`` hears how far each chunk advanced.
    """
    source = as_source(engine_or_source)
    chosen = projections_named(names)
    if at is None:
        head = source.head()
        bounds: dict[str, Bound] = {p.name: head for p in chosen}
    else:
        missing = [p.name for p in chosen if p.name not in at]
        if missing:
            raise AuditError(f"no position to replay {', '.join(missing)} up to")
        bounds = {p.name: at[p.name] for p in chosen}
    moment = utc(until) if until is not None else None
    wanted = {event_class for p in chosen for event_class in p.handlers}
    fresh = {p.name: Rows(track_changes=False) for p in chosen}
    # Every handler of every chosen projection, by event class: a chunk that all of them
    # take whole is folded in one pass instead of one per projection (the same as
    # apply_all without versions; a tenth of the folding time at a million events).
    handlers: dict[type, list[tuple[Any, Rows]]] = {}
    for projection in chosen:
        for event_class, handler in projection.handlers.items():
            handlers.setdefault(event_class, []).append((handler, fresh[projection.name]))
    one_pass = not source.dedupe and moment is None
    with bulk_work():
        for chunk in source.chunks(bounds, wanted):
            everything = len(chunk.events)
            if one_pass and all(count == everything for count in chunk.within.values()):
                for event in chunk.events:
                    for handler, rows in handlers.get(type(event), ()):
                        handler(rows, event)
            else:
                for projection in chosen:
                    count = chunk.within[projection.name]
                    events = chunk.events if count == everything else chunk.events[:count]
                    if moment is not None:
                        events = [e for e in events if e.timestamp <= moment]
                    if events:
                        apply_all(projection, fresh[projection.name], events, dedupe=source.dedupe)
            if progress is not None and chunk.advanced:
                progress(chunk.advanced)
    return fresh


def as_of(
    engine: Any,
    moment: datetime,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Rows]:
    """The read models as they were at ``moment``: every event stored now whose timestamp
    is at or before it, folded from zero. Read functions that depend on the time (follow-up
    debt, days in a stage) must then be given ``now=moment``."""
    return replay(engine, names, until=moment, progress=progress)


def utc(moment: datetime) -> datetime:
    """Aware in UTC (a naive moment is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment: ``2026-03-02T09:00:00Z``, ``2026-03-02 10:00+01:00``, or a bare
    date, which means its first instant (00:00 UTC). Without an offset, UTC is meant."""
    said = text.strip()
    try:
        if len(said) == 10:
            return datetime.combine(date.fromisoformat(said), datetime.min.time(), UTC)
        return utc(datetime.fromisoformat(said))
    except ValueError:
        raise AuditError(
            f"{text!r} is not a moment; write it as 2026-03-02, 2026-03-02T09:00:00Z or "
            "2026-03-02T10:00:00+01:00"
        ) from None


def public(rows: Mapping[str, Rows]) -> dict[str, dict[str, dict[str, Any]]]:
    """Read models without bookkeeping tables, as JSON-ready nested dicts."""
    return {name: found.public() for name, found in rows.items()}


# -- the live read models ------------------------------------------------------------------


@dataclass
class LiveModels:
    """Read models as stored, each with where it was caught up to when read."""

    rows: dict[str, Rows]
    at: dict[str, Bound]
    versions: dict[str, int | None] = field(default_factory=dict)  # None: not recorded


def live_models(
    store: ReadModelStore, names: Sequence[str] | None = None, attempts: int = 5
) -> LiveModels:
    """The embedded read models (SQLite files or PostgreSQL) with their checkpoints.

    A store's ``load`` reads the checkpoint and then the rows; a projector saving in
    between would give rows past the checkpoint. Every save moves the checkpoint on, so
    reading the checkpoints once more afterwards and finding one unchanged shows that
    read model's rows and checkpoint belong together; the others are read again.
    """
    chosen = [p.name for p in projections_named(names)]
    loaded: dict[str, tuple[Rows, int, int]] = {}
    pending = list(chosen)
    for _ in range(attempts):
        for name in pending:
            loaded[name] = store.load(name)
        now = {c.projection: c.position for c in store.checkpoints()}
        pending = [name for name in pending if now.get(name, 0) != loaded[name][1]]
        if not pending:
            break
    else:
        raise NotComparable(
            f"{', '.join(pending)}: the live read model kept moving while it was read"
        )
    found = LiveModels({}, {}, {})
    for name in chosen:
        rows, position, version = loaded[name]
        if position == 0 and any(rows.public().values()):
            raise NotComparable(
                f"{name}: the live rows carry no checkpoint position (here they are fed from "
                "Kafka); compare them with a replay from Kafka (--from kafka)"
            )
        found.rows[name], found.at[name], found.versions[name] = rows, position, version
    return found


def live_kafka_models(store: Any, topic: str, names: Sequence[str] | None = None) -> LiveModels:
    """The read models fed from Kafka (a ``KafkaReadModelStore``), each read in one snapshot
    with the next offset per partition it committed with its rows."""
    found = LiveModels({}, {}, {})
    for projection in projections_named(names):
        rows, offsets = store.snapshot(projection.name, topic)
        if not offsets and any(rows.public().values()):
            raise NotComparable(
                f"{projection.name}: the live rows carry no offsets on {topic} (fed from another "
                "topic, or in-process); compare them with a replay from the store (--from store)"
            )
        found.rows[projection.name], found.at[projection.name] = rows, offsets
        found.versions[projection.name] = None
    return found


# -- diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way a live read model differs from the replay.

    ``field`` is None when whole rows differ: a row on one side only (``kind`` "only live"
    or "only replayed"), or rows that are not records (lists, texts). Otherwise a field
    differs ("changed") or exists on one side only. ``live`` and ``replayed`` are the
    values (None on the side that lacks them).
    """

    projection: str
    table: str
    key: str
    field: str | None
    kind: str
    live: Any = None
    replayed: Any = None

    def describe(self, cut: int = 120) -> str:
        """One line for a person."""
        where = f"{self.projection} · {self.table} · {self.key}"
        if self.field is not None:
            where += f" · {self.field}"
        if self.kind == ONLY_LIVE:
            return f"{where}: only in the live read model: {shown(self.live, cut)}"
        if self.kind == ONLY_REPLAYED:
            return (
                f"{where}: missing from the live read model; replayed: {shown(self.replayed, cut)}"
            )
        return f"{where}: live {shown(self.live, cut)} ≠ replayed {shown(self.replayed, cut)}"


def shown(value: Any, cut: int = 120) -> str:
    """A value as compact JSON, cut to ``cut`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if cut <= 0 or len(text) <= cut else text[: cut - 1] + "…"


def plain(value: Any) -> Any:
    """As the value would come back from a store (JSON: no tuples, UUIDs as text)."""
    return json.loads(json.dumps(value, default=str))


def same(a: Any, b: Any) -> bool:
    # == nearly always decides (numbers compare by value: 1 and 1.0 are the same points);
    # then as JSON, so a tuple in a fold and the list a store gives back are the same.
    return bool(a == b) or _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def diff(live: Mapping[str, Rows], replayed: Mapping[str, Rows]) -> list[Difference]:
    """Every difference between two sets of read models, row by row and field by field,
    ordered by projection, table, key and field. Bookkeeping tables are not compared."""
    found: list[Difference] = []
    for name in sorted(set(live) | set(replayed)):
        ours = live[name].public() if name in live else {}
        theirs = replayed[name].public() if name in replayed else {}
        for table in sorted(set(ours) | set(theirs)):
            a, b = ours.get(table, {}), theirs.get(table, {})
            for key, value in a.items():
                if key not in b:
                    found.append(Difference(name, table, key, None, ONLY_LIVE, plain(value)))
                elif not same(value, b[key]):
                    found.extend(_row_differences(name, table, key, value, b[key]))
            for key, value in b.items():
                if key not in a:
                    found.append(
                        Difference(name, table, key, None, ONLY_REPLAYED, None, plain(value))
                    )
    return sorted(found, key=lambda d: (d.projection, d.table, d.key, d.field or ""))


def _row_differences(name: str, table: str, key: str, a: Any, b: Any) -> list[Difference]:
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [Difference(name, table, key, None, CHANGED, plain(a), plain(b))]
    found = []
    for column in sorted(set(a) | set(b)):
        if column not in b:
            found.append(Difference(name, table, key, column, ONLY_LIVE, plain(a[column])))
        elif column not in a:
            found.append(
                Difference(name, table, key, column, ONLY_REPLAYED, None, plain(b[column]))
            )
        elif not same(a[column], b[column]):
            found.append(
                Difference(name, table, key, column, CHANGED, plain(a[column]), plain(b[column]))
            )
    return found


# -- replay and compare --------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found: the differences, and per projection where the replay
    stopped and how many rows each side has."""

    differences: list[Difference]
    at: dict[str, Bound]
    live_rows: dict[str, int]
    replayed_rows: dict[str, int]
    versions: dict[str, int | None]
    seconds: float

    @property
    def identical(self) -> bool:
        return not self.differences


def compare(source: Source, live: LiveModels, progress: Progress | None = None) -> Comparison:
    """Replay each live read model's projection up to where it was caught up, and diff."""
    started = time.perf_counter()
    names = list(live.rows)
    replayed = replay(source, names, progress=progress, at=live.at)
    seconds = time.perf_counter() - started

    def count(rows: Rows) -> int:
        return sum(len(table) for table in rows.public().values())

    return Comparison(
        diff(live.rows, replayed),
        dict(live.at),
        {name: count(rows) for name, rows in live.rows.items()},
        {name: count(rows) for name, rows in replayed.items()},
        dict(live.versions),
        seconds,
    )
