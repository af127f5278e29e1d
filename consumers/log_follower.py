"""The embedded consumer: follows the event store's notification log in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from consumers.projector import Positioned, Projector
from projections.rows import Rows

BATCH = 5_000


def share_of(aggregate_id: UUID, shares: int) -> int:
    """Which of ``shares`` shares of the aggregates an id falls in: its last hex digit
    modulo ``shares`` (at most 16 shares). The event stores compute the same in SQL."""
    return (aggregate_id.int & 0xF) % shares


def read_log(
    app: Any,
    after: int,
    stop: int | None = None,
    topics: Sequence[str] = (),
    share: tuple[int, int] | None = None,
    batch_size: int = BATCH,
) -> Iterator[Sequence[Positioned]]:
    """Batches of decoded events after position ``after`` (up to ``stop``), in order;
    only events of the given ``topics`` when some are named; with ``share=(k, n)`` only
    the events of aggregates in share k of n (:func:`share_of`), the others left unread
    by the stores that can filter them and undecoded by the rest (decoding is most of a
    read's work)."""
    to_event = app.mapper.to_domain_event
    recorder = app.recorder
    of_share = getattr(recorder, "select_notifications_of_share", None)
    while True:
        if share is not None and of_share is not None:
            notifications = of_share(after + 1, batch_size, stop, topics, share)
        else:
            notifications = recorder.select_notifications(
                start=after + 1, limit=batch_size, stop=stop, topics=topics
            )
        if not notifications:
            return
        if share is None or of_share is not None:
            yield [(n.id, to_event(n)) for n in notifications]
        else:
            k, shares = share
            yield [
                (n.id, to_event(n)) for n in notifications if share_of(n.originator_id, shares) == k
            ]
        after = notifications[-1].id
        if len(notifications) < batch_size:
            return


class LogFollower:
    """Feeds a :class:`Projector` from an eventsourcing application's notification log."""

    def __init__(self, app: Any, projector: Projector, batch_size: int = BATCH) -> None:
        self.app = app
        self.projector = projector
        self.batch_size = batch_size
        self._catching_up = threading.Lock()

    def read(
        self,
        after: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        share: tuple[int, int] | None = None,
    ) -> Iterator[Sequence[Positioned]]:
        """See :func:`read_log`."""
        return read_log(self.app, after, stop, topics, share, self.batch_size)

    def catch_up(self) -> int:
        """Apply everything stored so far; returns the position reached."""
        with self._catching_up:
            for batch in self.read(self.projector.position):
                self.projector.apply_batch(batch)
            return self.projector.position

    def wait_until(self, position: int, timeout: float = 5.0) -> bool:
        """Catch up until the read models include ``position``; False if time ran out."""
        deadline = time.monotonic() + timeout
        while self.projector.position < position:
            self.catch_up()
            if self.projector.position >= position:
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def rebuild(self, names: Sequence[str] | None = None, progress: Any = None) -> None:
        """Rebuild the named projections (all when None) from the whole history.

        Only events some chosen projection reads are fetched and decoded (the store
        filters by topic); the checkpoint still covers everything stored when it began.
        """
        with self._catching_up:
            chosen = list(names) if names else list(self.projector.projections)
            upto = self.app.recorder.max_notification_id() or 0
            handled = {c for n in chosen for c in self.projector.projections[n].handlers}
            topics = sorted(get_topic(event_class) for event_class in handled)
            events = self.read(0, stop=upto, topics=topics)
            self.projector.rebuild(chosen, events, progress, upto=upto)

    def rebuild_folded(self, name: str, fold: Callable[[int, list[str]], Rows]) -> None:
        """Rebuild one projection from rows that ``fold(upto, topics)`` makes from the whole
        history up to ``upto`` (of the events of ``topics``), elsewhere (in other processes),
        then swap them in with that checkpoint; live batches wait meanwhile."""
        with self._catching_up:
            upto = self.app.recorder.max_notification_id() or 0
            handlers = self.projector.projections[name].handlers
            topics = sorted(get_topic(event_class) for event_class in handlers)
            self.projector.install(name, fold(upto, topics), upto)
