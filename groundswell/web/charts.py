"""The pages' charts: SVG drawn on the server by pygal, inlined into the page.

Inline SVG scales with the page and needs no script. pygal adds a configuration script
for its optional tooltips; pages allow no inline scripts (Content-Security-Policy), so it
is left out. Every chart also has its numbers as a table beside it, for screen readers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#52606d",
    colors=("#2f6fb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f"),
    font_family="system-ui, sans-serif",
    # Large, because the SVG is scaled down to the column (and to a phone's width).
    label_font_size=20,
    major_label_font_size=20,
    value_font_size=20,
    title_font_size=20,
    legend_font_size=20,
)


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,
        "width": 560,
        "height": 300,
        "print_values": True,
        "show_y_guides": False,
        **extra,
    }


def _count_axis(chart: pygal.graph.graph.Graph, counts: Sequence[int | None]) -> None:
    """At most six whole-number ticks, so none is cut to "…" in a narrow chart."""
    top = max((c for c in counts if c), default=0)
    step = max(1, -(-top // 5))
    chart.y_labels = list(range(0, top + step, step))


def _svg(chart: pygal.graph.graph.Graph) -> Markup:
    rendered = chart.render(is_unicode=True)
    return Markup(SCRIPT.sub("", rendered))


def remembered(draw: Callable[..., Markup]) -> Callable[..., Markup]:
    """The chart drawn for the same figures before, if any: pygal takes tens of
    milliseconds a chart, most of a busy page's time, and a chart is a function of its
    figures. Not for thumbnails (``small``): several share a page, and each must keep the
    ids pygal gives it."""
    drawn: dict[str, Markup] = {}

    @functools.wraps(draw)
    def remembering(*args: Any, **kwargs: Any) -> Markup:
        if kwargs.get("small"):
            return draw(*args, **kwargs)
        key = json.dumps([args, kwargs], sort_keys=True, default=str)
        found = drawn.get(key)
        if found is None:
            if len(drawn) >= 256:  # bounded: figures change as events arrive
                drawn.clear()
            found = drawn[key] = draw(*args, **kwargs)
        return found

    return remembering


@remembered
def funnel(steps: Sequence[dict[str, Any]], small: bool = False) -> Markup:
    """Ideas at each step, labelled with the conversion from the step before (``small``:
    a card's thumbnail, without axes)."""
    extra = {"show_x_labels": False, "height": 40 + 44 * len(steps)} if small else {}
    chart = pygal.HorizontalBar(
        **_options(show_legend=False, **{"height": 90 + 56 * len(steps), **extra})
    )
    labels = []
    for step in steps:
        rate = step["conversion"]
        labels.append(step["step"] + ("" if rate is None else f" ({rate * 100:.0f} %)"))
    # pygal draws the first label at the bottom; a funnel reads from the top.
    chart.x_labels = list(reversed(labels))
    chart.add("ideas", [step["ideas"] for step in reversed(steps)])
    _count_axis(chart, [step["ideas"] for step in steps])
    return _svg(chart)


@remembered
def breadth(targeted: Sequence[str], per_department: dict[str, int]) -> Markup:
    """Contributors per department: the targeted ones (zero when absent) and the others."""
    departments = list(targeted) + sorted(set(per_department) - set(targeted))
    chart = pygal.HorizontalBar(
        **_options(height=120 + 44 * max(len(departments), 1), legend_at_bottom=True)
    )
    chart.x_labels = list(reversed(departments))
    chart.add(
        "targeted",
        [per_department.get(d, 0) if d in targeted else None for d in reversed(departments)],
    )
    chart.add(
        "not targeted",
        [None if d in targeted else per_department.get(d, 0) for d in reversed(departments)],
    )
    _count_axis(chart, list(per_department.values()))
    return _svg(chart)


@remembered
def pot(granted: int, remaining: int, returned: int) -> Markup:
    """Where the funded points are: granted to people, still in the pot, returned."""
    chart = pygal.Pie(**_options(inner_radius=0.55, height=340, legend_at_bottom=True))
    chart.add("granted", granted)
    chart.add("left", remaining)
    if returned:
        chart.add("returned", returned)
    return _svg(chart)
