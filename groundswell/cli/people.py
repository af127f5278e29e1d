"""`groundswell people ...`: register people, pseudonyms, departments, roles, wallets."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.errors import NotFound
from groundswell.app.services.people import SYSTEM
from groundswell.cli.common import Actor, AdminActor, act, engine, fail
from groundswell.cli.views import show

app = typer.Typer(help="Register people and look at what they hold.", no_args_is_help=True)

Handle = Annotated[str, typer.Argument(help="Their handle: lowercase letters, digits, . _ -")]
Roles = Annotated[
    list[str] | None,
    typer.Option(
        "--role",
        help="contributor, manager, owner, auditor or admin; repeat for several.",
        show_default=False,
    ),
]


@app.command("add")
def add(
    ctx: typer.Context,
    handle: Handle,
    name: Annotated[str, typer.Option(help="Their full name.", show_default=False)],
    department: Annotated[str, typer.Option(help="Their department.", show_default=False)],
    pseudonym: Annotated[
        str | None, typer.Option(help="Shown instead of the name on public boards.")
    ] = None,
    role: Roles = None,
    email: Annotated[
        str | None, typer.Option(help="Where their notifications are e-mailed.")
    ] = None,
    actor: AdminActor = SYSTEM,
) -> None:
    """Register someone who may take part (a contributor unless --role says otherwise)."""
    act(
        ctx,
        f"registered {handle}",
        lambda e: e.register_person(
            handle,
            name=name,
            department=department,
            pseudonym=pseudonym,
            roles=role or None,
            email=email,
            actor=actor,
        ),
    )


@app.command("email")
def email(
    ctx: typer.Context,
    handle: Handle,
    address: Annotated[str | None, typer.Argument(help="The new e-mail address.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="E-mail them nothing.")] = False,
    actor: AdminActor = SYSTEM,
) -> None:
    """Set or remove the address someone's notifications are e-mailed to."""
    if (address is None) == (not clear):
        fail("give an e-mail address, or --clear to remove it.", "email")
    act(
        ctx,
        f"e-mail address of {handle} changed",
        lambda e: e.change_email(handle, address, actor=actor),
    )


@app.command("pseudonym")
def pseudonym(
    ctx: typer.Context,
    actor: Actor,
    name: Annotated[str | None, typer.Argument(help="The pseudonym to show.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Show the real name again.")] = False,
) -> None:
    """Choose the pseudonym shown on public boards (for yourself only)."""
    if (name is None) == (not clear):
        fail("give a pseudonym, or --clear to show your name again.", "pseudonym")
    act(ctx, f"pseudonym of {actor} changed", lambda e: e.choose_pseudonym(actor, name))


@app.command("department")
def department(
    ctx: typer.Context,
    handle: Handle,
    department: Annotated[str, typer.Argument(help="The new department.")],
    actor: AdminActor = SYSTEM,
) -> None:
    """Move someone to another department."""
    act(
        ctx,
        f"moved {handle} to {department}",
        lambda e: e.change_department(handle, department, actor=actor),
    )


@app.command("roles")
def roles(
    ctx: typer.Context, handle: Handle, role: Roles = None, actor: AdminActor = SYSTEM
) -> None:
    """Replace someone's roles."""
    act(
        ctx, f"roles of {handle} changed", lambda e: e.change_roles(handle, role or [], actor=actor)
    )


@app.command("disable")
def disable(
    ctx: typer.Context,
    handle: Handle,
    reason: Annotated[str, typer.Option(help="Why, kept in the history for other administrators.")],
    actor: AdminActor = SYSTEM,
) -> None:
    """Stop someone acting and reading: their tokens and sign-ins are refused."""
    act(ctx, f"disabled {handle}", lambda e: e.disable_person(handle, reason, actor=actor))


@app.command("enable")
def enable(ctx: typer.Context, handle: Handle, actor: AdminActor = SYSTEM) -> None:
    """Let a disabled person act and read again (their unrevoked tokens work again)."""
    act(ctx, f"enabled {handle}", lambda e: e.enable_person(handle, actor=actor))


@app.command("show")
def show_person(ctx: typer.Context, handle: Handle) -> None:
    """Department, pseudonym, roles, balance and earnings, and the full history."""
    app_ = engine(ctx)
    try:
        person = app_.person(handle)
    except NotFound:
        fail(f"nobody with handle {handle!r} is registered.", "handle")
    show(
        f"Person {person.handle}",
        [
            ("Name", person.name),
            ("Department", person.department),
            ("Pseudonym", person.pseudonym),
            ("Roles", person.roles),
            *([("Disabled", person.disabled)] if person.disabled else []),
            ("E-mail", person.email),
            ("Balance", f"{person.balance} points"),
            ("Earned", f"{person.earned} points"),
            ("Id", person.id),
        ],
        app_.history(person.id),
    )
