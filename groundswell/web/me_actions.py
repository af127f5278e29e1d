"""My home's settings: my e-mail address, how I am e-mailed about each kind of notification,
and my quiet hours. The same engine commands as the API's ``PUT /v1/people/{me}/email``,
``PUT /v1/me/email-preferences/{kind}`` and ``PUT /v1/me/quiet-hours``, through
``me_action``; and redeeming an item and choosing a pseudonym."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Path, Request, Response

from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http import models
from groundswell.http.auth import Caller
from groundswell.http.delivery import ChoiceIn, EmailIn, QuietHoursIn
from groundswell.web import pages
from groundswell.web.actions import Command, Key, Short, act
from groundswell.web.confirm import Confirm, Confirmed, quoted
from groundswell.web.render import PageRoute
from groundswell.web.session import Poster

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Clock = Annotated[str, Form(max_length=5)]


@router.post("/web/me/email")
def change_email(
    request: Request,
    caller: Poster,
    form_key: Key,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Where my notifications are e-mailed; empty: nowhere."""

    def changed(engine: Engine) -> Receipt:
        body = EmailIn(email=email.strip() or None)
        return engine.change_email(caller.handle, body.email, actor=caller.handle)

    return me_action(request, caller, form_key, {"email": email}, changed)


@router.post("/web/me/email-preferences/{kind}")
def choose_email(
    request: Request,
    kind: Annotated[str, Path(max_length=40)],
    caller: Poster,
    form_key: Key,
    choice: Annotated[str, Form(max_length=20)],
) -> Response:
    def chosen(engine: Engine) -> Receipt:
        body = ChoiceIn(choice=choice)
        return engine.choose_notifications(caller.handle, kind, body.choice, actor=caller.handle)

    return me_action(request, caller, form_key, {"choice": choice}, chosen)


@router.post("/web/me/quiet-hours")
def choose_quiet_hours(
    request: Request,
    caller: Poster,
    form_key: Key,
    start: Clock = "",
    end: Clock = "",
    time_zone: Annotated[str, Form(max_length=60)] = "UTC",
) -> Response:
    """Both times empty: no quiet hours."""

    def chosen(engine: Engine) -> Receipt:
        body = QuietHoursIn(start=start or None, end=end or None, time_zone=time_zone.strip())
        return engine.choose_quiet_hours(
            caller.handle, body.start, body.end, body.time_zone, actor=caller.handle
        )

    fields = {"start": start, "end": end, "time_zone": time_zone}
    return me_action(request, caller, form_key, fields, chosen)


def me_action(
    request: Request,
    caller: Caller,
    key: str,
    fields: dict[str, Any],
    command: Command,
    confirm: Confirm | None = None,
    confirmed: str = "",
) -> Response:
    """A form on my home page, answered there."""
    return act(
        request, caller, key, fields, [command], lambda _: "/web/me", pages.home_page,
        confirm, confirmed,
    )  # fmt: skip


@router.post("/web/me/redeem")
def redeem(
    request: Request,
    caller: Poster,
    form_key: Key,
    item_id: Annotated[UUID, Form()],
    points: Annotated[int, Form(gt=0, le=1_000_000_000)],
    confirmed: Confirmed = "",
) -> Response:
    """Redeem at the price the page showed: if it changed since, the refusal says so."""
    name = quoted(lambda: request.app.state.api.engine.store_item(item_id).name, "this item")
    asked = Confirm(
        f"Redeem {points} points for {name}? They come back only if an administrator "
        "cancels the redemption.",
        "Redeem",
        "/web/me",
        {"item_id": str(item_id), "points": points},
    )
    return me_action(
        request, caller, form_key, {"item_id": str(item_id), "points": points},
        lambda e: e.redeem_item(caller.handle, item_id, points), asked, confirmed,
    )  # fmt: skip


@router.post("/web/me/pseudonym")
def choose_pseudonym(
    request: Request, caller: Poster, form_key: Key, pseudonym: Short = ""
) -> Response:
    """Be shown on public boards under a pseudonym; empty: under one's name again."""

    def chosen(engine: Engine) -> Receipt:
        body = models.PseudonymIn(pseudonym=pseudonym.strip() or None)
        return engine.choose_pseudonym(caller.handle, body.pseudonym)

    return me_action(request, caller, form_key, {"pseudonym": pseudonym}, chosen)
