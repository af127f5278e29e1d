"""A remembered fold holds only for the very rows, position and stretch of the clock it
was folded for (groundswell.reads.folds)."""

from __future__ import annotations

from datetime import datetime, timedelta

from groundswell.reads.folds import FoldCache
from projections.rows import Rows

NOW = datetime(2026, 3, 1, 9)


def test_a_fold_is_remembered_until_its_rows_position_or_moment_change() -> None:
    cache, rows = FoldCache(), Rows()
    turns = NOW + timedelta(hours=2)
    answers = iter(range(100))

    def fold() -> tuple[int, datetime | None]:
        return next(answers), turns

    assert cache.folded("k", rows, 7, NOW, fold) == 0
    assert cache.folded("k", rows, 7, NOW + timedelta(hours=1), fold) == 0
    assert cache.folded("k", rows, 7, turns, fold) == 0  # holds up to its last moment
    assert cache.folded("k", rows, 8, NOW, fold) == 1  # a new event
    assert cache.folded("k", Rows(), 8, NOW, fold) == 2  # a new snapshot of the rows
    assert cache.folded("k", rows, 8, NOW, fold) == 3
    assert cache.folded("k", rows, 8, turns + timedelta(seconds=1), fold) == 4  # past it
    assert cache.folded("k", rows, 8, NOW, fold) == 5  # a clock gone back
    assert cache.folded("other", rows, 8, NOW, fold) == 6
    assert cache.folds == 7


def test_the_least_recently_used_fold_goes_first() -> None:
    cache, rows = FoldCache(size=2), Rows()
    cache.folded("a", rows, 1, NOW, lambda: ("a", None))
    cache.folded("b", rows, 1, NOW, lambda: ("b", None))
    cache.folded("a", rows, 1, NOW, lambda: ("a again", None))
    cache.folded("c", rows, 1, NOW, lambda: ("c", None))
    assert cache.folded("a", rows, 1, NOW, lambda: ("a refolded", None)) == "a"
    assert cache.folded("b", rows, 1, NOW, lambda: ("b refolded", None)) == "b refolded"
