"""`groundswell challenge ...`: what an innovation manager does with a challenge."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from groundswell.cli.common import Actor, ChallengeId, act, engine, refusals
from groundswell.cli.views import show

app = typer.Typer(help="Draft, run and put away challenges.", no_args_is_help=True)


def _opt(help: str) -> Any:
    return typer.Option(help=help, show_default=False)


Title = Annotated[str, _opt("A short title.")]
Question = Annotated[str, _opt("The question put to the organisation.")]
Sponsor = Annotated[str, _opt("Who in management stands behind it.")]
Departments = Annotated[
    list[str], typer.Option("--department", help="A target department; repeat for several.")
]
Deadline = Annotated[str, _opt("Last day for submissions, YYYY-MM-DD.")]
DecisionDays = Annotated[int, _opt("Days within which each idea must get a decision.")]
Prizes = Annotated[
    list[int] | None,
    typer.Option(
        "--prize", help="Points for prize 1, 2, ... in order; repeat.", show_default=False
    ),
]


@app.command("draft")
def draft(
    ctx: typer.Context,
    actor: Actor,
    title: Title,
    question: Question,
    sponsor: Sponsor,
    department: Departments,
    submission_deadline: Deadline,
    decision_days: DecisionDays,
    pot: Annotated[int, typer.Option(help="Points moved from the treasury into the pot.")] = 0,
    accepted_points: Annotated[int, typer.Option(help="Points per accepted idea.")] = 0,
    implemented_points: Annotated[int, typer.Option(help="Points per implemented idea.")] = 0,
    helpful_points: Annotated[int, typer.Option(help="Points per helpful contribution.")] = 0,
    prize: Prizes = None,
) -> None:
    """Draft a challenge with its pot and reward policy (you become its manager)."""
    act(
        ctx,
        "drafted challenge",
        lambda e: e.draft_challenge(
            actor,
            pot=pot,
            title=title,
            question=question,
            sponsor=sponsor,
            target_departments=department,
            submission_deadline=submission_deadline,
            decision_deadline_days=decision_days,
            accepted_idea_points=accepted_points,
            implemented_idea_points=implemented_points,
            helpful_contribution_points=helpful_points,
            prize_points=prize or [],
        ),
    )


@app.command("edit")
def edit(
    ctx: typer.Context,
    challenge_id: ChallengeId,
    actor: Actor,
    title: Annotated[str | None, _opt("A short title.")] = None,
    question: Annotated[str | None, _opt("The question.")] = None,
    sponsor: Annotated[str | None, _opt("The sponsor.")] = None,
    department: Annotated[
        list[str] | None, typer.Option("--department", help="Replaces the target departments.")
    ] = None,
    submission_deadline: Annotated[str | None, _opt("YYYY-MM-DD.")] = None,
    decision_days: Annotated[int | None, _opt("Days to decide each idea.")] = None,
    accepted_points: Annotated[int | None, _opt("Points per accepted idea.")] = None,
    implemented_points: Annotated[int | None, _opt("Points per implemented idea.")] = None,
    helpful_points: Annotated[int | None, _opt("Points per helpful contribution.")] = None,
    prize: Prizes = None,
) -> None:
    """Change a draft's terms; what you leave out stays as it is."""
    given = {
        "title": title,
        "question": question,
        "sponsor": sponsor,
        "target_departments": department,
        "submission_deadline": submission_deadline,
        "decision_deadline_days": decision_days,
        "accepted_idea_points": accepted_points,
        "implemented_idea_points": implemented_points,
        "helpful_contribution_points": helpful_points,
        "prize_points": prize,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    act(ctx, "edited challenge", lambda e: e.edit_challenge(actor, challenge_id, **changes))


@app.command("open")
def open_(ctx: typer.Context, challenge_id: ChallengeId, actor: Actor) -> None:
    """Open a draft for submissions."""
    act(ctx, "opened challenge", lambda e: e.open_challenge(actor, challenge_id))


@app.command("review")
def review(ctx: typer.Context, challenge_id: ChallengeId, actor: Actor) -> None:
    """Stop submissions and move the challenge to review."""
    act(ctx, "moved challenge to review", lambda e: e.move_challenge_to_review(actor, challenge_id))


@app.command("close")
def close(ctx: typer.Context, challenge_id: ChallengeId, actor: Actor) -> None:
    """Close a challenge in review."""
    act(ctx, "closed challenge", lambda e: e.close_challenge(actor, challenge_id))


@app.command("archive")
def archive(ctx: typer.Context, challenge_id: ChallengeId, actor: Actor) -> None:
    """Archive a closed challenge; what is left in the pot returns to the treasury."""
    act(ctx, "archived challenge", lambda e: e.archive_challenge(actor, challenge_id))


@app.command("top-up")
def top_up(
    ctx: typer.Context,
    challenge_id: ChallengeId,
    points: Annotated[int, typer.Argument(help="Points moved from the treasury to the pot.")],
    actor: Actor,
) -> None:
    """Move more points from the treasury into the pot."""
    act(ctx, f"topped up the pot by {points}", lambda e: e.top_up_pot(actor, challenge_id, points))


@app.command("add-manager")
def add_manager(
    ctx: typer.Context,
    challenge_id: ChallengeId,
    manager: Annotated[str, typer.Argument(help="Handle of a person with the manager role.")],
    actor: Actor,
) -> None:
    """Let another manager run this challenge too."""
    act(
        ctx,
        f"{manager} now manages challenge",
        lambda e: e.add_manager(actor, challenge_id, manager),
    )


@app.command("show")
def show_challenge(ctx: typer.Context, challenge_id: ChallengeId) -> None:
    """The challenge's stage, terms, pot and policy, and its full history."""
    app_ = engine(ctx)
    with refusals():
        c = app_.challenge(challenge_id)
    policy = c.policy
    show(
        f"Challenge {c.title}",
        [
            ("Id", c.id),
            ("Stage", c.stage),
            ("Question", c.question),
            ("Sponsor", c.sponsor),
            ("Departments", c.target_departments),
            ("Submissions until", c.submission_deadline),
            ("Decisions within", f"{c.decision_deadline_days} days of each submission"),
            ("Managers", c.managers),
            ("Pot", f"{c.pot} points left of {c.funded} funded, {c.granted} granted"),
            (
                "Policy",
                f"accepted {policy.accepted_idea}, implemented {policy.implemented_idea}, "
                f"helpful {policy.helpful_contribution}",
            ),
            ("Prizes", [f"{rank}: {p}" for rank, p in enumerate(policy.prizes, start=1)]),
            ("Prizes awarded", sorted(c.prizes_awarded)),
        ],
        app_.history(c.id),
    )
