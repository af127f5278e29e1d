"""A projection fed from Kafka: its own consumer group, one PostgreSQL transaction per batch.

Each poll is a batch: decode it, fold it against the rows as stored now, and commit the
changed rows, the aggregates' versions and the next offset of every partition it read
in one transaction. The offsets stored with the rows rule: on every partition
assignment the consumer seeks to them, and a message below them (redelivered, or read
by another instance before a rebalance) is passed over. A message that cannot be
decoded stops the projection, naming topic, partition and offset, or goes to the
dead-letter table with the batch (``on_poison``); it is never passed over silently.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from consumers.stored_rows import StoredRows, keys_read
from groundswell.relay import Backoff
from groundswell.stores.postgres_kafka import Batch, BatchConflict, DeadLetter, KafkaReadModelStore
from projections.projection import Projection, apply_event
from schemas.codec import MAGIC, EventCodec, UndecodableEvent

log = logging.getLogger(__name__)

POISON_POLICIES = ("stop", "dead-letter")
BATCH = 2_000
ATTEMPTS = 8  # a batch that keeps colliding with another instance's is a real problem


class PoisonMessage(RuntimeError):
    """A message the projection cannot decode, with the policy ``stop``."""


class FoldFailed(RuntimeError):
    """The fold raised on an event: a bug in the projection, never passed over."""


@dataclass(frozen=True)
class Decoded:
    """A message the projection must look at: an event it reads, or why it could not be
    decoded."""

    offset: int
    event: Any
    poison: DeadLetter | None


@dataclass(frozen=True)
class Part:
    """One partition's share of a batch: the messages that matter, and where it ends."""

    wanted: list[Decoded]
    end: int  # the offset after the batch's last message of this partition


def kafka_consumer(
    servers: str, group_id: str, batch: int = BATCH, instance_id: str | None = None
) -> KafkaConsumer:
    """A consumer whose offsets the projection keeps itself (no auto commit).

    A member that died without leaving holds its partitions until its session times
    out; 10 s rather than Kafka's 45 s lets a restarted or remaining instance take over
    sooner. With ``instance_id`` (static membership) a restarted instance takes its
    predecessor's partitions at once. Metadata is refreshed every 5 s (not 5 min): a
    member that joined before it knew the topic's partitions (the topic was just created)
    would otherwise be assigned nothing until the next refresh.
    """
    return KafkaConsumer(
        bootstrap_servers=servers,
        group_id=group_id,
        group_instance_id=instance_id,
        client_id=instance_id or group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        metadata_max_age_ms=5_000,
    )


class KafkaProjector:
    """Runs one projection as a member of its consumer group until stopped."""

    def __init__(
        self,
        projection: Projection,
        store: KafkaReadModelStore,
        consumer: KafkaConsumer,
        codec: EventCodec,
        topic: str,
        *,
        on_poison: str = "stop",
        batch: int = BATCH,
    ) -> None:
        if on_poison not in POISON_POLICIES:
            raise ValueError(f"on_poison must be one of {', '.join(POISON_POLICIES)}")
        self.projection = projection
        self.store = store
        self.consumer = consumer
        self.codec = codec
        self.topic = topic
        self.on_poison = on_poison
        self.batch = batch
        # What this instance did, for monitoring and tests: messages read, events folded,
        # next offset committed per partition, partitions it owns now.
        self.consumed = 0
        self.applied = 0
        self.positions: dict[int, int] = {}
        self.assigned: set[int] = set()
        self._stopping = threading.Event()
        # Fingerprints of the schemas (any version) of the events this projection reads:
        # the rest are checked for marker and fingerprint but their bodies not decoded.
        self._wanted = {
            fingerprint
            for fingerprint, schema in codec.by_fingerprint.items()
            if codec.event_classes.get(schema.name) in projection.handlers
        }

    @property
    def name(self) -> str:
        return self.projection.name

    def stop(self) -> None:
        """Finish the current batch, then leave the group (safe from signal handlers)."""
        self._stopping.set()

    def run(self, until: Callable[[KafkaProjector], bool] | None = None) -> None:
        """Consume batches until :meth:`stop` (or ``until`` says so); raises
        :class:`PoisonMessage` or :class:`FoldFailed` after committing what preceded.

        Waits out a broker or database outage, retrying with backoff and saying so in the
        log, as the relay does: the outage ends, the projection goes on.
        """
        self._learn_partitions()
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))
        backoff, rewind = Backoff(first=0.2, most=10.0), False
        try:
            while not self._stopping.is_set() and not (until and until(self)):
                try:
                    if rewind:
                        self.rewind()
                        rewind = False
                    polled = self.consumer.poll(timeout_ms=200, max_records=self.batch)
                    if polled:
                        self.apply(polled)
                except (KafkaError, psycopg.OperationalError) as error:
                    if isinstance(error, KafkaError) and not error.retriable:
                        raise
                    # What was polled but not stored (the database refused the batch, or
                    # the poll broke off) is read again from the offsets stored with the rows.
                    rewind = True
                    delay = backoff.next_delay()
                    log.warning(
                        "%s: %s: %s; retrying in %.1f s",
                        self.name,
                        type(error).__name__,
                        str(error).strip(),
                        delay,
                    )
                    self._stopping.wait(delay)
                    continue
                backoff.attempts = 0
        finally:
            self.consumer.close(autocommit=False)

    def _learn_partitions(self, seconds: float = 10.0) -> None:
        """Know the topic's partitions before joining the group: a group leader that does
        not know them yet assigns nothing ("No partition metadata for topic") and, on a
        busy host, the rebalance that should follow the next metadata refresh was seen
        not to come for minutes. A topic that does not exist yet (or a broker that is down:
        the loop in :meth:`run` waits that out) is waited for briefly."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.consumer.partitions_for_topic(self.topic):
                    return
            except KafkaError:
                pass
            time.sleep(0.2)
        log.warning("%s: topic %s has no partitions yet; joining anyway", self.name, self.topic)

    def rewind(self) -> None:
        """Seek every assigned partition to the offset stored with the rows."""
        _SeekToStored(self).on_partitions_assigned(self.consumer.assignment())

    def apply(self, polled: dict[TopicPartition, Sequence[Any]]) -> None:
        """Apply one polled batch; redone from the stored offsets if another instance
        changed the same rows at the same time."""
        parts = {tp.partition: self._sort(records) for tp, records in polled.items()}
        self.consumed += sum(len(records) for records in polled.values())
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.store.batch(self.name, self.topic) as batch:
                    poison, offsets, applied = self._fold(batch, parts)
                break
            except BatchConflict as conflict:
                if attempt == ATTEMPTS:
                    raise
                log.info("%s: batch redone after a conflict (%s)", self.name, conflict)
                time.sleep(random.uniform(0, 0.02 * attempt))
        self.applied += applied
        self.positions.update(offsets)
        self._report(offsets)
        if poison is not None:
            raise PoisonMessage(
                f"{self.name}: cannot decode the message at {self.topic} partition "
                f"{poison.partition} offset {poison.offset}: {poison.error}; stopped with nothing "
                f"from it on in that partition applied (restart with --on-poison dead-letter "
                f"to set it aside)"
            )

    def _sort(self, records: Sequence[Any]) -> Part:
        """Pass over events the projection does not read (most, for most projections:
        decoding is the dearest step), keep the rest and anything undecodable."""
        known, wanted = self.codec.by_fingerprint, self._wanted
        kept = [
            self._decode(record)
            for record in records
            if not (
                (value := record.value) is not None
                and value[:2] == MAGIC
                and value[2:10] in known
                and value[2:10] not in wanted
            )
        ]
        return Part(kept, records[-1].offset + 1)

    def _decode(self, record: Any) -> Decoded:
        value = record.value
        try:
            if value is None:
                raise UndecodableEvent("no value (a tombstone)")
            event = self.codec.decode(value)
        except UndecodableEvent as error:
            letter = DeadLetter(record.partition, record.offset, record.key, value, str(error))
            return Decoded(record.offset, None, letter)
        return Decoded(record.offset, event, None)

    def _fold(
        self, batch: Batch, parts: dict[int, Part]
    ) -> tuple[DeadLetter | None, dict[int, int], int]:
        """Fold what the stored offsets have not seen; returns the poison that stopped
        it (policy ``stop``), the new next offsets and how many events were applied."""
        stored = batch.claim(list(parts))
        poison: DeadLetter | None = None
        dead: list[DeadLetter] = []
        todo: list[tuple[int, Decoded]] = []
        offsets: dict[int, int] = {}
        for partition, part in parts.items():
            start = stored.get(partition, 0)
            end = max(start, part.end)
            for message in part.wanted:
                if message.offset < start:
                    continue  # applied already: redelivered, or read before a rebalance
                if message.poison is None:
                    todo.append((partition, message))
                elif self.on_poison == "stop":
                    poison, end = poison or message.poison, message.offset
                    break
                else:
                    dead.append(message.poison)
            if end > start:
                offsets[partition] = end
        rows = StoredRows(batch.fetch)
        rows.preload(keys_read(self.projection, (message.event for _, message in todo)))
        applied = 0
        for partition, message in todo:
            try:
                applied += apply_event(self.projection, rows, message.event)
            except Exception as error:
                raise FoldFailed(
                    f"{self.name}: the fold failed on {type(message.event).__qualname__} at "
                    f"{self.topic} partition {partition} offset {message.offset}: {error!r}"
                ) from error
        batch.write(rows.take_writes(), offsets, dead)
        return poison, offsets, applied

    def _report(self, offsets: dict[int, int]) -> None:
        """Tell Kafka too, for lag monitoring only: the stored offsets rule."""
        if offsets:
            self.consumer.commit_async(
                {
                    TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1)
                    for p, o in offsets.items()
                }
            )


class _SeekToStored(ConsumerRebalanceListener):
    """On every assignment, seek each partition to the offset stored with the rows."""

    def __init__(self, projector: KafkaProjector) -> None:
        self.projector = projector

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Nothing to save: each batch commits its offsets with its rows.
        self.projector.assigned -= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: Any) -> None:
        p = self.projector
        stored = p.store.offsets(p.name, p.topic)
        for tp in assigned:
            if tp.partition in stored:
                p.consumer.seek(tp, stored[tp.partition])
            else:
                p.consumer.seek_to_beginning(tp)
            p.assigned.add(tp.partition)
        log.info("%s: assigned %s, from stored offsets %s", p.name, sorted(assigned), stored)
