"""`groundswell tokens ...`: issue, list and revoke the bearer tokens of the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer

from domain.errors import NotFound
from groundswell.bootstrap import build_tokens
from groundswell.cli.boards import table, text
from groundswell.cli.common import engine, fail, out, session

app = typer.Typer(help="Bearer tokens for the HTTP API (stored hashed).", no_args_is_help=True)


@app.command("issue")
def issue(
    ctx: typer.Context,
    handle: Annotated[str, typer.Argument(help="Whose token: a registered person's handle.")],
    label: Annotated[str, typer.Option(help="What the token is for, e.g. 'chat bot'.")] = "",
) -> None:
    """Issue a token for HANDLE and print it once; only its hash is kept."""
    try:
        engine(ctx).person(handle)
    except NotFound as missing:
        fail(missing.message, missing.field)
    tokens = build_tokens(session(ctx).settings)
    try:
        token, info = tokens.issue(handle, label)
    finally:
        tokens.close()
    out().print(f"token {info.token_id} for {handle} (shown once; keep it secret):")
    typer.echo(token)


@app.command("list")
def list_tokens(
    ctx: typer.Context,
    handle: Annotated[str | None, typer.Argument(help="Only this person's tokens.")] = None,
) -> None:
    """Tokens issued (never the tokens themselves): id, holder, label, issued, revoked."""
    tokens = build_tokens(session(ctx).settings)
    try:
        found = tokens.list(handle)
    finally:
        tokens.close()
    shown = table("Tokens", "=id", "=holder", "label", "=issued (UTC)", "=revoked (UTC)")
    for t in found:
        revoked = (t.revoked_at or "—")[:16].replace("T", " ")
        shown.add_row(
            t.token_id, t.handle, text(t.label), t.issued_at[:16].replace("T", " "), revoked
        )
    out().print(shown if found else "No tokens issued yet.")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The token's id, as 'tokens list' shows it.")],
) -> None:
    """Revoke a token at once; requests carrying it are refused from now on."""
    tokens = build_tokens(session(ctx).settings)
    try:
        revoked = tokens.revoke(token_id)
    finally:
        tokens.close()
    if not revoked:
        fail(f"no live token with id {token_id!r}.", "token_id")
    out().print(f"token {token_id} revoked")
