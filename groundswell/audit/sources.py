"""Where an audit's history comes from (a :class:`Source`), read-only:

- :class:`StoreSource`: the event store's notification log from position 1;
- :class:`KafkaSource`: the topic from offset 0, read by a plain consumer (no group, every
  partition assigned, nothing committed) and decoded with the Avro codec.

Each reads up to a bound per projection (:data:`Bound`); :mod:`groundswell.audit.replay`
folds what they yield.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Where a replay stops for one projection: a notification-log position (inclusive), or
# per Kafka partition the next offset not to read (exclusive).
Bound = int | Mapping[int, int]
Progress = Callable[[int], None]


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


def as_source(engine_or_source: Any) -> Source:
    """A :class:`Source` as it is; an engine becomes its notification log."""
    if hasattr(engine_or_source, "chunks"):
        return engine_or_source  # type: ignore[no-any-return]
    return StoreSource(engine_or_source)
