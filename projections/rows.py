"""The in-memory tables a projection folds events into."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

Row = dict[str, Any]

# Bookkeeping table: the last version applied per aggregate, so a redelivered or
# replayed event changes nothing (at-least-once delivery becomes exactly-once effect).
VERSIONS = "_versions"

# Ids become row keys over and over while folding. Formatting a UUID, and even hashing
# one (UUID.__hash__ is Python code), shows in a rebuild's profile; so the text of recent
# ids is kept, looked up by the UUID's integer. Bounded: cleared when it grows large.
_TEXTS: dict[int, str] = {}
_TEXTS_MAX = 200_000


def key_of(value: UUID) -> str:
    """The text of an id, as read models use it for keys."""
    number = value.int
    text = _TEXTS.get(number)
    if text is None:
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        text = _TEXTS[number] = str(value)
    return text


class Rows:
    """A read model's tables: ``table -> key -> row`` (rows are JSON-ready values).

    Remembers which rows changed since the last :meth:`take_changes`, so a store
    writes only those, together with its checkpoint, in one transaction. Folds may
    change a row in place after :meth:`row` or :meth:`touch`, which mark it changed.
    """

    def __init__(
        self, tables: Mapping[str, Mapping[str, Any]] | None = None, *, track_changes: bool = True
    ) -> None:
        self._tables: dict[str, dict[str, Any]] = {
            name: dict(rows) for name, rows in (tables or {}).items()
        }
        self._changed: set[tuple[str, str]] = set()
        # A rebuild writes every row anyway, so it need not remember which changed.
        self._track = track_changes

    def track_changes(self, on: bool = True) -> None:
        self._track = on

    def get(self, table: str, key: str, default: Any = None) -> Any:
        return self._tables.get(table, {}).get(key, default)

    def put(self, table: str, key: str, value: Any) -> None:
        self._tables.setdefault(table, {})[key] = value
        if self._track:
            self._changed.add((table, key))

    def row(self, table: str, key: str, new: Callable[[], Any]) -> Any:
        """The row at ``key`` (made by ``new()`` if absent), marked changed: edit it in place."""
        rows = self._tables.get(table)
        if rows is None:
            rows = self._tables[table] = {}
        found = rows.get(key)
        if found is None:
            found = rows[key] = new()
        if self._track:
            self._changed.add((table, key))
        return found

    def touch(self, table: str, key: str) -> Any:
        """An existing row (or None), marked changed: edit it in place."""
        found = self._tables.get(table, {}).get(key)
        if found is not None and self._track:
            self._changed.add((table, key))
        return found

    def delete(self, table: str, key: str) -> None:
        if self._tables.get(table, {}).pop(key, None) is not None and self._track:
            self._changed.add((table, key))

    def ensure_table(self, table: str) -> dict[str, Any]:
        """The table's rows, creating the table if absent (for reading in a tight loop)."""
        return self._tables.setdefault(table, {})

    def table(self, table: str) -> dict[str, Any]:
        """All rows of one table (do not modify; use :meth:`put` or :meth:`row`)."""
        return self._tables.get(table, {})

    def tables(self) -> dict[str, dict[str, Any]]:
        return self._tables

    def take_changes(self) -> list[tuple[str, str, Any]]:
        """The changed rows as ``(table, key, value-or-None-if-deleted)``; then forgets them."""
        changes = [(t, k, self._tables.get(t, {}).get(k)) for t, k in sorted(self._changed)]
        self._changed.clear()
        return changes

    def public(self) -> dict[str, dict[str, Any]]:
        """The read model without bookkeeping tables (what rebuild-and-compare compares)."""
        return {name: rows for name, rows in self._tables.items() if not name.startswith("_")}


def bump(rows: Rows, table: str, key: str, field: str, by: int, new: Callable[[], Row]) -> Row:
    """Add ``by`` to a numeric field of a row, creating the row with ``new()`` if absent."""
    row: Row = rows.row(table, key, new)
    row[field] = row.get(field, 0) + by
    return row


def add_sorted(values: list[str], value: str) -> None:
    """Insert ``value`` into a sorted list in place, once (JSON has no sets; sorted is stable)."""
    from bisect import bisect_left

    index = bisect_left(values, value)
    if index == len(values) or values[index] != value:
        values.insert(index, value)
