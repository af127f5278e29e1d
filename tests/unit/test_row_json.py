"""Read-model rows read back as the values written, whether orjson or json writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groundswell.readstore.row_json import encode, encode_bytes

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: those take json's path
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4)


VALUES = st.recursive(SCALARS, containers, max_leaves=20)


def as_json_writes(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@given(VALUES)
def test_a_row_reads_back_as_the_value_written(value: Any) -> None:
    assert json.loads(encode(value)) == value
    assert json.loads(encode_bytes(value)) == value


@given(st.recursive(SCALARS.filter(lambda v: not isinstance(v, float)), containers, max_leaves=20))
def test_without_floats_the_text_is_what_json_writes(value: Any) -> None:
    assert encode(value) == as_json_writes(value)
    assert encode_bytes(value) == as_json_writes(value).encode()


def test_integers_beyond_64_bits_are_kept_exactly() -> None:
    row = {"points": 2**70, "name": "Zoë"}
    assert json.loads(encode(row)) == row
    assert encode(row) == '{"points":1180591620717411303424,"name":"Zoë"}'


def test_a_value_that_is_not_json_is_refused_as_json_refuses_it() -> None:
    with pytest.raises(TypeError):
        encode({"at": datetime(2026, 12, 5, tzinfo=UTC)})
