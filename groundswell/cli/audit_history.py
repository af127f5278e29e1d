"""`groundswell audit history ID`: one aggregate's events in order, or an idea's whole story."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.table import Table
from rich.text import Text

from domain.errors import NotFound
from groundswell.audit.history import TimelineEntry, history, idea_story, resolve
from groundswell.cli.common import fail, out, refusals, session
from groundswell.cli.views import LONG_TEXT, shown

Reference = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="A challenge's, idea's, contribution's or person's id, or a person's handle.",
        show_default=False,
    ),
]
Own = Annotated[
    bool,
    typer.Option("--own", help="For an idea: only its own events, not its whole story."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `groundswell audit`."""
    app.command(
        "history",
        short_help="Every event of one challenge, idea, contribution or person, oldest "
        "first; for an idea, its whole story.",
    )(history_command)


def history_command(
    ctx: typer.Context, reference: Reference, own: Own = False, as_json: Json = False
) -> None:
    """Every event of one challenge, idea, contribution or person, oldest first, with actor,
    time (UTC), version and fields. For an idea: its whole story, from submission through
    feedback, decision, hand-over and implementation to the rewards paid for it."""
    engine = session(ctx).engine
    with refusals():
        aggregate_id = resolve(reference)
        try:
            entries = history(engine, aggregate_id)
        except NotFound:
            if _is_id(reference):
                raise
            fail(f"nobody with handle {reference!r} is registered.", "handle")
        story = entries[0].event_type == "Idea.Submitted" and not own
        if story:
            entries = idea_story(engine, aggregate_id)
    first = next(e for e in entries if e.aggregate_id == aggregate_id)
    heading = describe(first, entries, story)
    if as_json:
        document = {
            "aggregate_id": str(aggregate_id),
            "aggregate_kind": first.aggregate_kind,
            "view": "story" if story else "history",
            "summary": heading,
            "entries": [e.to_json() for e in entries],
        }
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    out().print(Text(heading, style="bold"))
    out().print(timeline(entries, story))


def _is_id(reference: str) -> bool:
    try:
        UUID(reference.strip())
    except ValueError:
        return False
    return True


def describe(first: TimelineEntry, entries: Sequence[TimelineEntry], story: bool) -> str:
    """One line naming the aggregate (by its first event) and what the timeline holds."""
    f = first.fields
    named = {
        "Challenge.Drafted": lambda: f"Challenge {f['title']!r}",
        "Idea.Submitted": lambda: f"Idea {f['title']!r} by {f['author']}",
        "Contribution.Added": lambda: f"A {f['kind']} by {f['author']} on idea {f['idea_id']}",
        "Person.Registered": lambda: f"{f['name']} ({f['handle']}, {f['department']})",
    }.get(first.event_type, lambda: first.aggregate_kind)()
    if not story:
        return f"{named}, {first.aggregate_id}: {_count(len(entries), 'event')}"
    own = sum(1 for e in entries if e.aggregate_id == first.aggregate_id)
    added = sum(1 for e in entries if e.event_type == "Contribution.Added")
    rewards = sum(1 for e in entries if e.event_type == "Challenge.RewardGranted")
    return (
        f"{named}, {first.aggregate_id}: its story in {_count(len(entries), 'event')} — "
        f"{own} of the idea, {len(entries) - own - rewards} of "
        f"{_count(added, 'contribution')}, {_count(rewards, 'reward')}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def timeline(entries: Sequence[TimelineEntry], story: bool) -> Table:
    """Three columns: the position; the time with the actor under it; the event (its
    version, and in a story its chapter and source) with its details under it. Stacked so
    that the details keep a column wide enough for an id in an 80-column terminal."""
    table = Table(title="Timeline" if story else "History", title_justify="left", show_lines=True)
    table.add_column("pos", justify="right", no_wrap=True)
    table.add_column("when (UTC), by", no_wrap=True, overflow="fold")
    table.add_column("event and details")
    kinds = _short_sources(entries)
    for e in entries:
        said = Text(e.event_type.split(".", 1)[1], style="bold")
        said.append(f" v{e.version}")
        if story:
            said.append(f" · {e.chapter} · {kinds[e.aggregate_id]}")
        said.append("\n")
        said.append_text(details(e))
        table.add_row(
            "—" if e.position is None else str(e.position),
            Text(f"{e.at:%Y-%m-%d %H:%M:%S}\n{e.actor}"),
            said,
        )
    return table


def _short_sources(entries: Sequence[TimelineEntry]) -> dict[Any, str]:
    """'idea', 'challenge', 'contribution 5a7d7433': which aggregate a line came from."""
    seen = Counter(e.aggregate_kind for e in {e.aggregate_id: e for e in entries}.values())
    return {
        e.aggregate_id: e.aggregate_kind.lower()
        if seen[e.aggregate_kind] == 1
        else f"{e.aggregate_kind.lower()} {str(e.aggregate_id)[:8]}"
        for e in entries
    }


def details(entry: TimelineEntry) -> Text:
    """The event's own fields, long texts cut short (``--json`` has them whole)."""
    parts = []
    for name, value in entry.fields.items():
        said = shown(value)
        if len(said) > LONG_TEXT:
            said = said[: LONG_TEXT - 1] + "…"
        parts.append(f"{name}: {said}")
    return Text("; ".join(parts))
