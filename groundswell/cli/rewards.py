"""`groundswell reward ...`: grant what the policy names, award prizes, redeem store items."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from domain.challenge import Challenge
from domain.words import ordinal, reward_reason
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.cli.common import Actor, act, engine, id_argument, out

app = typer.Typer(help="Pay rewards from a challenge's pot; spend them.", no_args_is_help=True)

SubjectId = Annotated[UUID, id_argument("SUBJECT", "The idea or contribution rewarded.")]


def say_shares(app_: Engine, receipt: Receipt, reason: str, subject_id: UUID) -> None:
    """Tell who received what: the shares of the grant just written."""
    assert receipt.id is not None
    for event in reversed(app_.history(receipt.id)):
        if (
            isinstance(event, Challenge.RewardGranted)
            and event.reason == reason
            and event.subject_id == subject_id
        ):
            shares = ", ".join(f"{who} +{points}" for who, points in event.shares.items())
            out().print(f"  {event.amount} points: {shares}")
            return


@app.command("grant")
def grant(ctx: typer.Context, reason: str, subject_id: SubjectId, actor: Actor) -> None:
    """Grant REASON (idea-accepted, idea-implemented, helpful-contribution, prize-N)."""
    receipt = act(
        ctx,
        f"granted the reward for the {reward_reason(reason)} from the pot of challenge",
        lambda e: e.grant_reward(actor, reason, subject_id),
    )
    say_shares(engine(ctx), receipt, reason, subject_id)


@app.command("prize")
def prize(
    ctx: typer.Context,
    idea_id: Annotated[UUID, id_argument("IDEA", "The idea that wins the prize.")],
    rank: Annotated[int, typer.Option(help="1 for the first prize, 2 for the second...")],
    actor: Actor,
) -> None:
    """Award the challenge's prize of RANK to an accepted idea's team."""
    receipt = act(
        ctx,
        f"awarded the {ordinal(rank)} prize from the pot of challenge",
        lambda e: e.award_prize(actor, idea_id, rank),
    )
    say_shares(engine(ctx), receipt, f"prize-{rank}", idea_id)


@app.command("redeem")
def redeem(
    ctx: typer.Context,
    item_id: Annotated[UUID, id_argument("ITEM", "The store item ('groundswell store items').")],
    actor: Actor,
    points: Annotated[
        int | None, typer.Option(help="The price you expect; another price is refused.")
    ] = None,
) -> None:
    """Spend your own points on a store item, at its current price."""
    act(ctx, f"{actor} redeemed", lambda e: e.redeem_item(actor, item_id, points))
    out().print(f"  balance now {engine(ctx).person(actor).balance} points")
