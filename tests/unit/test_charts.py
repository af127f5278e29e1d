"""The pages' charts label their count axis in full: no tick cut to "…"."""

from __future__ import annotations

import re

from groundswell.web import charts

STEPS = ("submitted", "reviewed", "accepted", "in implementation", "implemented")


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_the_funnels_count_axis_is_never_cut_short() -> None:
    for counts in ([11, 4, 1, 0, 0], [120, 40, 9, 2, 1], [0, 0, 0, 0, 0]):
        steps = [
            {"step": s, "ideas": n, "conversion": None} for s, n in zip(STEPS, counts, strict=True)
        ]
        said = texts(str(charts.funnel(steps)))
        assert "…" not in said
        assert str(max(counts)) in said


def test_the_breadth_charts_count_axis_is_never_cut_short() -> None:
    said = texts(str(charts.breadth(["Sales", "HR"], {"Sales": 14, "Legal": 3})))
    assert "…" not in said and "14" in said
