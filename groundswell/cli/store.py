"""`groundswell store ...`: the reward store's catalogue and the redemptions to settle."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from groundswell.app.services.people import SYSTEM
from groundswell.cli.boards import emit, rows, table, when
from groundswell.cli.common import AdminActor, act, fail, id_argument, out
from projections import balances

app = typer.Typer(help="The reward store: items, prices, stock, redemptions.", no_args_is_help=True)

ItemId = Annotated[UUID, id_argument("ITEM", "The store item's id.")]
RedemptionId = Annotated[UUID, id_argument("REDEMPTION", "The redemption's id.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("items")
def items(ctx: typer.Context, retired: bool = False, as_json: Json = False) -> None:
    """What points can be spent on, cheapest first (--retired: retired items too)."""
    found = balances.store_items(rows(ctx, "balances"), retired=retired)
    if as_json:
        return emit(found)
    shown = table("Reward store", "=id", "name", ">price", ">stock", "=state")
    for item in found:
        stock = "unlimited" if item["stock"] is None else str(item["stock"])
        state = "offered" if item["active"] else "retired"
        shown.add_row(item["item_id"], item["name"], str(item["price"]), stock, state)
    out().print(shown)


@app.command("offer")
def offer(
    ctx: typer.Context,
    name: str,
    price: Annotated[int, typer.Option(help="Its price in points.")],
    stock: Annotated[
        int | None, typer.Option(help="How many there are (unlimited if not given).")
    ] = None,
    description: str = "",
    actor: AdminActor = SYSTEM,
) -> None:
    """Add NAME to the store (administrators)."""
    act(
        ctx,
        f"{name!r} offered at {price} points",
        lambda e: e.offer_item(
            name, price=price, stock=stock, description=description, actor=actor
        ),
    )


@app.command("price")
def price(ctx: typer.Context, item_id: ItemId, points: int, actor: AdminActor = SYSTEM) -> None:
    """Change an item's price to POINTS."""
    act(ctx, f"price now {points} points", lambda e: e.reprice_item(item_id, points, actor=actor))


@app.command("stock")
def stock(
    ctx: typer.Context,
    item_id: ItemId,
    count: Annotated[int | None, typer.Argument(help="How many are left; none: unlimited.")] = None,
    actor: AdminActor = SYSTEM,
) -> None:
    """Set how many of an item are left."""
    act(ctx, "stock set", lambda e: e.restock_item(item_id, count, actor=actor))


@app.command("retire")
def retire(ctx: typer.Context, item_id: ItemId, actor: AdminActor = SYSTEM) -> None:
    """Take an item out of the store."""
    act(ctx, "item retired", lambda e: e.retire_item(item_id, actor=actor))


@app.command("reactivate")
def reactivate(ctx: typer.Context, item_id: ItemId, actor: AdminActor = SYSTEM) -> None:
    """Offer a retired item again."""
    act(ctx, "item offered again", lambda e: e.reactivate_item(item_id, actor=actor))


@app.command("redemptions")
def redemptions(
    ctx: typer.Context,
    handle: Annotated[str | None, typer.Option("--of", help="Only this person's.")] = None,
    status: Annotated[str | None, typer.Option(help="requested, fulfilled or cancelled.")] = None,
    as_json: Json = False,
) -> None:
    """Redemptions, newest first; --status requested lists those waiting to be settled."""
    found = balances.redemptions(rows(ctx, "balances"), handle=handle, status=status)
    if as_json:
        return emit(found)
    shown = table("Redemptions", "=id", "=who", "item", ">points", "=status", "=requested")
    for r in found:
        shown.add_row(
            r["redemption_id"], r["handle"], r["item"], str(r["points"]), r["status"],
            when(r["requested_at"]),
        )  # fmt: skip
    out().print(shown)


def _owner(ctx: typer.Context, redemption_id: UUID) -> str:
    found = rows(ctx, "balances").get("redemptions", str(redemption_id))
    if found is None:
        fail(f"no redemption with id {redemption_id}.")
    return str(found["handle"])


@app.command("fulfil")
def fulfil(ctx: typer.Context, redemption_id: RedemptionId, actor: AdminActor = SYSTEM) -> None:
    """The item was handed over."""
    handle = _owner(ctx, redemption_id)
    act(
        ctx,
        f"fulfilled for {handle}",
        lambda e: e.fulfil_redemption(handle, redemption_id, actor=actor),
    )


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    redemption_id: RedemptionId,
    reason: Annotated[str, typer.Option(help="Why, told to the person.")],
    actor: AdminActor = SYSTEM,
) -> None:
    """Cancel a redemption: its points go back to the person, the item into stock."""
    handle = _owner(ctx, redemption_id)
    act(
        ctx,
        f"cancelled; points back to {handle}",
        lambda e: e.cancel_redemption(handle, redemption_id, reason, actor=actor),
    )
