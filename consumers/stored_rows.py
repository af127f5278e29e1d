"""Rows that read through to the store, for folding one Kafka batch against current rows.

Several instances of one projection own different partitions but change the same rows
(a person's account moves with a RewardGranted on a challenge's partition and with a
PointsRedeemed on the person's own). A copy of the rows kept in memory by each instance
would overwrite the other's changes, so each batch is folded against the rows as they
are stored *now*, read (and locked) inside the batch's transaction on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from projections.projection import Projection, apply_event
from projections.rows import Rows

Key = tuple[str, str]  # (table, key)
# Reads these keys from the store, locking them for the rest of the transaction;
# returns the value of each key that exists.
Fetch = Callable[[list[Key]], dict[Key, Any]]
# (table, key, value or None to delete, whether it existed: True, False, None = never read)
Write = tuple[str, str, Any, bool | None]


class StoredRows(Rows):
    """A :class:`Rows` whose keys are fetched from the store on first use in a batch.

    Folds use only get/put/row/touch/delete, so those are the doors a key comes in
    through; :meth:`table` would need the whole table and is refused. ``put`` replaces a
    row whole, so it needs no read: such a row is written with an upsert, like the
    in-memory fold's last put wins.
    """

    def __init__(self, fetch: Fetch) -> None:
        super().__init__()
        self._fetch = fetch
        self._existed: dict[Key, bool] = {}  # keys read from the store: found or not

    def preload(self, keys: Iterable[Key]) -> None:
        """Read many keys in one round trip (sorted, so instances lock in one order)."""
        missing = sorted({k for k in keys if k not in self._existed and not self._held(k)})
        if not missing:
            return
        found = self._fetch(missing)
        tables = self.tables()
        for key in missing:
            exists = key in found
            self._existed[key] = exists
            if exists:
                tables.setdefault(key[0], {})[key[1]] = found[key]

    def get(self, table: str, key: str, default: Any = None) -> Any:
        self._load(table, key)
        return super().get(table, key, default)

    def row(self, table: str, key: str, new: Callable[[], Any]) -> Any:
        self._load(table, key)
        return super().row(table, key, new)

    def touch(self, table: str, key: str) -> Any:
        self._load(table, key)
        return super().touch(table, key)

    def delete(self, table: str, key: str) -> None:
        self._load(table, key)
        super().delete(table, key)

    def table(self, table: str) -> dict[str, Any]:
        raise NotImplementedError("a fold fed from Kafka reads rows by key, never whole tables")

    # A whole table in memory would bypass the reads through to the store (apply_all
    # reads versions that way): fold with apply_event instead.
    ensure_table = table

    def take_writes(self) -> list[Write]:
        """The changed rows, each with whether it existed when read; then forgets them."""
        return [(t, k, v, self._existed.get((t, k))) for t, k, v in self.take_changes()]

    def _held(self, key: Key) -> bool:
        return key[1] in self.tables().get(key[0], {})

    def _load(self, table: str, key: str) -> None:
        if (table, key) not in self._existed and not self._held((table, key)):
            self.preload([(table, key)])


class KeyRecorder(Rows):
    """Empty tables that remember every key a fold reads: a dry run of a batch.

    Fetching keys one by one costs a round trip each, which dominated a catch-up; a
    dry run names most of them up front (:func:`keys_read`), so one query reads them
    all. Keys it misses (a fold that reads a key found in another row) are still read
    through, one by one.
    """

    def __init__(self) -> None:
        super().__init__(track_changes=False)
        self.keys: set[Key] = set()

    def get(self, table: str, key: str, default: Any = None) -> Any:
        self.keys.add((table, key))
        return super().get(table, key, default)

    def row(self, table: str, key: str, new: Callable[[], Any]) -> Any:
        self.keys.add((table, key))
        return super().row(table, key, new)

    def touch(self, table: str, key: str) -> Any:
        self.keys.add((table, key))
        return super().touch(table, key)

    def delete(self, table: str, key: str) -> None:
        self.keys.add((table, key))
        super().delete(table, key)


def keys_read(projection: Projection, events: Iterable[Any]) -> set[Key]:
    """The keys (aggregate versions included) folding ``events`` from empty tables reads."""
    recorder = KeyRecorder()
    for event in events:
        try:
            apply_event(projection, recorder, event)
        except Exception:  # empty tables can trip a fold up; the real fold raises, named
            continue
    return recorder.keys
