"""What every projection is, and the one way events are applied to one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from projections.rows import VERSIONS, Rows, key_of

Handler = Callable[[Rows, Any], None]


class Projection(Protocol):
    """A named, pure fold: each handler reads one event class and changes only ``rows``.

    ``name`` is stable (it keys the stored rows and checkpoint); ``version`` is bumped
    when the fold changes, so a store knows its rows must be rebuilt from zero;
    ``handlers`` maps the event classes the fold reads to the function that folds each
    (other events pass it by).

    A projection may also say ``per_aggregate = True``: each handler reads and writes only
    rows keyed by its event's own aggregate. Then folds of disjoint shares of the
    aggregates join (row sets are disjoint) into exactly the fold of the whole history,
    so a rebuild may fold the shares on several cores (see :func:`folds_per_aggregate`).
    """

    name: str
    version: int

    @property
    def handlers(self) -> dict[type, Handler]: ...


def folds_per_aggregate(projection: Projection) -> bool:
    """Whether the fold keeps each aggregate's rows apart (see :class:`Projection`)."""
    return bool(getattr(projection, "per_aggregate", False))


def apply_event(projection: Projection, rows: Rows, event: Any) -> bool:
    """Apply ``event`` unless this aggregate's version was applied already.

    Returns whether it was applied. Each aggregate's events arrive in order (the
    store and Kafka keep per-aggregate order); anything at or below the version
    already seen is a redelivery and is ignored.
    """
    handler = projection.handlers.get(type(event))
    if handler is None:
        return False
    key = key_of(event.originator_id)
    if event.originator_version <= rows.get(VERSIONS, key, 0):
        return False
    handler(rows, event)
    rows.put(VERSIONS, key, event.originator_version)
    return True


def apply_all(
    projection: Projection, rows: Rows, events: Iterable[Any], *, dedupe: bool = True
) -> int:
    """Apply many events: the same as :func:`apply_event` for each, with less overhead
    per event (what a rebuild of a long history needs). Returns how many were applied.

    ``dedupe=False`` is for feeds that can never deliver an event twice, such as the
    store's own notification log read strictly after a checkpoint: there the checkpoint
    already gives exactly-once, and keeping a version per aggregate would only cost.
    """
    handlers = projection.handlers
    if not dedupe:
        applied = 0
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(rows, event)
                applied += 1
        return applied
    versions = rows.ensure_table(VERSIONS)
    applied = 0
    for event in events:
        handler = handlers.get(type(event))
        if handler is None:
            continue
        key = key_of(event.originator_id)
        version = event.originator_version
        if version <= versions.get(key, 0):
            continue
        handler(rows, event)
        rows.put(VERSIONS, key, version)
        applied += 1
    return applied


def fold(projection: Projection, events: Iterable[Any], rows: Rows | None = None) -> Rows:
    """Fold ``events`` into ``rows`` (fresh when not given): a rebuild from zero."""
    rows = rows if rows is not None else Rows()
    apply_all(projection, rows, events)
    return rows
