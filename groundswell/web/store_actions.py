"""The reward store's forms, for administrators: offer an item, change its price or stock,
retire it or offer it again, and fulfil or cancel a redemption. The same engine commands as
the API's ``/v1/store`` and ``/v1/redemptions`` routes, through ``actions.act``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response

from groundswell.http.auth import Caller
from groundswell.web import pages
from groundswell.web.actions import Command, Key, Long, Short, act, numbers
from groundswell.web.render import PageRoute
from groundswell.web.session import Poster

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def store_action(
    request: Request, caller: Caller, key: str, fields: dict[str, Any], command: Command
) -> Response:
    return act(request, caller, key, fields, [command], lambda _: "/web/store", pages.store_page)


@router.post("/web/store/items")
def offer_item(
    request: Request,
    caller: Poster,
    form_key: Key,
    name: Short,
    price: Annotated[int, Form(gt=0, le=1_000_000_000)],
    stock: Annotated[str, Form(max_length=12)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    count = numbers(stock, "stock")
    fields = {"name": name, "price": price, "stock": stock, "description": description}
    return store_action(
        request, caller, form_key, fields,
        lambda e: e.offer_item(
            name, price=price, stock=count[0] if count else None, description=description,
            actor=caller.handle,
        ),
    )  # fmt: skip


@router.post("/web/store/items/{item_id}")
def change_item(
    request: Request,
    item_id: UUID,
    caller: Poster,
    form_key: Key,
    change: Annotated[str, Form(pattern="^(price|stock|retire|reactivate)$")],
    value: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """One change to an item: its price, its stock (empty: unlimited), retire or offer again."""
    actor = caller.handle
    count = numbers(value, change)
    commands: dict[str, Command] = {
        "price": lambda e: e.reprice_item(item_id, count[0] if count else 0, actor=actor),
        "stock": lambda e: e.restock_item(item_id, count[0] if count else None, actor=actor),
        "retire": lambda e: e.retire_item(item_id, actor=actor),
        "reactivate": lambda e: e.reactivate_item(item_id, actor=actor),
    }
    fields = {"item": str(item_id), "change": change, "value": value}
    return store_action(request, caller, form_key, fields, commands[change])


@router.post("/web/store/redemptions/{redemption_id}")
def settle_redemption(
    request: Request,
    redemption_id: UUID,
    caller: Poster,
    form_key: Key,
    handle: Annotated[str, Form(max_length=40)],
    outcome: Annotated[str, Form(pattern="^(fulfil|cancel)$")],
    reason: Long = "",
) -> Response:
    """Fulfil a redemption, or cancel it (with the reason) and give its points back."""
    actor = caller.handle
    command: Command = (
        (lambda e: e.fulfil_redemption(handle, redemption_id, actor=actor))
        if outcome == "fulfil"
        else (lambda e: e.cancel_redemption(handle, redemption_id, reason, actor=actor))
    )
    fields = {"redemption": str(redemption_id), "outcome": outcome, "reason": reason}
    return store_action(request, caller, form_key, fields, command)
