"""Read-model rows as JSON text, the same on both stores.

orjson writes them in a fraction of json's time, which a rebuild notices: it writes every
row of a read model at once (1.1 million search documents at full size). The few values
orjson refuses (integers beyond 64 bits) are written, and read back, by json. Dates and
dataclasses are refused, as json refused them. Rows hold JSON values only (projections
write text, whole numbers, booleans, None, lists and dicts), and those read back as the
value written; the text differs from json's only in how some floats are spelled
(0.000061 for 6.1e-05). Where json refused or wrote what is not JSON, orjson writes UUIDs
and enums as strings and NaN or infinity as null; no projection writes them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from projections.rows import VERSIONS, Rows

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


def encode_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return _json(value).encode()


def encode(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _json(value)


# Every integer beyond 64 bits has 19 digits or more (as some other numbers and texts do).
_LONG_DIGITS = re.compile(r"\d{19}")


def decode(text: str) -> Any:
    # orjson reads an integer beyond 64 bits (which json wrote) as a float: json reads it
    # exactly. Texts with no run of 19 digits have none.
    if _LONG_DIGITS.search(text):
        return json.loads(text)
    return orjson.loads(text)


Encoded = dict[str, list[tuple[str, str]]]  # table -> (key, JSON text), in key order


class LazyRows(Rows):
    """Rows made by ``make`` when first used. A rebuild from the command line only stores
    its rows and never uses them, so it never pays for making them in this process."""

    def __init__(self, make: Callable[[], dict[str, dict[str, Any]]]) -> None:
        super().__init__(track_changes=False)
        self._make: Callable[[], dict[str, dict[str, Any]]] | None = make
        self._made: dict[str, dict[str, Any]] | None = None  # set after Rows' own __init__
        self._making = threading.Lock()

    @property  # type: ignore[override]
    def _tables(self) -> dict[str, dict[str, Any]]:
        if self._made is None:
            with self._making:  # a reader and a live batch may come first at once
                if self._made is None and self._make is not None:
                    self._made = self._make()  # if it fails, the next use tries again
                    self._make = None
        assert self._made is not None
        return self._made

    @_tables.setter
    def _tables(self, tables: dict[str, dict[str, Any]]) -> None:
        self._made = tables


class EncodedRows(LazyRows):
    """Rows that come with their JSON text, encoded where they were folded (a rebuild's
    worker processes, side by side), so a store writes that text instead of encoding
    every row again on one core. The rows themselves are decoded from the text when first
    used."""

    def __init__(self, encoded: Encoded) -> None:
        super().__init__(self._decode)
        self._text: Encoded | None = encoded

    def _decode(self) -> dict[str, dict[str, Any]]:
        text, self._text = self._text or {}, None
        return {t: {k: decode(value) for k, value in rows} for t, rows in text.items()}

    def table(self, table: str) -> dict[str, Any]:
        with self._making:
            text = self._text
        if text is not None:  # one table, read before the rows are used: only it is decoded
            return {k: decode(value) for k, value in text.get(table, ())}
        return super().table(table)

    def take_encoded(self) -> Encoded | None:
        """The text, unless the rows were used already (they may have changed since)."""
        with self._making:
            return self._text


def encode_tables(rows: Rows) -> Encoded:
    """Each table's rows (the bookkeeping versions too) as ``(key, JSON text)`` in key order
    (sorting keys alone, table by table, costs a fraction of sorting whole tuples)."""
    return {t: [(k, encode(table[k])) for k in sorted(table)] for t, table in rows.tables().items()}


def encoded_rows(rows: Rows) -> Iterator[tuple[str, str, str]]:
    """Every row but the bookkeeping versions as ``(table, key, JSON text)``, tables and keys
    in order: with the text the rows came with, if any, else encoded now."""
    encoded = rows.take_encoded() if isinstance(rows, EncodedRows) else None
    return rows_of(encode_tables(rows) if encoded is None else encoded)


def rows_of(encoded: Encoded) -> Iterator[tuple[str, str, str]]:
    """Every row of ``encoded`` but the bookkeeping versions as ``(table, key, JSON text)``."""
    for t in sorted(encoded):
        if t != VERSIONS:
            yield from ((t, k, text) for k, text in encoded[t])
