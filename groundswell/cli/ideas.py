"""`groundswell idea ...`: an idea from submission through decision to implementation."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import typer

from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.cli.common import (
    Actor,
    ChallengeId,
    IdeaId,
    act,
    engine,
    id_argument,
    id_option,
    refusals,
)
from groundswell.cli.views import show

app = typer.Typer(help="Submit ideas, decide on them and follow them up.", no_args_is_help=True)


def _text(help: str) -> Any:
    return typer.Option(help=help, show_default=False)


Handle = Annotated[str, typer.Argument(help="A person's handle.")]


@app.command("submit")
def submit(
    ctx: typer.Context,
    challenge_id: ChallengeId,
    actor: Actor,
    title: Annotated[str, _text("A short title.")],
    description: Annotated[str, _text("What the idea is and why it helps.")],
) -> None:
    """Submit an idea to an open challenge (you are its author)."""
    act(
        ctx,
        "submitted idea",
        lambda e: e.submit_idea(actor, challenge_id, title=title, description=description),
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    title: Annotated[str | None, _text("A new title.")] = None,
    description: Annotated[str | None, _text("A new description.")] = None,
) -> None:
    """Change an idea's title or description until it is under review (team only)."""

    def command(e: Engine) -> Receipt:
        idea = e.idea(idea_id)
        return e.edit_idea(
            actor,
            idea_id,
            title=idea.title if title is None else title,
            description=idea.description if description is None else description,
        )

    act(ctx, "edited idea", command)


@app.command("withdraw")
def withdraw(ctx: typer.Context, idea_id: IdeaId, actor: Actor) -> None:
    """Withdraw your idea before it is decided (author only)."""
    act(ctx, "withdrew idea", lambda e: e.withdraw_idea(actor, idea_id))


@app.command("invite")
def invite(ctx: typer.Context, idea_id: IdeaId, invitee: Handle, actor: Actor) -> None:
    """Invite someone to the idea's team (team only)."""
    act(ctx, f"invited {invitee} to idea", lambda e: e.invite_to_team(actor, idea_id, invitee))


@app.command("join")
def join(ctx: typer.Context, idea_id: IdeaId, actor: Actor) -> None:
    """Accept an invitation to an idea's team."""
    act(ctx, f"{actor} joined the team of idea", lambda e: e.join_team(actor, idea_id))


@app.command("ask-reviewer")
def ask_reviewer(ctx: typer.Context, idea_id: IdeaId, reviewer: Handle, actor: Actor) -> None:
    """Ask someone outside the team for a review score (manager)."""
    act(ctx, f"asked {reviewer} to review idea", lambda e: e.ask_reviewer(actor, idea_id, reviewer))


@app.command("review")
def review(ctx: typer.Context, idea_id: IdeaId, actor: Actor) -> None:
    """Put a submitted idea under review (manager)."""
    act(ctx, "put idea under review", lambda e: e.start_review(actor, idea_id))


@app.command("accept")
def accept(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    note: Annotated[str, typer.Option(help="Why, or what happens next.")] = "",
) -> None:
    """Accept an idea under review (manager)."""
    act(ctx, "accepted idea", lambda e: e.accept_idea(actor, idea_id, note))


@app.command("reject")
def reject(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    reason: Annotated[str, _text("Why; the authors read this.")],
) -> None:
    """Reject an undecided idea, with a reason (manager)."""
    act(ctx, "rejected idea", lambda e: e.reject_idea(actor, idea_id, reason))


@app.command("merge")
def merge(
    ctx: typer.Context,
    duplicate_id: Annotated[UUID, id_argument("DUPLICATE", "The duplicate idea's id.")],
    into: Annotated[UUID, id_option("--into", "TARGET", "The id of the idea it duplicates.")],
    actor: Actor,
) -> None:
    """Merge a duplicate into another idea of the same challenge (manager)."""
    act(ctx, "merged idea", lambda e: e.merge_idea(actor, duplicate_id, into))


@app.command("unmerge")
def unmerge(ctx: typer.Context, duplicate_id: IdeaId, actor: Actor) -> None:
    """Undo a merge; the duplicate gets its earlier status back (manager)."""
    act(ctx, "undid merge of idea", lambda e: e.undo_merge(actor, duplicate_id))


@app.command("take-over")
def take_over(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    core_process: Annotated[str, _text("The core process it becomes part of.")],
    external_ref: Annotated[str, typer.Option(help="Ticket or project reference.")] = "",
    owner: Annotated[
        str | None, typer.Option(help="Hand over to this owner (a manager); default: you.")
    ] = None,
) -> None:
    """Hand an accepted idea to an owner (a manager of its challenge), or, as an owner, ask
    to take it over: the challenge's managers then hand it over to you."""
    app = engine(ctx)
    with refusals():
        manages = app.challenge(app.idea(idea_id).challenge_id).is_manager(actor)
    what = (
        f"{owner or actor} owns the implementation of idea"
        if manages
        else f"{actor} asked the managers to take over idea"
    )
    act(
        ctx,
        what,
        lambda e: e.take_over_idea(
            actor, idea_id, core_process=core_process, external_ref=external_ref, owner=owner
        ),
    )


@app.command("reassign")
def reassign(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    owner: Annotated[str, typer.Option(help="The owner who takes the implementation on.")],
) -> None:
    """Give an idea in implementation to another owner (manager)."""
    act(
        ctx,
        f"{owner} owns the implementation of idea",
        lambda e: e.reassign_owner(actor, idea_id, owner),
    )


@app.command("progress")
def progress(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    note: Annotated[str, _text("What has happened since the last report.")],
) -> None:
    """Report implementation progress (owner)."""
    act(ctx, "reported progress on idea", lambda e: e.report_progress(actor, idea_id, note))


@app.command("implemented")
def implemented(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    impact: Annotated[str, _text("What changed, measured if you can.")],
) -> None:
    """Mark an idea implemented, with its impact (owner)."""
    act(ctx, "implemented idea", lambda e: e.mark_implemented(actor, idea_id, impact))


@app.command("abandon")
def abandon(
    ctx: typer.Context,
    idea_id: IdeaId,
    actor: Actor,
    reason: Annotated[str, _text("Why it was stopped.")],
) -> None:
    """Stop an idea's implementation, with a reason (owner)."""
    act(ctx, "abandoned idea", lambda e: e.abandon_idea(actor, idea_id, reason))


@app.command("show")
def show_idea(ctx: typer.Context, idea_id: IdeaId) -> None:
    """The idea's status, team, decision and follow-up, and its full history."""
    app_ = engine(ctx)
    with refusals():
        idea = app_.idea(idea_id)
    show(
        f"Idea {idea.title}",
        [
            ("Id", idea.id),
            ("Challenge", idea.challenge_id),
            ("Status", idea.status),
            ("Author", f"{idea.author} ({idea.department})"),
            ("Team", idea.team),
            ("Invited", idea.invited),
            ("Reviewers", idea.reviewers),
            ("Reason", idea.decision_reason),
            ("Merged into", idea.merged_into),
            ("Duplicates", idea.duplicates),
            ("Owner", idea.owner),
            ("Core process", idea.core_process),
            ("External ref", idea.external_ref),
            ("Progress", idea.progress[-1] if idea.progress else None),
            ("Impact", idea.impact),
            ("Description", idea.description),
        ],
        app_.history(idea.id),
    )
