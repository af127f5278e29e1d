"""The root command: global options, the command groups, and the demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from groundswell.cli import (
    audit,
    boards,
    challenges,
    contributions,
    deliver,
    follow_up,
    ideas,
    people,
    projections,
    rewards,
    search,
    store,
    tokens,
)
from groundswell.cli.common import Session, fail, out, session
from groundswell.cli.export import export as export_command
from groundswell.cli.project import register as register_project
from groundswell.cli.relay import relay as relay_command
from groundswell.cli.serve import serve as serve_command
from groundswell.demo.seed import DemoRefused, run_demo
from groundswell.settings import DEFAULT_DATA_DIR, Settings

app = typer.Typer(
    name="groundswell",
    help="Challenges, ideas, contributions and rewards: every step an immutable event.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(people.app, name="people")
app.add_typer(challenges.app, name="challenge")
app.add_typer(ideas.app, name="idea")
app.add_typer(contributions.app, name="contribution")
app.add_typer(rewards.app, name="reward")
app.add_typer(store.app, name="store")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")
boards.register(app)
app.add_typer(follow_up.app, name="follow-up", rich_help_panel=boards.PANEL)
app.command("desk", rich_help_panel=boards.PANEL)(follow_up.desk_command)
app.command("export", rich_help_panel=boards.PANEL)(export_command)
app.command("search", rich_help_panel=boards.PANEL)(search.search_command)
register_project(app)
app.add_typer(projections.app, name="projections", rich_help_panel=boards.PANEL)
app.command("relay")(relay_command)
app.command("deliver")(deliver.deliver)
app.add_typer(deliver.app, name="delivery")
app.command("serve")(serve_command)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="GROUNDSWELL_DATA_DIR",
            help="Where the embedded SQLite event store lives.",
        ),
    ] = DEFAULT_DATA_DIR,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="DATABASE_URL",
            help="postgresql://user:password@host:5432/dbname; overrides --data-dir.",
            show_default=False,
        ),
    ] = None,
) -> None:
    # Whatever a command writes (the store, token files, exports) is its owner's alone.
    os.umask(0o077)
    # Only settings here: the engine is built when a command first needs it.
    found = Session(Settings(data_dir=data_dir, database_url=database_url))
    ctx.obj = found
    ctx.call_on_close(found.close)


@app.command("demo")
def demo(
    ctx: typer.Context,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete the SQLite event store first.")
    ] = False,
) -> None:
    """Simulate an organisation running three challenges, then show what happened."""
    try:
        run_demo(session(ctx).settings, fresh=fresh, console=out())
    except DemoRefused as refused:
        fail(str(refused))


def main() -> None:
    """Entry point of the ``groundswell`` console script."""
    app()
