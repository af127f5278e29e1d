"""The read side as the API sees it: a projection's rows, caught up to what the caller wrote."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

from groundswell.audit.replay import Comparison, compare, live_kafka_models, live_models
from groundswell.audit.sources import KafkaSource, as_source
from groundswell.http.problems import ApiProblem
from groundswell.reads.read_models import ReadModels
from projections.rows import Rows

if TYPE_CHECKING:
    from groundswell.publish.positions import RelayPositions
    from groundswell.readstore.postgres_kafka import KafkaReadModelStore

WAIT_SECONDS = 2.0


class ReadSide(Protocol):
    def reading(self, name: str, at_least: int = 0) -> AbstractContextManager[Rows]:
        """The rows of projection ``name``, including at least position ``at_least``."""
        ...

    def position(self) -> int: ...

    def caught_up(self, name: str, at_least: int = 0) -> None:
        """Wait until projection ``name``'s stored rows include ``at_least`` (0: as far as
        this read side goes), without reading them (search queries the store itself)."""
        ...

    def compare(self, names: Sequence[str] | None = None) -> Comparison:
        """Replay from zero and diff with the live read models (for auditors)."""
        ...

    def close(self) -> None: ...


def not_caught_up(at_least: int, position: int) -> ApiProblem:
    return ApiProblem(
        503,
        "not-caught-up",
        f"the read models are at position {position}, not yet at {at_least}; "
        "try again in a moment.",
        field="at_least",
        headers={"Retry-After": "1"},
    )


def require_stored(at_least: int, latest: int) -> None:
    """A position the store never handed out will never be reached: say so at once."""
    if at_least > latest:
        raise ApiProblem(
            422,
            "invalid-input",
            f"at_least {at_least} is beyond the last stored event ({latest}); pass the "
            "position a command answered.",
            field="at_least",
        )


class EmbeddedReadSide:
    """Projections fed in-process from the engine's notification log (embedded mode).

    One lock around catching up and reading: the projector mutates rows in place, so a
    read never sees half of a batch. A write's events are in the log when its command
    returns, so catching up always reaches a position the caller was given.
    """

    def __init__(self, read_models: ReadModels, wait_seconds: float = WAIT_SECONDS) -> None:
        self._models = read_models
        self._wait = wait_seconds
        self._lock = threading.Lock()

    @contextmanager
    def reading(self, name: str, at_least: int = 0) -> Iterator[Rows]:
        follower = self._models.follower
        if at_least:
            require_stored(at_least, follower.app.last_position)
        deadline = time.monotonic() + self._wait
        while True:
            # The lock is held only to catch up and read, never while waiting.
            with self._lock:
                follower.catch_up()
                if follower.projector.position >= at_least:
                    yield self._models.projector.rows[name]
                    return
            if time.monotonic() >= deadline:
                raise not_caught_up(at_least, follower.projector.position)
            time.sleep(0.01)

    def position(self) -> int:
        return self._models.projector.position

    def caught_up(self, name: str, at_least: int = 0) -> None:
        # Catching up writes each batch's rows (and so the search index) before it returns.
        with self.reading(name, at_least):
            pass

    def compare(self, names: Sequence[str] | None = None) -> Comparison:
        """Replay the named projections from the store and diff them with these read models
        (as stored: loaded under the lock, so no batch is half applied)."""
        with self._lock:
            live = live_models(self._models.projector.store, names)
        return compare(as_source(self._models.follower.app), live)

    def close(self) -> None:
        self._models.close()


class KafkaReadSide:
    """Read models fed from Kafka by ``groundswell project`` processes, read from PostgreSQL.

    A caller's write at position P is visible once the relay has published P (its
    recorded position is at least P) and the projection has consumed, in every partition,
    up to the offsets the relay recorded with that position. Rows are re-read (in one
    snapshot with their offsets) only when the projection's offsets moved.
    """

    def __init__(
        self,
        store: KafkaReadModelStore,
        relay_positions: RelayPositions,
        topic: str,
        latest: Callable[[], int],
        servers: str,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._store, self._relay, self._topic = store, relay_positions, topic
        self._servers = servers
        self._latest = latest
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[dict[int, int], Rows]] = {}
        self._covered: dict[str, int] = {}

    @contextmanager
    def reading(self, name: str, at_least: int = 0) -> Iterator[Rows]:
        if at_least:
            require_stored(at_least, self._latest())
        deadline = time.monotonic() + self._wait
        while at_least and not self._includes(name, at_least):
            if time.monotonic() >= deadline:
                raise not_caught_up(at_least, self._covered.get(name, 0))
            time.sleep(0.02)
        with self._lock:
            offsets = self._store.offsets(name, self._topic)
            cached = self._cache.get(name)
            if cached is None or cached[0] != offsets:
                rows, offsets = self._store.snapshot(name, self._topic)
                self._cache[name] = (offsets, rows)
            yield self._cache[name][1]

    def caught_up(self, name: str, at_least: int = 0) -> None:
        if not at_least:
            return  # the projection's own process keeps the store as far as it got
        require_stored(at_least, self._latest())
        deadline = time.monotonic() + self._wait
        while not self._includes(name, at_least):
            if time.monotonic() >= deadline:
                raise not_caught_up(at_least, self._covered.get(name, 0))
            time.sleep(0.02)

    def _includes(self, name: str, position: int) -> bool:
        relayed = self._relay.load(self._topic)
        if relayed < position:
            return False
        needed = self._relay.offsets(self._topic)
        consumed = self._store.offsets(name, self._topic)
        if all(consumed.get(p, 0) >= offset for p, offset in needed.items()):
            self._covered[name] = max(self._covered.get(name, 0), relayed)
            return True
        return False

    def position(self) -> int:
        """A position every projection read so far is known to include."""
        return min(self._covered.values(), default=0)

    def compare(self, names: Sequence[str] | None = None) -> Comparison:
        """Replay the named projections from the topic, each up to the offsets its rows were
        committed with, and diff them with the rows."""
        live = live_kafka_models(self._store, self._topic, names)
        source = KafkaSource(self._servers, self._topic)
        try:
            return compare(source, live)
        finally:
            source.close()

    def close(self) -> None:
        self._store.close()
        self._relay.close()
