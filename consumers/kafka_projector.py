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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from kafka.errors import KafkaError

from consumers.backoff import Backoff
from consumers.message_feed import Feed, Interest, Kept, Polled
from consumers.ports import Batch, BatchConflict, DeadLetter, KafkaBatchStore
from consumers.stored_rows import StoredRows, keys_read
from projections.projection import Projection, apply_event
from schemas.codec import EventCodec, UndecodableEvent

log = logging.getLogger(__name__)

POISON_POLICIES = ("stop", "dead-letter")
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
class DecodedPart:
    """One partition's share of a batch, decoded: the messages that matter, and where it
    ends."""

    wanted: list[Decoded]
    end: int  # the offset after the batch's last message of this partition


def interest_of(projection: Projection, codec: EventCodec) -> Interest:
    """The fingerprints of every schema the codec knows, and of those (any version) of
    the events this projection reads."""
    known = codec.by_fingerprint
    return Interest(
        frozenset(known),
        frozenset(
            fingerprint
            for fingerprint, schema in known.items()
            if codec.event_classes.get(schema.name) in projection.handlers
        ),
    )


class KafkaProjector:
    """Runs one projection as a member of its consumer group until stopped."""

    def __init__(
        self,
        projection: Projection,
        store: KafkaBatchStore,
        feed: Feed,
        codec: EventCodec,
        topic: str,
        *,
        on_poison: str = "stop",
    ) -> None:
        if on_poison not in POISON_POLICIES:
            raise ValueError(f"on_poison must be one of {', '.join(POISON_POLICIES)}")
        self.projection = projection
        self.store = store
        self.feed = feed
        self.codec = codec
        self.topic = topic
        self.on_poison = on_poison
        # What this instance did, for monitoring and tests: messages read, events folded,
        # next offset committed per partition.
        self.consumed = 0
        self.applied = 0
        self.positions: dict[int, int] = {}
        self._stopping = threading.Event()

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def assigned(self) -> set[int]:
        """The partitions this instance owns now."""
        return self.feed.assigned

    def stop(self) -> None:
        """Finish the current batch, then leave the group (safe from signal handlers)."""
        self._stopping.set()

    def run(self, until: Callable[[KafkaProjector], bool] | None = None) -> None:
        """Consume batches until :meth:`stop` (or ``until`` says so); raises
        :class:`PoisonMessage` or :class:`FoldFailed` after committing what preceded.

        Waits out a broker or database outage, retrying with backoff and saying so in the
        log, as the relay does: the outage ends, the projection goes on.
        """
        backoff, rewind = Backoff(first=0.2, most=10.0), False
        try:
            self.feed.join()
            while not self._stopping.is_set() and not (until and until(self)):
                try:
                    if rewind:
                        self.feed.rewind()
                        rewind = False
                    polled = self.feed.poll(200)
                    if polled is not None:
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
            self.feed.close()

    def apply(self, polled: Polled) -> None:
        """Apply one polled batch; redone from the stored offsets if another instance
        changed the same rows at the same time."""
        parts = {
            partition: DecodedPart([self._decode(partition, kept) for kept in part.kept], part.end)
            for partition, part in polled.parts.items()
        }
        self.consumed += polled.consumed
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
        self.feed.report(offsets)
        if poison is not None:
            raise PoisonMessage(
                f"{self.name}: cannot decode the message at {self.topic} partition "
                f"{poison.partition} offset {poison.offset}: {poison.error}; stopped with nothing "
                f"from it on in that partition applied (restart with --on-poison dead-letter "
                f"to set it aside)"
            )

    def _decode(self, partition: int, kept: Kept) -> Decoded:
        offset, key, value = kept
        try:
            if value is None:
                raise UndecodableEvent("no value (a tombstone)")
            event = self.codec.decode(value)
        except UndecodableEvent as error:
            return Decoded(offset, None, DeadLetter(partition, offset, key, value, str(error)))
        return Decoded(offset, event, None)

    def _fold(
        self, batch: Batch, parts: dict[int, DecodedPart]
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
