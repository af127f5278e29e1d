"""The transactional-outbox relay: publishes the event store's notification log to Kafka.

Stretch by stretch after its recorded position: encode (Avro single-object; in an encoder
process of its own by default, see ``relay_encoder``), produce (acks=all, idempotent),
wait until the broker acknowledged every message, then record the position; the next
stretches are read and encoded while the broker acknowledges the one before.
A crash or outage before the record sends the batch again: at least once, duplicates only
from an unrecorded batch, each with the event's stable id so readers can drop them. Keys
are challenge ids (a person's events: their aggregate id): one partition, in order.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, cast

from consumers.backoff import Backoff
from groundswell.app.application import GroundswellApplication
from groundswell.publish.encoder import (
    Encoder,
    EncodingUnavailable,
    LocalEncoder,
    Stretch,
    store_failures,
)
from groundswell.publish.positions import RelayPositions
from groundswell.settings import DEFAULT_TOPIC

log = logging.getLogger("groundswell.publish.relay")

DEFAULT_BATCH = 2_000
DEFAULT_PARTITIONS = 6
POLL_SECONDS = 0.02  # idle wait between polls of the log: the floor under command-to-Kafka latency

# For every relay (and the benchmark's bare producer). acks=all + idempotence: acknowledged
# means held by all in-sync replicas, and a retried request is never written twice nor out
# of order (so at most 5 in flight). Short timeouts: an outage fails a batch in seconds.
PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
    "compression_type": None,  # lz4 would need the lz4 package; events are small anyway
    "request_timeout_ms": 10_000,
    "delivery_timeout_ms": 20_000,
    "max_block_ms": 10_000,
    "bootstrap_timeout_ms": 5_000,
    "reconnect_backoff_max_ms": 2_000,
}


class Producer(Protocol):
    """What the relay needs of a Kafka producer (kafka-python's ``KafkaProducer``)."""

    def send(
        self, topic: str, *, value: bytes, key: bytes, headers: list[Any], partition: int
    ) -> Any: ...
    def partitions_for(self, topic: str) -> set[int]: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...


def _kafka_failures() -> tuple[type[Exception], ...]:
    """What a broker outage raises (kafka-python loads only when something failed)."""
    from kafka.errors import KafkaError

    return (KafkaError, OSError)


class PublishFailed(Exception):
    """The broker did not acknowledge a whole batch; nothing was recorded."""


class Relay:
    """Follows the engine's notification log and publishes it to one Kafka topic.

    ``producer_factory`` connects a producer (it may raise while Kafka is down);
    ``prepare`` runs once before the first producer connects (it creates the topic);
    ``encoder`` reads and encodes stretches of the log (default: in this process).
    """

    def __init__(
        self,
        engine: GroundswellApplication,
        positions: RelayPositions,
        producer_factory: Callable[[], Producer],
        topic: str,
        *,
        name: str = DEFAULT_TOPIC,
        servers: str = "Kafka",
        batch_size: int = DEFAULT_BATCH,
        flush_timeout: float = 30.0,
        backoff: Backoff | None = None,
        prepare: Callable[[], None] | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.engine = engine
        self.positions = positions
        self.producer_factory = producer_factory
        self.topic = topic
        self.name = name
        self.servers = servers
        self.batch_size = batch_size
        self.flush_timeout = flush_timeout
        self.backoff = backoff or Backoff()
        self.encoder = encoder or LocalEncoder(engine)
        self._prepare = prepare
        self._producer: Producer | None = None
        self._partition_count: int | None = None
        self._position = positions.load(name)
        self._offsets = positions.offsets(name)
        self._one_batch_at_a_time = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None  # why the relay thread stopped, if it did

    @property
    def position(self) -> int:
        """The last notification id the broker acknowledged and the store recorded."""
        return self._position

    def run_once(self) -> int:
        """Publish the next batch; returns how many events went out (0: nothing waiting).

        Raises :class:`PublishFailed` when Kafka did not acknowledge every message; the
        recorded position then stays where it was, so the next call sends the batch again.
        """
        return self._pump(most_batches=1)

    def catch_up(self) -> int:
        """Publish everything stored so far; returns how many events went out."""
        return self._pump()

    def _pump(self, most_batches: int | None = None, stop: threading.Event | None = None) -> int:
        """Publish stretch after stretch while events wait, one in flight: the encoder
        reads the next ones while the broker acknowledges the one before. A position is
        recorded only once its stretch, and so every one before it, was acknowledged."""
        with self._one_batch_at_a_time:
            published, batches = 0, 0
            start, head = self._position + 1, self.engine.last_position
            reading: deque[Future[Stretch]] = deque()
            in_flight: tuple[list[Any], int] | None = None
            try:
                while True:
                    while (
                        start <= head
                        and len(reading) < self.encoder.ahead
                        and may_read(most_batches, batches + len(reading), stop)
                    ):
                        end = min(start + self.batch_size - 1, head)
                        reading.append(self.encoder.submit(start, end, self._partitions()))
                        start = end + 1
                    if not reading:
                        if in_flight is not None:
                            published += self._acknowledged(*in_flight)
                            in_flight = None
                        if not may_read(most_batches, batches, stop):
                            return published
                        head = self.engine.last_position
                        if head < start:
                            return published
                        continue
                    stretch = self.encoder.result(reading.popleft())
                    sending = (self._send(stretch), stretch.last)
                    batches += 1
                    if in_flight is not None:
                        published += self._acknowledged(*in_flight)
                    in_flight = sending
            finally:
                for waiting in reading:  # stretches read ahead of a failure: read again
                    waiting.cancel()

    def _acknowledged(self, futures: list[Any], last: int) -> int:
        """Wait for a batch's acknowledgements, then record its position (and offsets)."""
        offsets = dict(self._offsets)
        try:
            deadline = time.monotonic() + self.flush_timeout
            for future in futures:
                sent = future.get(timeout=max(deadline - time.monotonic(), 0.001))
                offsets[sent.partition] = max(offsets.get(sent.partition, 0), sent.offset + 1)
        except _kafka_failures() as error:
            # A failed producer may hold half-sent batches: a fresh one resends them cleanly.
            self._discard_producer(timeout=0)
            raise PublishFailed(f"{len(futures)} events not acknowledged: {error}") from error
        self.positions.save(self.name, last, offsets)
        self._position, self._offsets = last, offsets
        return len(futures)

    def run_forever(self, stop: threading.Event) -> None:
        """Publish batch after batch until ``stop`` is set; wait out Kafka outages.

        While Kafka is unreachable, the relay retries with exponential backoff and says
        so in the log; the store keeps accepting commands meanwhile, and the relay
        resumes from its recorded position when Kafka answers again.
        """
        down_since: float | None = None
        unreadable: tuple[type[Exception], ...] = (*store_failures(), EncodingUnavailable)
        while not stop.is_set():
            try:
                sent = self._pump(stop=stop)
            except unreadable as failure:
                # The database restarting, or the encoder process gone: nothing recorded,
                # so the stretch goes out again.
                delay = self.backoff.next_delay()
                what = (
                    f"could not read the events ({failure})"
                    if isinstance(failure, EncodingUnavailable)
                    else f"the event store is unreachable ({type(failure).__name__}: "
                    f"{str(failure).strip()})"
                )
                log.warning(f"relay: {what}; retrying in {delay:.1f} s")
                stop.wait(delay)
                continue
            except PublishFailed as failure:
                down_since = down_since or time.monotonic()
                delay, cause = self.backoff.next_delay(), type(failure.__cause__).__name__
                waiting = self.engine.last_position - self._position
                log.warning(
                    f"relay: Kafka unreachable at {self.servers} ({cause}); "
                    f"retrying in {delay:.1f} s; {waiting} events waiting"
                )
                stop.wait(delay)
                continue
            self.backoff.attempts = 0
            if down_since is not None:
                outage, down_since = time.monotonic() - down_since, None
                log.warning(f"relay: Kafka at {self.servers} is back after {outage:.1f} s")
            if sent:
                log.info(f"relay: published {sent}; caught up at {self._position}")
            stop.wait(POLL_SECONDS)

    def start_in_thread(self) -> threading.Thread:
        """Run the relay beside the engine, in a daemon thread; :meth:`stop` ends it."""
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run_in_thread, name="groundswell-relay", daemon=True
        )
        self._thread.start()
        return self._thread

    def wait_until(self, position: int, timeout: float = 10.0) -> bool:
        """Wait until the broker acknowledged everything up to ``position``."""
        deadline = time.monotonic() + timeout
        while self._position < position:
            if time.monotonic() >= deadline or self.error is not None:
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Let the relay thread finish its batch and end."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """Stop, and release the producer and the position store."""
        self.stop()
        self._discard_producer(timeout=5.0)
        self.encoder.close()
        self.positions.close()

    def _send(self, stretch: Stretch) -> list[Any]:
        """Hand a stretch to the producer; its futures say when each message was
        acknowledged."""
        try:
            producer = self._connected()
            return [
                producer.send(self.topic, value=value, key=key, headers=headers, partition=p)
                for (key, value, headers), p in zip(
                    stretch.messages, stretch.partitions, strict=True
                )
            ]
        except _kafka_failures() as error:
            self._discard_producer(timeout=0)
            raise PublishFailed(f"{len(stretch.messages)} events not sent: {error}") from error

    def _partitions(self) -> int:
        """How many partitions the topic has (asked of the broker once per producer)."""
        if self._partition_count is None:
            try:
                self._partition_count = len(self._connected().partitions_for(self.topic))
            except _kafka_failures() as error:
                self._discard_producer(timeout=0)
                raise PublishFailed(f"the topic's partitions are unknown: {error}") from error
        return self._partition_count

    def _connected(self) -> Producer:
        if self._producer is None:
            if self._prepare is not None:
                self._prepare()
                self._prepare = None
            self._producer = self.producer_factory()
        return self._producer

    def _discard_producer(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        self._partition_count = None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout)
        except _kafka_failures():
            # kafka-python flushes before it closes, and a hung broker never answers; so
            # abort what it holds (never recorded as published, so nothing is lost).
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                sender.force_close()
            with contextlib.suppress(*_kafka_failures()):
                producer.close(timeout=1.0)

    def _run_in_thread(self) -> None:
        try:
            self.run_forever(self._stopping)
        except BaseException as error:
            self.error = error
            log.exception("relay: stopped by an error it cannot retry; restart it")


def may_read(most_batches: int | None, batches: int, stop: threading.Event | None) -> bool:
    """Whether the pump may read another stretch, having read ``batches``."""
    return (most_batches is None or batches < most_batches) and not (stop and stop.is_set())


def kafka_producer(servers: str, **overrides: Any) -> Producer:
    """A kafka-python producer with the relay's settings (``overrides`` win)."""
    from kafka import KafkaProducer  # here: every CLI command imports this module

    settings = {**PRODUCER_SETTINGS, "client_id": "groundswell-relay", **overrides}
    return cast(Producer, KafkaProducer(bootstrap_servers=servers, **settings))


def ensure_topic(servers: str, topic: str, partitions: int = DEFAULT_PARTITIONS) -> None:
    """Create ``topic`` unless it exists (replicas: the broker's default). Its partition
    count must never change: it decides where, so in which order, a challenge's events go."""
    from kafka import KafkaAdminClient
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=servers, bootstrap_timeout_ms=5_000)
    try:
        new = {topic: {"num_partitions": partitions, "replication_factor": -1}}
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(new, wait_for_metadata=True)
    finally:
        admin.close()
