"""A projection's topic, polled batch by batch and sorted down to the messages it reads.

kafka-python unpacks every record in pure Python: reading a topic costs a consumer about
as much CPU as a projection spends folding the events it reads and committing its rows.
In one interpreter the two take turns under the GIL, so by default the reading runs in a
process of its own (:class:`ProcessFeed`) that polls ahead while the projector folds the
batch before; :class:`LocalFeed` reads in the projector's own process.

Either way the consumer group member, its seeks and its assignment live with the feed,
and the projector's rules hold unchanged: on every assignment (and on :meth:`rewind`)
each partition is read again from the offset stored with the rows, and the projector
passes over any message below the stored offset, so a batch polled ahead that turns out
stale is redelivery, never a gap.

Over 400 lines on purpose: the in-process feed, the process feed and the order protocol
between them keep one contract (where reading starts, what a rewind drops), read together.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from consumers.ports import OpenOffsetsReader
from schemas.codec import MAGIC

log = logging.getLogger(__name__)

BATCH = 2_000
Kept = tuple[int, bytes | None, bytes | None]  # offset, key, value
StoredOffsets = Callable[[], dict[int, int]]  # next offset per partition, stored with the rows
STOP_SECONDS = 10.0  # leaving the group politely; then the process is killed
# A member that has not settled into its group for this long is taken to be stuck and is
# replaced by a new one. kafka-python 3.0 was seen, on a loaded 2-core host, to leave a
# group leader between "performing partition assignments" and its SyncGroup for minutes,
# reading nothing; a healthy rebalance of a feed (which polls all the time) takes seconds.
STUCK_SECONDS = 60.0
STABLE = "<stable>"  # kafka.structs.MemberState.STABLE
APP_PACKAGES = frozenset({"consumers", "domain", "groundswell", "projections", "schemas"})


class FeedLost(KafkaError):
    """The feed's process ended; the next :meth:`Feed.rewind` starts another."""

    retriable = True


class MemberStuck(KafkaError):
    """The feed's consumer has not settled into its group for :data:`STUCK_SECONDS`; the
    next :meth:`Feed.rewind` joins with a new consumer."""

    retriable = True


@dataclass(frozen=True)
class Interest:
    """Which messages a projection reads, by their schemas' fingerprints: the rest are
    checked for the single-object marker and a known fingerprint, never decoded."""

    known: frozenset[bytes]
    wanted: frozenset[bytes]

    def keeps(self, value: bytes | None) -> bool:
        """Whether the projector must look at ``value``: an event it reads, or one it
        cannot decode (which it must stop on or set aside, never pass over)."""
        return not (
            value is not None
            and value[:2] == MAGIC
            and (fingerprint := value[2:10]) in self.known
            and fingerprint not in self.wanted
        )


@dataclass(frozen=True)
class Part:
    """One partition's share of a batch: the messages kept, and the offset after its last
    message (kept or not)."""

    kept: list[Kept]
    end: int


@dataclass(frozen=True)
class Polled:
    """One poll: its parts by partition and how many messages it read in all."""

    parts: dict[int, Part]
    consumed: int
    epoch: int = 0  # which rewind it was read after (a process feed drops older ones)


def sort(polled: Mapping[TopicPartition, Any], interest: Interest, epoch: int = 0) -> Polled:
    """A poll's records, sorted down to what the projector must look at."""
    keeps = interest.keeps
    parts = {
        tp.partition: Part(
            [(r.offset, r.key, r.value) for r in records if keeps(r.value)],
            records[-1].offset + 1,
        )
        for tp, records in polled.items()
        if records
    }
    return Polled(parts, sum(len(records) for records in polled.values()), epoch)


class Feed(Protocol):
    """What a :class:`~consumers.kafka_projector.KafkaProjector` reads its topic through."""

    assigned: set[int]

    def join(self) -> None:
        """Join the consumer group (each assignment seeks to the stored offsets)."""

    def poll(self, timeout_ms: int) -> Polled | None:
        """The next batch, or None when none came within ``timeout_ms``."""

    def rewind(self) -> None:
        """Read every assigned partition again from its stored offset; nothing polled
        before comes out of :meth:`poll` after this."""

    def report(self, offsets: dict[int, int]) -> None:
        """Tell Kafka the offsets the projector stored (lag monitoring only)."""

    def close(self) -> None:
        """Leave the group."""


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


class LocalFeed:
    """Reads the topic in the calling process."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topic: str,
        stored: StoredOffsets,
        interest: Interest,
        *,
        name: str = "",
        batch: int = BATCH,
        renew: Callable[[], KafkaConsumer] | None = None,
        stuck_after: float = STUCK_SECONDS,
    ) -> None:
        self.consumer = consumer
        self.topic = topic
        self.stored = stored
        self.interest = interest
        self.name = name or topic
        self.batch = batch
        self.renew = renew  # a new consumer for a stuck one (else the feed's owner replaces it)
        self.stuck_after = stuck_after
        self.assigned: set[int] = set()
        self.epoch = 0
        self.unsought: Exception | None = None  # why assigned partitions were not sought
        self.stuck = False
        self._unsettled_since: float | None = None

    def join(self) -> None:
        self._learn_partitions()
        self.consumer.subscribe([self.topic], listener=_SeekToStored(self))

    def _learn_partitions(self, seconds: float = 10.0) -> None:
        """Know the topic's partitions before joining the group: a group leader that does
        not know them yet assigns nothing ("No partition metadata for topic") and, on a
        busy host, the rebalance that should follow the next metadata refresh was seen
        not to come for minutes. A topic that does not exist yet (or a broker that is down:
        the projector waits that out) is waited for briefly."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.consumer.partitions_for_topic(self.topic):
                    return
            except KafkaError:
                pass
            time.sleep(0.2)
        log.warning("%s: topic %s has no partitions yet; joining anyway", self.name, self.topic)

    def poll(self, timeout_ms: int) -> Polled | None:
        polled = self.consumer.poll(timeout_ms=timeout_ms, max_records=self.batch)
        if self.unsought is not None:
            # Partitions were assigned without their stored offsets: what was read from
            # them came from the wrong place. Nothing is handed over until a rewind.
            raise self.unsought
        self._watch_membership()
        return sort(polled, self.interest, self.epoch) if polled else None

    def _watch_membership(self) -> None:
        """Raise :class:`MemberStuck` when the consumer has been joining its group, without
        settling, for longer than ``stuck_after`` seconds."""
        state = getattr(self.consumer.group_metadata(), "state", STABLE)
        if state == STABLE:
            self._unsettled_since = None
            return
        now = time.monotonic()
        if self._unsettled_since is None:
            self._unsettled_since = now
        elif now - self._unsettled_since > self.stuck_after:
            self.stuck = True
            raise MemberStuck(
                f"{self.name}: not settled into group {self.consumer.config['group_id']} "
                f"after {now - self._unsettled_since:.0f} s ({state}); joining afresh"
            )

    def rewind(self) -> None:
        if self.stuck and self.renew is not None:
            self._rejoin(self.renew())
            return
        self.seek_to_stored(self.consumer.assignment())
        self.unsought = None

    def _rejoin(self, consumer: KafkaConsumer) -> None:
        """Leave the group with the stuck consumer and join it with ``consumer``."""
        with contextlib.suppress(KafkaError):
            self.consumer.close(autocommit=False)
        self.consumer, self.assigned, self.unsought = consumer, set(), None
        self.stuck, self._unsettled_since = False, None
        self.join()

    def seek_to_stored(self, partitions: Any) -> None:
        stored = self.stored()
        for tp in partitions:
            if tp.partition in stored:
                self.consumer.seek(tp, stored[tp.partition])
            else:
                self.consumer.seek_to_beginning(tp)
            self.assigned.add(tp.partition)
        log.info("%s: assigned %s, from stored offsets %s", self.name, sorted(partitions), stored)

    def report(self, offsets: dict[int, int]) -> None:
        if offsets:
            self.consumer.commit_async(
                {
                    TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1)
                    for p, o in offsets.items()
                }
            )

    def close(self) -> None:
        self.consumer.close(autocommit=False)


class _SeekToStored(ConsumerRebalanceListener):
    """On every assignment, seek each partition to the offset stored with the rows."""

    def __init__(self, feed: LocalFeed) -> None:
        self.feed = feed

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Nothing to save: each batch commits its offsets with its rows.
        self.feed.assigned -= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            self.feed.seek_to_stored(assigned)
        except Exception as error:
            # The database restarting, say. Raised here, kafka-python would end the
            # projection ("rebalance callback throws an error"); instead the next poll
            # raises it, and the projector rewinds once the database is back.
            self.feed.unsought = error
            self.feed.assigned |= {tp.partition for tp in assigned}


@dataclass(frozen=True)
class FeedSpec:
    """Everything a feed process needs to build its :class:`LocalFeed` (picklable)."""

    servers: str
    group_id: str
    topic: str
    projection: str
    database_url: str
    schema: str | None
    interest: Interest
    open_stored: OpenOffsetsReader  # the stored offsets' reader, opened in the feed process
    batch: int = BATCH
    instance_id: str | None = None


class ProcessFeed:
    """Reads the topic in a process of its own, ahead of the projector by what the pipe
    holds (a batch or two).

    Orders go down one pipe (rewind, report, stop) and batches come up another. Each
    rewind gets a new epoch; batches polled before it are dropped when they arrive. The
    process leaves when told to, or when the projector's process is gone (its pipe ends),
    so a projector killed outright does not leave a consumer holding its partitions.
    """

    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.name = spec.projection
        self.assigned: set[int] = set()
        self.epoch = 0
        self.exitcode: int | None = None  # how the last feed process closed ended
        self._process: Any = None
        self._orders: Connection | None = None
        self._batches: Connection | None = None

    def join(self) -> None:
        self._start()

    def _start(self) -> None:
        # Forked from a server that has imported the feed's modules once: a fresh
        # interpreter per feed would take half a second to start; a plain fork would copy
        # a process whose other threads may hold locks.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload(self.spec))
        batches, their_batches = context.Pipe(duplex=False)
        their_orders, orders = context.Pipe(duplex=False)
        process = context.Process(
            target=_serve,
            args=(self.spec, their_orders, their_batches, self.epoch),
            name=f"groundswell-feed-{self.spec.projection}",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            for conn in (batches, their_batches, their_orders, orders):
                conn.close()
            raise
        self._process = process
        # Only the feed process holds these ends now: when it dies, reading says so.
        their_batches.close()
        their_orders.close()
        self._orders, self._batches = orders, batches
        self.assigned = set()

    def poll(self, timeout_ms: int) -> Polled | None:
        deadline = time.monotonic() + timeout_ms / 1000
        batches = self._batches
        assert batches is not None, "join() first"
        while True:
            try:
                if not batches.poll(max(0.0, deadline - time.monotonic())):
                    if not self._process.is_alive():
                        raise EOFError
                    return None
                kind, *rest = batches.recv()
            except (EOFError, OSError) as error:
                raise FeedLost(f"the feed process for {self.name} ended") from error
            except Exception as error:  # a message that would not unpickle: start afresh
                self._end()
                raise FeedLost(f"the feed process for {self.name} sent {error!r}") from error
            if kind == "polled":
                if rest[0].epoch == self.epoch:
                    return rest[0]  # type: ignore[no-any-return]
            elif kind == "assigned":
                self.assigned = set(rest[0])
                log.info(
                    "%s: assigned %s, from stored offsets %s", self.name, sorted(rest[0]), rest[1]
                )
            elif kind == "error" and rest[0] == self.epoch:
                if isinstance(rest[1], MemberStuck):
                    self.close()  # the process is leaving; the rewind starts a new member
                raise rest[1]

    def rewind(self) -> None:
        self.epoch += 1
        if self._process is None or not self._process.is_alive():
            self._end()
            self._start()  # a new member seeks to the stored offsets when assigned
        else:
            self._send(("rewind", self.epoch))

    def report(self, offsets: dict[int, int]) -> None:
        # Only for lag monitoring: a feed process gone is noticed by the next poll, and
        # must not hide what the batch just committed raises (a poison message).
        if offsets:
            with contextlib.suppress(FeedLost):
                self._send(("report", offsets))

    def _send(self, order: tuple[Any, ...]) -> None:
        if self._orders is None:
            raise FeedLost(f"the feed process for {self.name} is not running")
        try:
            self._orders.send(order)
        except OSError as error:
            raise FeedLost(f"the feed process for {self.name} ended") from error

    def close(self) -> None:
        if self._process is None:
            return
        try:
            with contextlib.suppress(FeedLost):
                self._send(("stop",))
            # Reading no more: a feed process waiting to hand over a batch gets a broken
            # pipe and leaves the group the same way as on the order.
            if self._batches is not None:
                self._batches.close()
                self._batches = None
            self._process.join(STOP_SECONDS)
            self.exitcode = self._process.exitcode
        finally:
            self._end()

    def _end(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process.close()
            self._process = None
        for conn in (self._orders, self._batches):
            if conn is not None:
                conn.close()
        self._orders = self._batches = None

    @property
    def pid(self) -> int | None:
        """The feed process's id, while it runs."""
        return self._process.pid if self._process is not None else None


def _preload(spec: FeedSpec) -> list[str]:
    """The modules the fork server imports once: the feed's, and the app's modules this
    process has loaded. Every child runs the main module again (multiprocessing's rule for
    ``python -m`` and scripts), and the server's ``__main__`` preload never happens
    (CPython 3.11 looks for a ``main_path`` its preparation data calls
    ``init_main_from_path``): without the main's imports loaded in the server, a child
    took 0.3 s to start."""
    names = {__name__, spec.open_stored.__module__}
    names.update(name for name in list(sys.modules) if name.partition(".")[0] in APP_PACKAGES)
    # A package's __main__ (python -m groundswell) would run its program in the server.
    return sorted(name for name in names if not name.endswith("__main__"))


def _portable(error: Exception) -> Exception:
    """``error`` if it survives the pipe, else one of the kind the projector tells apart
    (a database error it waits out, a Kafka error as retriable as this one), with its
    message: an error that cannot be pickled would end the feed process instead."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = f"{type(error).__name__}: {error}"
        if isinstance(error, psycopg.OperationalError):
            return psycopg.OperationalError(text)
        if isinstance(error, KafkaError):
            stand_in = KafkaError(text)
            stand_in.retriable = error.retriable  # type: ignore[misc]
            return stand_in
        return RuntimeError(text)


def _serve(spec: FeedSpec, orders: Connection, batches: Connection, epoch: int) -> None:
    """The feed process: poll, sort and hand over batches; obey orders between polls.
    Whatever ends it otherwise is sent to the projector first, to be raised there."""
    # Signals to the whole process group (Ctrl-C, a supervisor's SIGTERM) reach the
    # projector too; it tells us to stop, after leaving the group in good order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    feed: LocalFeed | None = None
    stored: Any = None
    try:
        stored = spec.open_stored(spec.database_url, spec.schema, spec.projection, spec.topic)
        consumer = kafka_consumer(spec.servers, spec.group_id, spec.batch, spec.instance_id)
        feed = LocalFeed(
            consumer, spec.topic, stored, spec.interest, name=spec.projection, batch=spec.batch
        )
        feed.epoch = epoch
        _feed(feed, stored, orders, batches)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the projector is gone, or closed its end: leave without a word
    except Exception as error:
        with contextlib.suppress(OSError):
            batches.send(("error", feed.epoch if feed else epoch, _portable(error)))
    finally:
        if feed is not None:
            feed.close()
        if stored is not None:
            stored.close()


def _feed(feed: LocalFeed, stored: Any, orders: Connection, batches: Connection) -> None:
    told: set[int] = set()
    failed = False  # after an error, wait for the projector's rewind
    feed.join()
    while True:
        while orders.poll(0 if not failed else 0.2):
            kind, *rest = orders.recv()
            if kind == "stop":
                return
            if kind == "report":
                feed.report(rest[0])
            elif kind == "rewind":
                feed.epoch, failed = rest[0], False
                try:
                    feed.rewind()
                except Exception as error:
                    batches.send(("error", feed.epoch, _portable(error)))
                    failed = True
        if failed:
            continue
        try:
            polled = feed.poll(200)
        except MemberStuck as error:
            batches.send(("error", feed.epoch, _portable(error)))
            return  # leave the group; the projector starts a new feed process
        except Exception as error:
            batches.send(("error", feed.epoch, _portable(error)))
            failed = True
            continue
        if feed.assigned != told:
            told = set(feed.assigned)
            batches.send(("assigned", frozenset(told), stored.last))
        if polled is not None:
            batches.send(("polled", polled))
