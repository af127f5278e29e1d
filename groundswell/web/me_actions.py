"""My home's settings: my e-mail address, how I am e-mailed about each kind of notification,
and my quiet hours. The same engine commands as the API's ``PUT /v1/people/{me}/email``,
``PUT /v1/me/email-preferences/{kind}`` and ``PUT /v1/me/quiet-hours``, through
``actions.me_action``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response

from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http.delivery import ChoiceIn, EmailIn, QuietHoursIn
from groundswell.web.actions import Key, me_action
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
