"""`groundswell export CHALLENGE TABLE --as HANDLE`: a challenge's ideas, contributions,
leaderboard or follow-up debt as CSV, the rows the API exports to HANDLE."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

import typer

from groundswell.bootstrap import build_tokens
from groundswell.cli.common import ChallengeId, engine, fail, refusals, session
from groundswell.http.auth import Caller
from groundswell.http.common import Api
from groundswell.http.exports import Table, as_csv, export_rows
from groundswell.http.reads import EmbeddedReadSide

TABLES = get_args(Table)


def export(
    ctx: typer.Context,
    challenge: ChallengeId,
    table: Annotated[
        str, typer.Argument(help=f"What to export: {', '.join(TABLES)}.", show_default=False)
    ],
    actor: Annotated[
        str,
        typer.Option(
            "--as",
            metavar="HANDLE",
            show_default=False,
            help="Whose view: the challenge's manager, an auditor or an administrator.",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """A challenge's rows as CSV (UTF-8, a header row, formula-safe cells), as the API's
    /v1/challenges/{id}/export/{table}.csv answers them to HANDLE."""
    if table not in TABLES:
        fail(f"TABLE must be one of {', '.join(TABLES)}, not {table!r}.", "table")
    with refusals():
        person = engine(ctx).person(actor)
        caller = Caller(actor, frozenset(person.roles), person.department)
        tokens = build_tokens(session(ctx).settings)
        try:
            api = Api(engine(ctx), EmbeddedReadSide(session(ctx).read_models), tokens)
            columns, items = export_rows(api, caller, challenge, table)
        finally:
            tokens.close()
    text = as_csv(columns, items)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8", newline="")
    typer.echo(f"{len(items)} rows written to {output}", err=True)
