"""How live read models differ from their replay: :func:`diff` lists each
:class:`Difference` as plain data (JSON values), so the HTTP API can hand it to auditors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from projections.rows import Rows

ONLY_LIVE, ONLY_REPLAYED, CHANGED = "only live", "only replayed", "changed"


# -- diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way a live read model differs from the replay.

    ``field`` is None when whole rows differ: a row on one side only (``kind`` "only live"
    or "only replayed"), or rows that are not records (lists, texts). Otherwise a field
    differs ("changed") or exists on one side only. ``live`` and ``replayed`` are the
    values (None on the side that lacks them).
    """

    projection: str
    table: str
    key: str
    field: str | None
    kind: str
    live: Any = None
    replayed: Any = None

    def describe(self, cut: int = 120) -> str:
        """One line for a person."""
        where = f"{self.projection} · {self.table} · {self.key}"
        if self.field is not None:
            where += f" · {self.field}"
        if self.kind == ONLY_LIVE:
            return f"{where}: only in the live read model: {shown(self.live, cut)}"
        if self.kind == ONLY_REPLAYED:
            return (
                f"{where}: missing from the live read model; replayed: {shown(self.replayed, cut)}"
            )
        return f"{where}: live {shown(self.live, cut)} ≠ replayed {shown(self.replayed, cut)}"


def shown(value: Any, cut: int = 120) -> str:
    """A value as compact JSON, cut to ``cut`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if cut <= 0 or len(text) <= cut else text[: cut - 1] + "…"


def plain(value: Any) -> Any:
    """As the value would come back from a store (JSON: no tuples, UUIDs as text)."""
    return json.loads(json.dumps(value, default=str))


def same(a: Any, b: Any) -> bool:
    # == nearly always decides (numbers compare by value: 1 and 1.0 are the same points);
    # then as JSON, so a tuple in a fold and the list a store gives back are the same.
    return bool(a == b) or _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def diff(live: Mapping[str, Rows], replayed: Mapping[str, Rows]) -> list[Difference]:
    """Every difference between two sets of read models, row by row and field by field,
    ordered by projection, table, key and field. Bookkeeping tables are not compared."""
    found: list[Difference] = []
    for name in sorted(set(live) | set(replayed)):
        ours = live[name].public() if name in live else {}
        theirs = replayed[name].public() if name in replayed else {}
        for table in sorted(set(ours) | set(theirs)):
            a, b = ours.get(table, {}), theirs.get(table, {})
            for key, value in a.items():
                if key not in b:
                    found.append(Difference(name, table, key, None, ONLY_LIVE, plain(value)))
                elif not same(value, b[key]):
                    found.extend(_row_differences(name, table, key, value, b[key]))
            for key, value in b.items():
                if key not in a:
                    found.append(
                        Difference(name, table, key, None, ONLY_REPLAYED, None, plain(value))
                    )
    return sorted(found, key=lambda d: (d.projection, d.table, d.key, d.field or ""))


def _row_differences(name: str, table: str, key: str, a: Any, b: Any) -> list[Difference]:
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [Difference(name, table, key, None, CHANGED, plain(a), plain(b))]
    found = []
    for column in sorted(set(a) | set(b)):
        if column not in b:
            found.append(Difference(name, table, key, column, ONLY_LIVE, plain(a[column])))
        elif column not in a:
            found.append(
                Difference(name, table, key, column, ONLY_REPLAYED, None, plain(b[column]))
            )
        elif not same(a[column], b[column]):
            found.append(
                Difference(name, table, key, column, CHANGED, plain(a[column]), plain(b[column]))
            )
    return found
