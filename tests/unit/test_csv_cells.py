"""CSV cells: any text survives a round trip through the csv module, and no text cell
starts with what makes a spreadsheet run it as a formula (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from groundswell.http.exports import FORMULA_STARTS, PREFIXED, as_csv, cell

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    [
        "=1+1",
        "+1",
        "-2",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "'=x",
        "'",
        "''",
        "a,b",
        'say "hi"',
        "two\nlines",
    ]
)


def unprefixed(text: str) -> str:
    return text[1:] if text[:1] == "'" and text[1:2] and text[1:2] in PREFIXED else text


@given(st.lists(st.tuples(TEXT, TEXT), max_size=5))
def test_text_cells_come_back_and_never_start_a_formula(rows: list[tuple[str, str]]) -> None:
    items = [{"a": a, "b": b} for a, b in rows]
    header, *body = list(csv.reader(io.StringIO(as_csv(["a", "b"], items), newline="")))
    assert header == ["a", "b"] and len(body) == len(rows)
    for (a, b), cells in zip(rows, body, strict=True):
        assert not any(c.startswith(FORMULA_STARTS) for c in cells)
        assert [unprefixed(c) for c in cells] == [a, b]


def test_other_values_are_written_as_json_would_read_them() -> None:
    assert [cell(v) for v in (None, True, False, 3, -2.5)] == ["", "true", "false", "3", "-2.5"]
    assert cell({"reason": "=x", "at": 1}) == '{"at": 1, "reason": "=x"}'
    assert cell(["mia", "Ünï"]) == '["mia", "Ünï"]'
