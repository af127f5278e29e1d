"""Runs named projections over positioned events and keeps them in a read-model store."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from consumers.ports import ReadModelStore
from projections.projection import Projection, apply_all
from projections.rows import Rows

Positioned = tuple[int, Any]  # (notification-log position, domain event)


@contextmanager
def bulk_work() -> Iterator[None]:
    """Pause the cyclic garbage collector while folding a whole history.

    A rebuild allocates millions of small, long-lived rows and events; with the
    collector on, each generation-2 pass walks all of them again and the rebuild
    slows down as the history grows. Nothing it makes is cyclic garbage, so the
    collector is simply resumed at the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Projector:
    """Keeps each projection's rows in memory and writes each batch with its checkpoint.

    A batch's changed rows and the new checkpoint go to the store in one transaction,
    so after a crash a projection resumes exactly where its rows are: nothing is
    counted twice and nothing is lost. The notification log delivers each position once
    and in order, so the checkpoint alone deduplicates: no per-aggregate versions are
    kept here (the Kafka projector, which can see redeliveries, keeps them). A projection
    whose fold ``version`` differs from the stored one is rebuilt from zero on start.
    """

    def __init__(
        self, store: ReadModelStore, projections: Sequence[Projection], load: bool = True
    ) -> None:
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.rows: dict[str, Rows] = {}
        self.positions: dict[str, int] = {}
        self.lock = threading.RLock()
        for projection in projections:
            if load:
                self.reload(projection)
            else:  # about to be rebuilt: reading the old rows would be wasted work
                self.rows[projection.name] = Rows()
                self.positions[projection.name] = 0

    def reload(self, projection: Projection) -> None:
        """Take the projection's rows and checkpoint from the store (after another process
        rebuilt it, or when a save failed)."""
        rows, position, version = self.store.load(projection.name)
        if version != projection.version:
            # Written by another version of the fold: start again from zero, in the store
            # too, so no row of the old shape survives.
            rows, position = Rows(), 0
            self.store.replace(projection.name, rows, position, projection.version)
        self.rows[projection.name] = rows
        self.positions[projection.name] = position

    @property
    def position(self) -> int:
        """The position every projection has reached."""
        return min(self.positions.values(), default=0)

    def apply_batch(self, batch: Sequence[Positioned]) -> None:
        """Apply a batch (ascending positions) to every projection that has not seen it."""
        if not batch:
            return
        with self.lock:
            last = batch[-1][0]
            for name, projection in self.projections.items():
                rows, seen = self.rows[name], self.positions[name]
                fresh = (event for position, event in batch if position > seen)
                apply_all(projection, rows, fresh, dedupe=False)
                try:
                    self.store.save(name, rows.take_changes(), last, projection.version)
                except BaseException:
                    # The rows in memory ran ahead of the store; go back to what is stored,
                    # so the next attempt applies this batch again instead of skipping it.
                    self.reload(projection)
                    raise
                self.positions[name] = last

    def rebuild(
        self,
        names: Sequence[str],
        events: Iterable[Sequence[Positioned]],
        progress: Callable[[int], None] | None = None,
        upto: int = 0,
    ) -> dict[str, Rows]:
        """Fold every event from zero into fresh rows, reading the history once for all
        ``names``, then swap each rebuilt read model in atomically with its checkpoint
        (``upto``, when the events were filtered and the last one read is not the last
        stored). ``progress`` hears how many positions each batch advanced."""
        chosen = [self.projections[name] for name in names]
        fresh = {p.name: Rows(track_changes=False) for p in chosen}
        last = 0
        with bulk_work():
            for batch in events:
                events = [event for _position, event in batch]
                for projection in chosen:
                    apply_all(projection, fresh[projection.name], events, dedupe=False)
                if batch:
                    if progress:
                        progress(batch[-1][0] - last)
                    last = batch[-1][0]
        if progress and upto > last:
            progress(upto - last)
        last = max(last, upto)
        with self.lock:
            for projection in chosen:
                self.install(projection.name, fresh[projection.name], last)
        return fresh

    def install(self, name: str, rows: Rows, position: int) -> None:
        """Swap in rows rebuilt from zero up to ``position``, in the store atomically with
        the checkpoint, and keep them for the live batches that follow."""
        projection = self.projections[name]
        with self.lock, bulk_work():
            self.store.replace(name, rows, position, projection.version)
            rows.track_changes()  # live batches from here on save what they change
            self.rows[name] = rows
            self.positions[name] = position
