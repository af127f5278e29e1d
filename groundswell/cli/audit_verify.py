"""`groundswell audit verify`: recompute the hash chain over the event log and name the first
event whose content, order or presence no longer matches it."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from groundswell.cli.common import out, session
from groundswell.eventstore.chain import ChainUnavailable, VerifyReport, verify

CANNOT = 2  # exit status when nothing could be verified (1 means "tampered")
LONG = 50_000  # events; below this verify takes well under a second, no bar

Json = Annotated[bool, typer.Option("--json", help="Print the report as JSON for machines.")]
Anchor = Annotated[
    str | None,
    typer.Option(
        "--anchor",
        metavar="POSITION:HASH",
        help="A chain head recorded earlier (e.g. an export manifest's chain_head): the chain "
        "must still pass through it. Catches a history rewritten together with its chain.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `groundswell audit`."""
    app.command(
        "verify",
        short_help="Check that the stored history is exactly what was written (the hash "
        "chain); exit 0 intact, 1 a problem, 2 nothing verified.",
    )(verify_command)


def verify_command(ctx: typer.Context, as_json: Json = False, anchor: Anchor = None) -> None:
    """Check that the stored history is exactly what was written: recompute each event's
    hash (its content and the hash of the event before it) in log order, compare it with
    the chain stored beside the events, and name the first event changed, missing, added or
    out of place. Exit status: 0 intact, 1 a problem found, 2 nothing could be verified."""
    pinned = parse_anchor(anchor) if anchor else None
    try:
        engine = session(ctx).engine
    except typer.Exit as done:
        # The session's "cannot open the event store" exits with 1, which here means
        # "tampered": make it 2.
        raise typer.Exit(CANNOT if done.exit_code == 1 else done.exit_code) from None
    started = time.perf_counter()
    try:
        with progress_bar(engine.last_position) as bar:
            report = verify(engine, progress=bar, anchor=pinned)
    except ChainUnavailable as error:
        refuse(str(error))
    except (PersistenceError, sqlite3.Error, OSError) as error:
        refuse(f"cannot read the event store: {error}")
    seconds = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "seconds": round(seconds, 3)}, indent=2))
    else:
        show(report, seconds)
    raise typer.Exit(0 if report.ok else 1)


def parse_anchor(value: str) -> tuple[int, str]:
    found = re.fullmatch(r"\s*(\d+)\s*[:=,]\s*([0-9a-fA-F]{64})\s*", value)
    if not found:
        raise typer.BadParameter(
            "give the position and the 64 hex digits of its hash, as POSITION:HASH",
            param_hint="--anchor",
        )
    return int(found.group(1)), found.group(2).lower()


def show(report: VerifyReport, seconds: float) -> None:
    console = out()
    checked = f"{report.events_checked:,} of {report.events_total:,} events checked"
    if report.ok and seconds > 0:
        checked += f" in {seconds:.2f} s ({report.events_checked / seconds:,.0f} events/s)"
    console.print(checked)
    if report.head is None:
        console.print("chain head: none (nothing is chained)")
    else:
        console.print(f"chain head: position {report.head[0]}, hash {report.head[1]}")
    if report.adopted is not None:
        first, last = report.adopted
        console.print(
            Text(
                f"note: events {first}–{last} were stored before the chain existed and were "
                "chained when this store was first opened by a chain-aware engine; changes "
                "made to them before then cannot be detected.",
                style="yellow",
            )
        )
    if report.anchor is not None and report.ok:
        console.print(f"anchor: the chain passes through position {report.anchor[0]} as recorded")
    problem = report.problem
    if problem is None:
        console.print(Text("intact: every event matches the chain.", style="green"))
        return
    console.print(
        Text(f"TAMPERED: {problem.kind} at position {problem.notification_id}", style="bold red")
    )
    if problem.aggregate_id is not None:
        console.print(f"  aggregate {problem.aggregate_id}, version {problem.aggregate_version}")
    console.print(f"  {problem.message}")
    console.print(f"  intact up to position {report.intact_through}.")


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A transient bar on a terminal's stderr for long logs (None otherwise): stdout stays
    clean for --json and pipes."""
    console = Console(stderr=True)
    if not console.is_terminal or total < LONG:
        yield None
        return
    with Progress(
        TextColumn("verifying the chain"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("verify", total=total)
        yield lambda checked, of: progress.update(task, completed=checked, total=of)


def refuse(message: str) -> NoReturn:
    """Say why nothing could be verified, in red on stderr, and exit with status 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text(f"error: {message}", style="red")
    )
    raise typer.Exit(CANNOT)
