"""Read-model rows read back as the values written, whether orjson or json writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from groundswell.readstore.row_json import (
    EncodedRows,
    LazyRows,
    encode,
    encode_bytes,
    encode_tables,
    encoded_rows,
)
from projections.rows import Rows

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


@given(
    tables=st.dictionaries(
        st.sampled_from(["documents", "ideas", "_versions"]),
        st.dictionaries(st.text(max_size=8), VALUES, max_size=5),
        max_size=3,
    )
)
# orjson reads an integer just beyond 64 bits as a float (found by this test).
@example(tables={"documents": {"": -(2**63) - 1}, "_versions": {"": 2**64}})
def test_rows_with_their_text_give_the_text_to_a_store_and_the_values_to_everyone_else(
    tables: dict[str, dict[str, Any]],
) -> None:
    """What a rebuild's workers send (each table's rows as text in key order): a store
    writes exactly what it would have encoded; the rows read as the values folded."""
    plain = Rows(tables, track_changes=False)
    sent = EncodedRows(encode_tables(plain))
    assert list(encoded_rows(sent)) == list(encoded_rows(plain))
    assert sent.table("_versions") == plain.table("_versions")
    assert sent.tables() == plain.tables()
    sent.put("documents", "new", {"a": 1})  # used and changed: its text no longer counts
    assert sent.take_encoded() is None
    assert ("documents", "new", '{"a":1}') in list(encoded_rows(sent))


def test_lazy_rows_made_by_a_loader_that_failed_once_are_made_on_the_next_use() -> None:
    """Rows read back from PostgreSQL when first used: the first read may fail (a server
    restart ends the session it was on); the next use reads them again."""
    calls = []

    def load() -> dict[str, dict[str, Any]]:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the server restarted")
        return {"documents": {"idea:a": {"title": "Jig"}}}

    rows = LazyRows(load)
    with pytest.raises(ConnectionError):
        rows.get("documents", "idea:a")
    assert rows.get("documents", "idea:a") == {"title": "Jig"}
    assert rows.tables() == {"documents": {"idea:a": {"title": "Jig"}}} and len(calls) == 2
