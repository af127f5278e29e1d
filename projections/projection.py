"""What every projection is, and the one way events are applied to one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from projections.rows import VERSIONS, Rows, key_of


class Projection(Protocol):
    """A named, pure fold: ``apply`` reads the event and changes only ``rows``.

    ``name`` is stable (it keys the stored rows and checkpoint); ``version`` is bumped
    when the fold changes, so a store knows its rows must be rebuilt from zero;
    ``handles`` names the event classes the fold reads (others pass it by).
    """

    name: str
    version: int

    @property
    def handles(self) -> frozenset[type]: ...

    def apply(self, rows: Rows, event: Any) -> None: ...


def apply_event(projection: Projection, rows: Rows, event: Any) -> bool:
    """Apply ``event`` unless this aggregate's version was applied already.

    Returns whether it was applied. Each aggregate's events arrive in order (the
    store and Kafka keep per-aggregate order); anything at or below the version
    already seen is a redelivery and is ignored.
    """
    key = key_of(event.originator_id)
    if event.originator_version <= rows.get(VERSIONS, key, 0):
        return False
    projection.apply(rows, event)
    rows.put(VERSIONS, key, event.originator_version)
    return True


def fold(projection: Projection, events: Iterable[Any], rows: Rows | None = None) -> Rows:
    """Fold ``events`` into ``rows`` (fresh when not given): a rebuild from zero."""
    rows = rows if rows is not None else Rows()
    for event in events:
        apply_event(projection, rows, event)
    return rows
