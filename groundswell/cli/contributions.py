"""`groundswell contribution ...`: comments, build-ons, endorsements, review scores."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from groundswell.cli.common import (
    Actor,
    ContributionId,
    IdeaId,
    act,
    engine,
    id_option,
    refusals,
)
from groundswell.cli.views import show

app = typer.Typer(help="Give input on ideas; managers mark or moderate it.", no_args_is_help=True)

Body = Annotated[str, typer.Option(help="What you want to say.", show_default=False)]


@app.command("comment")
def comment(ctx: typer.Context, idea_id: IdeaId, actor: Actor, body: Body) -> None:
    """Comment on an idea."""
    act(ctx, "added comment", lambda e: e.comment(actor, idea_id, body))


@app.command("build-on")
def build_on(
    ctx: typer.Context,
    idea_id: IdeaId,
    links: Annotated[UUID, id_option("--links", "IDEA", "The idea that builds on this one.")],
    actor: Actor,
    body: Body,
) -> None:
    """Point from an idea to another idea that builds on it."""
    act(ctx, "added build-on", lambda e: e.build_on(actor, idea_id, body, links))


@app.command("endorse")
def endorse(ctx: typer.Context, idea_id: IdeaId, actor: Actor) -> None:
    """Endorse someone else's idea (once per idea)."""
    act(ctx, "added endorsement", lambda e: e.endorse(actor, idea_id))


@app.command("score")
def score(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    score: Annotated[int, typer.Option(help="1 (weak) to 5 (strong).", show_default=False)],
    body: Annotated[str, typer.Option(help="Why this score.")] = "",
) -> None:
    """Give the review score you were asked for (once per idea)."""
    act(ctx, "added review score", lambda e: e.give_review_score(actor, idea_id, score, body))


@app.command("helpful")
def helpful(ctx: typer.Context, contribution_id: ContributionId, actor: Actor) -> None:
    """Mark a contribution helpful, so it can be rewarded (manager)."""
    act(ctx, "marked contribution helpful", lambda e: e.mark_helpful(actor, contribution_id))


@app.command("hide")
def hide(
    ctx: typer.Context,
    contribution_id: ContributionId,
    actor: Actor,
    reason: Annotated[str, typer.Option(help="Why it is hidden.", show_default=False)],
) -> None:
    """Hide a contribution from boards; history keeps it (manager)."""
    act(ctx, "hid contribution", lambda e: e.hide_contribution(actor, contribution_id, reason))


@app.command("show")
def show_contribution(ctx: typer.Context, contribution_id: ContributionId) -> None:
    """The contribution, whether it is helpful or hidden, and its history."""
    app_ = engine(ctx)
    with refusals():
        c = app_.contribution(contribution_id)
    show(
        f"Contribution ({c.kind.value})",
        [
            ("Id", c.id),
            ("Idea", c.idea_id),
            ("Author", f"{c.author} ({c.department})"),
            ("Body", c.body),
            ("Score", c.score),
            ("Builds on it", c.linked_idea_id),
            ("Helpful", c.helpful),
            ("Hidden", f"yes: {c.hidden_reason}" if c.hidden else False),
        ],
        app_.history(c.id),
    )
