"""Folds over a read model remembered per state of its rows, so a page read many times
between events folds its figures once (imports: projections' Rows only).

An entry holds while the rows are the very object it was folded from, at the same
read-side position (the embedded read side mutates its rows in place and advances its
position; the Kafka read side swaps in a new snapshot when its offsets move), and the
clock has not passed the moment the fold said its answer turns (the next item to become
overdue) nor gone back before the fold.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.rows import Rows

SIZE = 256  # folds remembered at most (the least recently used goes first)


@dataclass(frozen=True)
class _Folded:
    # Weakly: a replaced snapshot of the rows is not kept alive by what was folded from it
    # (and a dead reference never matches, so a recycled id cannot either).
    rows: weakref.ref[Rows]
    position: int
    at: datetime
    until: datetime | None  # None: the answer does not depend on the clock
    value: Any

    def holds(self, rows: Rows, position: int, now: datetime) -> bool:
        return (
            self.rows() is rows
            and self.position == position
            and self.at <= now
            and (self.until is None or now <= self.until)
        )


class FoldCache:
    """Answers of folds by key; the answers are shared, so callers must not mutate them."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, _Folded] = OrderedDict()
        self._lock = threading.Lock()
        self.folds = 0  # how many folds ran (tests watch it)

    def folded(
        self,
        key: Hashable,
        rows: Rows,
        position: int,
        now: datetime,
        fold: Callable[[], tuple[Any, datetime | None]],
    ) -> Any:
        """``fold()``'s answer for ``rows`` at ``position`` and ``now``: remembered, or folded
        now. ``fold`` answers the value and the last moment it holds (None: any moment)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found.holds(rows, position, now):
                self._entries.move_to_end(key)
                return found.value
        value, until = fold()
        self.folds += 1
        with self._lock:
            self._entries[key] = _Folded(weakref.ref(rows), position, now, until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
