"""What every command module shares: the lazily built engine, ids, the acting person, output."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn
from uuid import UUID

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.text import Text

from domain.errors import DomainError, NotFound
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_read_models
from groundswell.reads.read_models import ReadModels
from groundswell.settings import Settings


class Session:
    """The settings the root command was given; the engine and read models, built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._read_models: ReadModels | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = build_engine(self.settings)
            except ValueError as error:  # a DATABASE_URL that is not a PostgreSQL URL
                raise typer.BadParameter(str(error), param_hint="--database-url") from None
            except (PersistenceError, OSError) as error:
                fail(f"cannot open the event store: {error}")
        return self._engine

    @property
    def read_models(self) -> ReadModels:
        """Every projection, fed in-process from the engine's notification log."""
        if self._read_models is None:
            engine = self.engine
            try:
                self._read_models = build_read_models(engine, self.settings)
            except (sqlite3.Error, OSError) as error:
                fail(f"cannot open the read models: {error}")
        return self._read_models

    def close(self) -> None:
        if self._read_models is not None:
            self._read_models.close()
            self._read_models = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def session(ctx: typer.Context) -> Session:
    found = ctx.find_object(Session)
    assert found is not None, "the root command's callback sets up the session"
    return found


def engine(ctx: typer.Context) -> Engine:
    return session(ctx).engine


def parse_id(value: str) -> UUID:
    """Ids are UUIDs; anything else is a usage error (exit 2)."""
    try:
        return UUID(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an id; ids look like 0b6c5e0e-8a4f-4c1b-9d0a-3f2e1c4b5a69."
        ) from None


def id_argument(metavar: str, help: str) -> Any:
    return typer.Argument(parser=parse_id, metavar=metavar, help=help, show_default=False)


def id_option(flag: str, metavar: str, help: str) -> Any:
    return typer.Option(flag, parser=parse_id, metavar=metavar, help=help, show_default=False)


Actor = Annotated[
    str,
    typer.Option(
        "--as",
        metavar="HANDLE",
        help="The person acting; contributors act only as themselves.",
        show_default=False,
    ),
]
AdminActor = Annotated[
    str, typer.Option("--as", metavar="HANDLE", help="The administrator acting.")
]
ChallengeId = Annotated[UUID, id_argument("CHALLENGE", "The challenge's id.")]
IdeaId = Annotated[UUID, id_argument("IDEA", "The idea's id.")]
ContributionId = Annotated[UUID, id_argument("CONTRIBUTION", "The contribution's id.")]


def out() -> Console:
    # Built per call so the console writes to whatever stdout is current (CliRunner swaps it).
    return Console(highlight=False, soft_wrap=True)


def fail(message: str, field: str | None = None) -> NoReturn:
    """Say why nothing was written, in red on stderr, and exit with status 1."""
    line = f"error: {message}" + (f" (field: {field})" if field else "")
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(line, style="red"))
    raise typer.Exit(1)


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a domain refusal into ``error: ...`` and exit status 1."""
    try:
        yield
    except DomainError as error:
        message = error.message
        if isinstance(error, NotFound) and error.field == "handle":
            message += " ('groundswell people add HANDLE' registers someone.)"
        fail(message, error.field)


def act(ctx: typer.Context, what: str, command: Callable[[Engine], Receipt]) -> Receipt:
    """Run one engine command and print one line: what happened, the id, the position."""
    app = engine(ctx)
    with refusals():
        receipt = command(app)
    if receipt.position is None:
        out().print(f"{what}: nothing changed")
    else:
        out().print(f"{what}: id {receipt.id}, position {receipt.position}")
    return receipt
