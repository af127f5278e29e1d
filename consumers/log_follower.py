"""The embedded consumer: follows the event store's notification log in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.utils import get_topic

from consumers.projector import Positioned, Projector

BATCH = 5_000


class LogFollower:
    """Feeds a :class:`Projector` from an eventsourcing application's notification log."""

    def __init__(self, app: Any, projector: Projector, batch_size: int = BATCH) -> None:
        self.app = app
        self.projector = projector
        self.batch_size = batch_size
        self._catching_up = threading.Lock()

    def read(
        self, after: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Iterator[Sequence[Positioned]]:
        """Batches of decoded events after position ``after`` (up to ``stop``), in order;
        only events of the given ``topics`` when some are named."""
        to_event = self.app.mapper.to_domain_event
        while True:
            notifications = self.app.recorder.select_notifications(
                start=after + 1, limit=self.batch_size, stop=stop, topics=topics
            )
            if not notifications:
                return
            yield [(n.id, to_event(n)) for n in notifications]
            after = notifications[-1].id
            if len(notifications) < self.batch_size:
                return

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
