"""`groundswell audit export --out DIR`: the history as Avro, JSON lines and a manifest."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from groundswell.audit.export import ExportRefused, export
from groundswell.cli.common import fail, id_option, out, refusals, session


class Codec(StrEnum):
    DEFLATE = "deflate"
    NULL = "null"


OutDir = Annotated[
    Path,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Where to write events.avro, events.jsonl and manifest.json (created if missing).",
        show_default=False,
    ),
]
OnlyChallenge = Annotated[
    UUID | None,
    id_option(
        "--challenge",
        "ID",
        "Only this challenge: its events, its ideas' and contributions', and the rewards "
        "people received from it.",
    ),
]
AvroCodec = Annotated[
    Codec, typer.Option(help="Avro block compression: deflate is ~3x smaller, null faster.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `groundswell audit`."""
    app.command(
        "export",
        short_help="Export the history (or one challenge's) as Avro and JSON lines, with "
        "a manifest.",
    )(export_command)


def export_command(
    ctx: typer.Context,
    out_dir: OutDir,
    challenge: OnlyChallenge = None,
    codec: AvroCodec = Codec.DEFLATE,
) -> None:
    """Export the whole history (or one challenge's) as an Avro container file, JSON lines
    and a manifest with counts, positions, SHA-256 of each file and the hash chain's head."""
    engine = session(ctx).engine
    with Progress(
        TextColumn("exporting"),
        BarColumn(),
        TextColumn("position {task.completed:,.0f} of {task.total:,.0f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as progress:
        task = progress.add_task("export", total=engine.last_position or 1)

        def advance(position: int, upto: int) -> None:
            progress.update(task, completed=position, total=upto)

        started = time.perf_counter()
        with refusals():
            try:
                manifest = export(
                    engine, out_dir, challenge_id=challenge, codec=codec.value, progress=advance
                )
            except ExportRefused as refused:
                fail(str(refused))
        seconds = time.perf_counter() - started
    total = manifest["total"]
    rate = total / seconds if seconds > 0 else 0.0
    span = f"positions {manifest['first_position']}–{manifest['last_position']}" if total else ""
    scope = f"challenge {challenge}" if challenge else "the whole history"
    out().print(
        f"exported {total} events of {scope} ({span or 'none'}) to {out_dir} "
        f"in {seconds:.2f} s ({rate:,.0f} events/s)"
    )
    for f in manifest["files"]:
        out().print(f"  {f['name']:<13} {f['bytes']:>12,} bytes  sha256 {f['sha256']}")
    head = manifest["chain_head"]
    if head is None:
        out().print(f"  chain head: none ({manifest['chain_note']})")
    else:
        out().print(f"  chain head: position {head['position']}, hash {head['hash']}")
