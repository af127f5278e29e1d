"""Rich rendering for the ``show`` commands: an aggregate's state and its history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

# Fields every event carries; the history table shows them in their own columns.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "event_id",
        "actor",
        "challenge_id",
    }
)
LONG_TEXT = 70


def shown(value: Any) -> str:
    """A value as a person reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return ", ".join(sorted(str(v) for v in value)) or "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def details(event: Any) -> str:
    """The fields particular to one event, long texts cut short."""
    parts = []
    for name, value in vars(event).items():
        if name in ENVELOPE:
            continue
        text = shown(value)
        if len(text) > LONG_TEXT:
            text = text[: LONG_TEXT - 1] + "…"
        parts.append(f"{name}: {text}")
    return "; ".join(parts)


def history_table(events: Iterable[Any]) -> Table:
    """Three columns, the actor under the time and the details under the event, so that
    the details (ids of 36 characters) keep a column wide enough in 80 columns."""
    table = Table(title="History", title_justify="left", show_lines=True)
    table.add_column("v", justify="right", no_wrap=True)
    table.add_column("when (UTC), by", no_wrap=True)
    table.add_column("event and details")
    for event in events:
        said = Text(type(event).__name__, style="bold")
        said.append("\n" + details(event))
        table.add_row(
            str(event.originator_version),
            Text(f"{event.timestamp:%Y-%m-%d %H:%M}\n{getattr(event, 'actor', '—')}"),
            said,
        )
    return table


def show(title: str, fields: Sequence[tuple[str, Any]], events: Iterable[Any]) -> None:
    """Print a panel of the current state, then the full history."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in fields:
        grid.add_row(label, shown(value))
    console = Console(highlight=False)
    console.print(Panel(grid, title=title, title_align="left", expand=False))
    console.print(history_table(events))
