"""Read-model rows as JSON text, the same on both stores.

orjson writes them in a fraction of json's time, which a rebuild notices: it writes every
row of a read model at once (1.1 million search documents at full size). The few values
orjson refuses (integers beyond 64 bits) are written by json. Dates and dataclasses are
refused, as json refused them. Rows hold JSON values only (projections write text, whole
numbers, booleans, None, lists and dicts), and those read back as the value written; the
text differs from json's only in how some floats are spelled (0.000061 for 6.1e-05). Where
json refused or wrote what is not JSON, orjson writes UUIDs and enums as strings and NaN
or infinity as null; no projection writes them.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

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
