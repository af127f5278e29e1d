"""E-mail over HTTP: one's address and preferences, one-click unsubscribe, the delivery log.

The unsubscribe link needs no sign-in: its signed token names the one person and the one kind
of notification it stops (RFC 8058: mail clients POST it; a GET only shows a button, since
link scanners fetch links without meaning to unsubscribe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi import Path as Path_
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from domain.errors import NotFound
from domain.person import (
    IMMEDIATELY,
    NO_OFF_FOR_REMINDERS,
    NOTIFICATION_KINDS,
    OFF,
    REMINDERS,
    WEEKLY,
    Role,
)
from groundswell.app.application import utc_now
from groundswell.delivery import unsubscribe, webhooks
from groundswell.delivery.outbox import Outbox, stamp
from groundswell.http.auth import AnyCaller, Writer, needs
from groundswell.http.common import ApiDep, KeyDep, answer
from groundswell.http.models import Body as StrictBody
from groundswell.http.models import Handle, Receipt
from groundswell.http.problems import COMMON

router = APIRouter(tags=["delivery"], responses=COMMON)
ADMIN = needs(Role.ADMIN)


class EmailIn(StrictBody):
    email: Annotated[str, Field(max_length=320)] | None


class ChoiceIn(StrictBody):
    choice: Annotated[str, Field(max_length=20, examples=["immediately", "off"])]


class PreferenceOut(BaseModel):
    kind: str
    about: str
    email: str
    # Set when "off" is not a choice for this person and kind (why, in a sentence).
    cannot_be_off: str | None = None


def install(app: FastAPI, open_outbox: Callable[[], Outbox]) -> None:
    """Answer these routes (``create_app`` includes them) from the outbox ``open_outbox``
    opens when first needed: an app whose delivery routes are never called never opens it."""
    lock = threading.Lock()

    def outbox() -> Outbox:
        with lock:
            if getattr(app.state, "outbox", None) is None:
                app.state.outbox = open_outbox()
            opened: Outbox = app.state.outbox
            return opened

    app.state.outbox = None
    app.state.open_outbox = outbox


def outbox_of(request: Request) -> Outbox:
    opened: Outbox = request.app.state.open_outbox()
    return opened


@router.put("/v1/people/{handle}/email")
def change_email(
    handle: Handle, body: EmailIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> Receipt:
    """Set (or with null, remove) where someone's notifications are e-mailed: themselves, or
    an administrator."""
    return answer(
        api, key, response, lambda e: e.change_email(handle, body.email, actor=caller.handle)
    )


def choices_of(api: Any, handle: str) -> list[PreferenceOut]:
    person = api.engine.person(handle)
    chosen = person.notification_choices
    kept = person.addressed_by_reminders()
    return [
        PreferenceOut(
            kind=kind,
            about=about,
            email=chosen.get(f"{kind}/email", IMMEDIATELY),
            cannot_be_off=NO_OFF_FOR_REMINDERS if kind == REMINDERS and kept else None,
        )
        for kind, about in NOTIFICATION_KINDS.items()
    ]


@router.get("/v1/me/email-preferences")
def my_preferences(caller: AnyCaller, api: ApiDep) -> list[PreferenceOut]:
    """What you are e-mailed about: each kind of notification, immediately, in a daily or
    weekly digest, or off (reminders and escalations: never off for managers and owners)."""
    return choices_of(api, caller.handle)


@router.put("/v1/me/email-preferences/{kind}")
def choose(
    kind: str, body: ChoiceIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> Receipt:
    """Choose whether to be e-mailed about one kind of notification (immediately or off)."""
    return answer(
        api,
        key,
        response,
        lambda e: e.choose_notifications(caller.handle, kind, body.choice, actor=caller.handle),
    )


class QuietHoursIn(StrictBody):
    start: Annotated[str, Field(max_length=5, examples=["22:00"])] | None
    end: Annotated[str, Field(max_length=5, examples=["07:00"])] | None
    time_zone: Annotated[str, Field(max_length=60, examples=["Europe/Berlin"])] = "UTC"


@router.put("/v1/me/quiet-hours")
def quiet_hours(
    body: QuietHoursIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> Receipt:
    """Hours in your time zone when e-mails wait until the end (start and end null: none)."""
    return answer(
        api,
        key,
        response,
        lambda e: e.choose_quiet_hours(
            caller.handle, body.start, body.end, body.time_zone, actor=caller.handle
        ),
    )


def _unsubscribed(request: Request, token: str) -> tuple[str, str]:
    found = unsubscribe.verified(outbox_of(request).secret(), token)
    if found is None or found[1] not in NOTIFICATION_KINDS:
        raise NotFound("this unsubscribe link is not valid here.", field="token")
    return found


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, api: ApiDep) -> HTMLResponse:
    """The page an unsubscribe link opens: a button that POSTs it (no sign-in)."""
    handle, kind = _unsubscribed(request, token)
    about = escape(NOTIFICATION_KINDS[kind])
    if _weekly_at_least(api, handle, kind):
        return HTMLResponse(
            "<!doctype html><html lang=en><title>Fewer of these e-mails</title>"
            f"<p>{escape(NO_OFF_FOR_REMINDERS[0].upper() + NO_OFF_FOR_REMINDERS[1:])}</p>"
            f"<p>Send {escape(handle)} {about} only in a weekly digest?</p>"
            f'<form method=post action="/v1/unsubscribe/{escape(token)}">'
            "<button>Weekly digest only</button></form></html>"
        )
    return HTMLResponse(
        "<!doctype html><html lang=en><title>Stop these e-mails</title>"
        f"<p>Stop e-mailing {escape(handle)} about {about}?</p>"
        f'<form method=post action="/v1/unsubscribe/{escape(token)}">'
        "<button>Stop these e-mails</button></form></html>"
    )


def _weekly_at_least(api: Any, handle: str, kind: str) -> bool:
    """Whether unsubscribing ``handle`` from ``kind`` can only mean a weekly digest (the
    unsubscribe link of reminders to a manager or owner sends them weekly instead)."""
    return kind == REMINDERS and bool(api.engine.person(handle).addressed_by_reminders())


@router.post("/v1/unsubscribe/{token}")
def unsubscribe_now(
    token: str,
    request: Request,
    api: ApiDep,
    response: Response,
    # Accepted for the API's uniformity, not needed: choosing "off" again records nothing,
    # so a repeated one-click POST is harmless (and there is no caller to bind a key to).
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Receipt:
    """One-click unsubscribe (RFC 8058): no sign-in; the signed token names the person and
    the kind of notification, and acts as that person for that choice alone."""
    handle, kind = _unsubscribed(request, token)
    choice = WEEKLY if _weekly_at_least(api, handle, kind) else OFF
    return answer(
        api, None, response, lambda e: e.choose_notifications(handle, kind, choice, actor=handle)
    )


@router.get("/v1/delivery/messages", dependencies=[ADMIN])
def delivery_log(
    request: Request,
    person: Annotated[str | None, Query(max_length=40)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The outbox, oldest first: each message's state and every attempt (admins)."""
    outbox = outbox_of(request)
    found = outbox.messages(handle=person, state=state)[-limit:]
    return [
        {**m.logged(), "tries": [asdict(a) for a in outbox.attempts(m.message_id)]} for m in found
    ]


@router.post("/v1/delivery/messages/{message_id}/redeliver", dependencies=[ADMIN])
def redeliver(
    message_id: Annotated[str, Path_(max_length=100)], request: Request
) -> dict[str, str]:
    """Put a parked message back in line; the next deliverer round sends it (admins)."""
    if not outbox_of(request).redeliver(message_id, utc_now()):
        raise NotFound(
            f"no parked message {message_id!r}; GET /v1/delivery/messages?state=parked lists them.",
            field="message_id",
        )
    return {"message_id": message_id, "state": "pending"}


class WebhookIn(StrictBody):
    url: Annotated[str, Field(max_length=2000, examples=["https://hooks.example.com/ideas"])]
    type: Annotated[str, Field(max_length=20, examples=["cloudevents", "slack", "teams"])] = (
        "cloudevents"
    )
    kinds: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = Field(
        default_factory=list
    )


class WebhookOut(BaseModel):
    endpoint_id: str
    url: str
    type: str
    kinds: list[str]
    created_at: str
    disabled: str | None  # why it was disabled (null: enabled)


class WebhookMade(WebhookOut):
    secret: str  # shown this once: the receiver verifies signatures with it


def _shown(endpoint: webhooks.Endpoint) -> dict[str, Any]:
    found = asdict(endpoint)
    found.pop("secret")
    return found


@router.post("/v1/webhooks", dependencies=[ADMIN], status_code=201)
def add_webhook(body: WebhookIn, request: Request) -> WebhookMade:
    """Register an endpoint POSTed every notification (of ``kinds``; all if empty), signed
    per Standard Webhooks: https only (http only to loopback). Its secret is shown once."""
    made = webhooks.register(outbox_of(request), body.url, body.type, body.kinds, stamp(utc_now()))
    return WebhookMade(**asdict(made))


@router.get("/v1/webhooks", dependencies=[ADMIN])
def list_webhooks(request: Request) -> list[WebhookOut]:
    """The registered endpoints, without their secrets (admins)."""
    return [WebhookOut(**_shown(e)) for e in outbox_of(request).endpoints()]


def _no_endpoint(endpoint_id: str) -> NotFound:
    return NotFound(
        f"no webhook endpoint {endpoint_id!r}; GET /v1/webhooks lists them.", field="endpoint_id"
    )


@router.delete("/v1/webhooks/{endpoint_id}", dependencies=[ADMIN], status_code=204)
def remove_webhook(endpoint_id: Annotated[str, Path_(max_length=40)], request: Request) -> Response:
    """Stop sending to an endpoint; what was still due to it is parked (admins)."""
    if not outbox_of(request).remove_endpoint(endpoint_id):
        raise _no_endpoint(endpoint_id)
    return Response(status_code=204)


@router.post("/v1/webhooks/{endpoint_id}/enable", dependencies=[ADMIN])
def enable_webhook(
    endpoint_id: Annotated[str, Path_(max_length=40)], request: Request
) -> WebhookOut:
    """Send to a disabled endpoint again (redeliver what was parked meanwhile) (admins)."""
    outbox = outbox_of(request)
    if not outbox.disable_endpoint(endpoint_id, None):
        raise _no_endpoint(endpoint_id)
    return next(WebhookOut(**_shown(e)) for e in outbox.endpoints() if e.endpoint_id == endpoint_id)
