"""`groundswell projections ...`: how far each read model has read, and rebuilding from zero."""

from __future__ import annotations

import json
import os
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from groundswell.cli.common import fail, out, session
from groundswell.parallel_rebuild import can_rebuild_in_shares, rebuild_in_shares
from projections.catalog import PROJECTION_NAMES

app = typer.Typer(
    help="Read-model projections: checkpoints, lag, rebuilds from zero.", no_args_is_help=True
)


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Each projection's checkpoint, the store's last position, the lag, rows, fold version."""
    read_models = session(ctx).read_models
    last = session(ctx).engine.last_position
    stored = {c.projection: c for c in read_models.projector.store.checkpoints()}
    found = []
    for name, projection in read_models.projector.projections.items():
        checkpoint = stored.get(name)
        position = checkpoint.position if checkpoint else 0
        found.append(
            {
                "name": name,
                "checkpoint": position,
                "last_position": last,
                "lag": max(last - position, 0),
                "rows": checkpoint.rows if checkpoint else 0,
                "version": checkpoint.version if checkpoint else None,
                "fold_version": projection.version,
            }
        )
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    table = Table(title="Projections", title_justify="left")
    for column in ("projection", ">checkpoint", ">store's last", ">lag", ">rows", ">fold version"):
        table.add_column(column.lstrip(">"), justify="right" if column[0] == ">" else "left")
    for p in found:
        version = str(p["fold_version"])
        if p["version"] != p["fold_version"]:
            # The stored rows were written by another fold (or none): they are rebuilt on start.
            version = f"{p['version'] or '—'} → {version} (rebuild due)"
        lag = f"[yellow]{p['lag']}[/yellow]" if p["lag"] else "0"
        table.add_row(p["name"], str(p["checkpoint"]), str(last), lag, str(p["rows"]), version)
    out().print(table)


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help=f"One of: {', '.join(PROJECTION_NAMES)}. All when left out.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="Processes that fold a projection kept per aggregate (search) in shares.",
        ),
    ] = min(os.cpu_count() or 1, 4),
) -> None:
    """Rebuild one projection (or all) from the whole history, with a progress bar."""
    if name is not None and name not in PROJECTION_NAMES:
        fail(f"unknown projection {name!r}; the projections are: {', '.join(PROJECTION_NAMES)}.")
    names = [name] if name else list(PROJECTION_NAMES)
    read_models = session(ctx).read_models
    total = session(ctx).engine.last_position
    label = name or f"all {len(names)} projections"
    read = 0

    with Progress(
        TextColumn("rebuilding {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        # Redrawn by this thread as events are read, not by a thread of its own: a rebuild
        # in shares forks its workers (quicker than spawning) only when no other thread runs.
        auto_refresh=False,
    ) as progress:
        task = progress.add_task(label, total=total or None)

        def advance(events: int) -> None:
            nonlocal read
            read += events
            progress.advance(task, events)
            progress.refresh()

        started = time.perf_counter()
        follower = read_models.follower
        if name is not None and can_rebuild_in_shares(follower, name, workers):
            try:
                rebuild_in_shares(session(ctx).settings, follower, name, workers, advance)
            except RuntimeError as error:  # a worker failed; the stored rows are as before
                fail(f"{error}; the stored read model was left as it was.")
            label += f" in {workers} shares"
        else:
            follower.rebuild(names, advance)
        seconds = time.perf_counter() - started

    rate = read / seconds if seconds > 0 else 0.0
    position = read_models.projector.positions[names[0]]
    out().print(
        f"rebuilt {label}: {read} events in {seconds:.2f} s "
        f"({rate:,.0f} events/s); checkpoint {position}"
    )
