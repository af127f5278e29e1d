"""Stretches of the notification log turned into Kafka messages, for the relay.

Reading, decoding and Avro-encoding an event costs about as much Python CPU as
kafka-python's ``send`` of it; in one interpreter the two take turns under the GIL. So
by default the relay hands this work to an encoder process of its own
(:class:`ProcessEncoder`), which reads the same store and sends back finished messages
while the relay's process only sends; :class:`LocalEncoder` does it in the relay's process
(stores another process cannot open, e.g. in-memory SQLite, or when asked to).

A stretch is a range of notification ids ``start..stop`` (both included), read with
``stop`` rather than with a count, so the relay can ask for the next stretches before the
one before arrives. It may only ask up to the log's current last id: ids at or below it
are committed or gone for good (the stores insert under a table lock, in id order).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import fastavro

Message = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, Avro body, headers

# How often an encoder process checks that the relay that started it still runs: a relay
# killed outright (SIGKILL) cannot stop it, and it must not linger holding connections.
PARENT_CHECK_SECONDS = 0.5


class EncodingUnavailable(Exception):
    """A stretch could not be read or encoded now (the store restarting, the encoder
    process gone); nothing was sent, so the relay tries the stretch again later."""


@dataclass(frozen=True)
class Stretch:
    """The messages of the events with ids ``start..last``, in id order, and the
    partition each goes to."""

    last: int
    messages: list[Message]
    partitions: list[int]


class Partitions:
    """Which of a topic's ``count`` partitions a key goes to: the partition kafka-python's
    default partitioner (and Java's) would choose, murmur2 of the key. Worked out here, in
    the encoder, and remembered per key (a challenge's events share one): in pure Python
    murmur2 costs the producer's process as much as the rest of ``send``."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("a topic has at least one partition")
        self.count = count
        self._known: dict[bytes, int] = {}

    def of(self, key: bytes) -> int:
        found = self._known.get(key)
        if found is None:
            from kafka.partitioner.default import murmur2

            found = self._known[key] = (murmur2(key) & 0x7FFFFFFF) % self.count
        return found


class MessageEncoder:
    """One domain event → its Kafka message: key, Avro single-object body, headers."""

    def __init__(self) -> None:
        from domain.catalog import EVENT_CLASSES  # here: every CLI command imports the relay
        from schemas.codec import EventCodec

        self.codec = EventCodec(EVENT_CLASSES)
        self._type_headers: dict[type, list[tuple[str, bytes]]] = {}

    def message(self, event: Any) -> Message:
        kind = type(event)
        event_type, fingerprint = self.type_headers(kind)
        headers = [event_type, ("event_id", str(event.event_id).encode()), fingerprint]
        key = str(event.challenge_id or event.originator_id).encode()
        return key, self.codec.encode(event), headers

    def type_headers(self, kind: type) -> list[tuple[str, bytes]]:
        """The headers every event of one class carries: its type and its fingerprint."""
        fixed = self._type_headers.get(kind)
        if fixed is None:
            fingerprint = self.codec.current[kind.__qualname__].fingerprint
            fixed = self._type_headers[kind] = [
                ("event_type", kind.__qualname__.encode()),
                ("fingerprint", fingerprint.hex().encode()),
            ]
        return fixed


class Unfamiliar(Exception):
    """A stored value the shortcut does not know how to write."""


def _plain(value: dict[str, Any]) -> Any:
    """JSON object hook: the library's encoded UUIDs and datetimes as the codec writes
    them (a UUID as its canonical text); any other encoded type is left to the mapper."""
    if len(value) != 2 or "_type_" not in value or "_data_" not in value:
        return value
    kind, data = value["_type_"], value["_data_"]
    if kind == "uuid_hex" and len(data) == 32:
        return f"{data[:8]}-{data[8:12]}-{data[12:16]}-{data[16:20]}-{data[20:]}"
    if kind == "datetime_iso":
        return datetime.fromisoformat(data)
    raise Unfamiliar(kind)


@dataclass(frozen=True)
class _Kind:
    name: str
    fields: tuple[str, ...]
    writer: Any
    prefix: bytes  # C3 01 + fingerprint
    headers: list[tuple[str, bytes]]


class StoredMessages:
    """A stored event → the very message :class:`MessageEncoder` makes of its domain
    event, without making the domain event: reading the JSON state straight into the
    Avro record halves the relay's CPU per event. A state it cannot read that way (an
    unknown encoded type, a field missing, a cipher or compressor) takes the long way.
    """

    def __init__(self, mapper: Any, encoder: MessageEncoder) -> None:
        from eventsourcing.persistence import JSONTranscoder

        self.mapper, self.encoder = mapper, encoder
        self.shortcut = (
            isinstance(mapper.transcoder, JSONTranscoder)
            and mapper.cipher is None
            and mapper.compressor is None
        )
        self._decode = json.JSONDecoder(object_hook=_plain).decode
        self._kinds: dict[str, _Kind] = {}

    def message(self, stored: Any) -> Message:
        if self.shortcut:
            with contextlib.suppress(Unfamiliar, KeyError, ValueError, TypeError):
                return self.direct(stored)
        return self.encoder.message(self.mapper.to_domain_event(stored))

    def direct(self, stored: Any) -> Message:
        """The message, read straight from the stored state (raises :class:`Unfamiliar`,
        ``KeyError`` or ``ValueError`` when it cannot be)."""
        kind = self._kinds.get(stored.topic) or self._kind(stored.topic)
        state = self._decode(stored.state.decode("utf8"))
        aggregate_id = str(stored.originator_id)
        challenge_id = state["challenge_id"]
        record = {
            "event_id": state["event_id"],
            "event_type": kind.name,
            "aggregate_id": aggregate_id,
            "aggregate_version": stored.originator_version,
            "challenge_id": challenge_id,
            "actor": state["actor"],
            "occurred_at": state["timestamp"],
        }
        for name in kind.fields:
            record[name] = state[name]
        body = io.BytesIO()
        body.write(kind.prefix)
        fastavro.schemaless_writer(body, kind.writer, record)
        headers = [kind.headers[0], ("event_id", record["event_id"].encode()), kind.headers[1]]
        return (challenge_id or aggregate_id).encode(), body.getvalue(), headers

    def _kind(self, topic: str) -> _Kind:
        from eventsourcing.utils import resolve_topic

        from schemas.codec import MAGIC
        from schemas.envelope import event_fields

        cls = resolve_topic(topic)
        schema = self.encoder.codec.current[cls.__qualname__]
        kind = _Kind(
            cls.__qualname__,
            tuple(event_fields(cls)),
            schema.writer,
            MAGIC + schema.fingerprint,
            self.encoder.type_headers(cls),
        )
        self._kinds[topic] = kind
        return kind


class StoreReader(Protocol):
    """What a stretch is read from: the engine's recorder and mapper."""

    recorder: Any
    mapper: Any


@functools.cache
def partitions_of(count: int) -> Partitions:
    """One :class:`Partitions` per partition count, for the life of the process."""
    return Partitions(count)


def read_stretch(
    store: StoreReader, messages: StoredMessages, partitions: int, start: int, stop: int
) -> Stretch:
    notifications = store.recorder.select_notifications(
        start=start, limit=stop - start + 1, stop=stop
    )
    encoded = [messages.message(n) for n in notifications]
    chosen = partitions_of(partitions)
    return Stretch(stop, encoded, [chosen.of(key) for key, _, _ in encoded])


class Encoder(Protocol):
    """Encodes stretches for a topic of ``partitions``, perhaps ahead of the relay:
    ``ahead`` may be asked at once."""

    ahead: int

    def submit(self, start: int, stop: int, partitions: int) -> Future[Stretch]: ...
    def result(self, stretch: Future[Stretch]) -> Stretch: ...
    def close(self) -> None: ...


class LocalEncoder:
    """Encodes in the relay's own process, when asked (nothing ahead)."""

    ahead = 1

    def __init__(self, store: StoreReader, encoder: MessageEncoder | None = None) -> None:
        self.store = store
        self.messages = StoredMessages(store.mapper, encoder or MessageEncoder())

    def submit(self, start: int, stop: int, partitions: int) -> Future[Stretch]:
        done: Future[Stretch] = Future()
        try:
            done.set_result(read_stretch(self.store, self.messages, partitions, start, stop))
        except BaseException as error:
            done.set_exception(error)
        return done

    def result(self, stretch: Future[Stretch]) -> Stretch:
        return stretch.result()

    def close(self) -> None:
        pass


class ProcessEncoder:
    """Encodes in ``processes`` processes of its own (spawned, each opening the store as
    the engine's class with the engine's settings: the same tables), asked
    ``processes + 1`` stretches ahead of the relay."""

    def __init__(self, engine: Any, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError("an encoder needs at least one process")
        self.application, self.env = type(engine), dict(engine.env)
        self.processes = processes
        self.ahead = processes + 1
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the processes and wait until each opened the store (about a second):
        a relay starts with its encoder ready."""
        if self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_store,
            initargs=(self.application, self.env, os.getpid()),
        )
        try:
            for ready in [self._pool.submit(_ready) for _ in range(self.processes)]:
                ready.result(timeout=120)
        except BaseException:
            self.close()
            raise

    def submit(self, start: int, stop: int, partitions: int) -> Future[Stretch]:
        try:
            self.start()
            assert self._pool is not None
            return self._pool.submit(_encode_stretch, start, stop, partitions)
        except BrokenProcessPool as error:
            self.close()  # the next submit starts fresh processes
            raise EncodingUnavailable(f"the encoder process ended: {error}") from error

    def result(self, stretch: Future[Stretch]) -> Stretch:
        """A submitted stretch's messages (a dead encoder process is replaced next time)."""
        while True:
            try:
                return stretch.result(timeout=0.5)
            except BrokenProcessPool as error:
                self.close()
                raise EncodingUnavailable(f"the encoder process ended: {error}") from error
            except TimeoutError:
                # The executor usually fails a killed process's stretches itself, but not
                # always: a process killed at the wrong moment once left this wait forever
                # (CI, a SIGKILLed encoder). So look at the processes too.
                ended = [p.exitcode for p in self._processes() if p.exitcode is not None]
                if ended:
                    self.close()
                    raise EncodingUnavailable(
                        f"the encoder process ended (exit code {ended[0]})"
                    ) from None

    def _processes(self, pool: ProcessPoolExecutor | None = None) -> list[Any]:
        pool = pool or self._pool
        return [] if pool is None else list((getattr(pool, "_processes", None) or {}).values())

    def pids(self) -> list[int]:
        """The encoder processes' ids (tests kill them)."""
        return [p.pid for p in self._processes()]

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = self._processes(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a stretch half-read is worth nothing: end at once
            with contextlib.suppress(Exception):
                process.kill()
                process.join(5)


# -- inside an encoder process ------------------------------------------------------------

_store: tuple[StoreReader, StoredMessages] | None = None


def _open_store(application: type, env: dict[str, str], parent: int) -> None:
    global _store
    threading.Thread(target=_end_with, args=(parent,), name="parent-watch", daemon=True).start()
    engine = application(env=env)
    _store = (engine, StoredMessages(engine.mapper, MessageEncoder()))


def _end_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def store_failures() -> tuple[type[Exception], ...]:
    """What a database restart raises: the store's reads (the library wraps them after its
    own retries) and the positions' writes (psycopg, on PostgreSQL only)."""
    from eventsourcing.persistence import InterfaceError, OperationalError

    failures: tuple[type[Exception], ...] = (InterfaceError, OperationalError)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - an install without PostgreSQL
        return failures
    return (*failures, psycopg.OperationalError)


def _encode_stretch(start: int, stop: int, partitions: int) -> Stretch:
    assert _store is not None, "the encoder process opened no store"
    try:
        return read_stretch(*_store, partitions, start, stop)
    except store_failures() as failure:
        # The library's and psycopg's errors do not all survive pickling: say it in words.
        raise EncodingUnavailable(f"{type(failure).__name__}: {str(failure).strip()}") from None
