"""The reward store: its catalogue (administrators keep it), redeeming an item, and the
fulfilment of redemptions (the person sees theirs; administrators settle them)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from domain.errors import NotFound
from domain.person import Role
from groundswell.http import models
from groundswell.http.auth import AnyCaller, Writer, needs
from groundswell.http.common import (
    ApiDep,
    AtLeast,
    Filter,
    KeyDep,
    Limit,
    Offset,
    answer,
    paged,
    rows,
)
from groundswell.http.problems import COMMON
from projections import balances

router = APIRouter(tags=["rewards"], responses=COMMON)
ADMIN = needs(Role.ADMIN)
Handle = models.Handle


@router.get("/v1/store/items")
def list_items(
    caller: AnyCaller,
    api: ApiDep,
    retired: bool = False,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.StoreItemOut]:
    """What points can be spent on, cheapest first (retired items: administrators)."""
    with rows(api, "balances", at_least) as found:
        items = balances.store_items(found, retired=retired and caller.has(Role.ADMIN))
    return models.Page[models.StoreItemOut](**paged(items, limit, offset, api))


@router.get("/v1/store/items/{item_id}")
def get_item(
    item_id: UUID, _: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> models.StoreItemOut:
    """One store item: price, stock, offered or retired."""
    with rows(api, "balances", at_least) as found:
        item = found.get("items", str(item_id))
    if item is None:
        raise NotFound(f"no store item with id {item_id}.")
    return models.StoreItemOut(**item)


@router.post("/v1/store/items", status_code=201, dependencies=[ADMIN])
def offer_item(
    body: models.StoreItemIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Add an item to the store, with its price in points and, optionally, its stock."""
    return answer(
        api,
        key,
        response,
        lambda e: e.offer_item(
            body.name, price=body.price, stock=body.stock, description=body.description,
            actor=caller.handle,
        ),
    )  # fmt: skip


@router.put("/v1/store/items/{item_id}/price", dependencies=[ADMIN])
def reprice_item(
    item_id: UUID,
    body: models.PriceIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Change an item's price; redemptions already made keep the price they paid."""
    return answer(
        api, key, response, lambda e: e.reprice_item(item_id, body.price, actor=caller.handle)
    )


@router.put("/v1/store/items/{item_id}/stock", dependencies=[ADMIN])
def restock_item(
    item_id: UUID,
    body: models.StockIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Set how many are left (null: unlimited)."""
    return answer(
        api, key, response, lambda e: e.restock_item(item_id, body.stock, actor=caller.handle)
    )


@router.post("/v1/store/items/{item_id}/retire", dependencies=[ADMIN])
def retire_item(
    item_id: UUID, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Take an item out of the store (what was redeemed stays as it is)."""
    return answer(api, key, response, lambda e: e.retire_item(item_id, actor=caller.handle))


@router.post("/v1/store/items/{item_id}/reactivate", dependencies=[ADMIN])
def reactivate_item(
    item_id: UUID, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Offer a retired item again."""
    return answer(api, key, response, lambda e: e.reactivate_item(item_id, actor=caller.handle))


@router.post("/v1/me/redemptions", status_code=201, tags=["me"])
def redeem(
    body: models.RedemptionIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Redeem a store item at its current price (send ``points`` to make sure it is the
    price you saw: another is refused); never more than one's balance. The answer's id
    is the redemption's."""
    return answer(
        api, key, response, lambda e: e.redeem_item(caller.handle, body.item_id, body.points)
    )


@router.get("/v1/me/redemptions", tags=["me"])
def my_redemptions(
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.RedemptionOut]:
    """What I redeemed, newest first, and whether it was fulfilled or cancelled."""
    with rows(api, "balances", at_least) as found:
        items = balances.redemptions(found, handle=caller.handle)
    return models.Page[models.RedemptionOut](**paged(items, limit, offset, api))


@router.get("/v1/redemptions", dependencies=[ADMIN])
def list_redemptions(
    api: ApiDep,
    status: Filter = None,
    handle: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.RedemptionOut]:
    """Everyone's redemptions, newest first; ``status=requested`` lists those to settle."""
    with rows(api, "balances", at_least) as found:
        items = balances.redemptions(found, handle=handle, status=status)
    return models.Page[models.RedemptionOut](**paged(items, limit, offset, api))


def _owner_of(api: ApiDep, redemption_id: UUID, at_least: int) -> str:
    with rows(api, "balances", at_least) as found:
        row = found.get("redemptions", str(redemption_id))
    if row is None:
        raise NotFound(f"no redemption with id {redemption_id}.")
    return str(row["handle"])


@router.post("/v1/redemptions/{redemption_id}/fulfil", dependencies=[ADMIN])
def fulfil(
    redemption_id: UUID,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
    at_least: AtLeast = 0,
) -> models.Receipt:
    """The item was handed over."""
    handle = _owner_of(api, redemption_id, at_least)
    return answer(
        api,
        key,
        response,
        lambda e: e.fulfil_redemption(handle, redemption_id, actor=caller.handle),
    )


@router.post("/v1/redemptions/{redemption_id}/cancel", dependencies=[ADMIN])
def cancel(
    redemption_id: UUID,
    body: models.CancelIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
    at_least: AtLeast = 0,
) -> models.Receipt:
    """Cancel a redemption, with the reason: its points go back, and the item into stock."""
    handle = _owner_of(api, redemption_id, at_least)
    return answer(
        api,
        key,
        response,
        lambda e: e.cancel_redemption(handle, redemption_id, body.reason, actor=caller.handle),
    )
