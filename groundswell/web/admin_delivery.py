"""Administration pages for outgoing webhooks (register, list, remove, enable) and the
delivery log (filter, redeliver what was parked), for administrators only.

Each form calls the API's own route function (``groundswell.http.delivery``), so a page
refuses what the API refuses, with its sentence, and changes nothing then. Webhooks and
deliveries live in the outbox, not in events: a form sent twice (a double click, a reload)
is answered from a short memory of forms just done rather than acting twice, as the token
page does for tokens.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from domain.errors import DomainError
from domain.person import NOTIFICATION_KINDS
from groundswell.delivery import webhooks
from groundswell.delivery.derive import EMAIL
from groundswell.delivery.outbox import DIGESTED, HELD, PARKED, PENDING, SENT, SKIPPED
from groundswell.http import delivery
from groundswell.http.auth import Caller
from groundswell.http.common import Filter
from groundswell.web.actions import Key
from groundswell.web.admin import require_admin
from groundswell.web.confirm import Confirm, Confirmed, confirmation
from groundswell.web.render import PageRoute, done, page, refusal
from groundswell.web.session import Poster, Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
HOOKS = "/web/admin/webhooks"
LOG = "/web/admin/delivery"
STATES = (PENDING, SENT, PARKED, SKIPPED, HELD, DIGESTED)
SHOWN = 200  # the newest messages the log page shows
REMEMBERED = 200  # forms just done, kept to answer one sent twice
T = TypeVar("T")


class Done:
    """Answers of forms just done, by who sent them, where, and the form's key: the same
    form sent again gets the first answer (the same endpoint and secret, the same redirect)
    instead of acting twice. A few hundred, in memory, never stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: OrderedDict[tuple[str, str, str], Any] = OrderedDict()

    def once(self, asker: str, path: str, key: str, act: Callable[[], T]) -> T:
        """``act()`` unless this form was done already; a refusal is not remembered."""
        with self._lock:
            if (asker, path, key) not in self._found:
                self._found[(asker, path, key)] = act()
                while len(self._found) > REMEMBERED:
                    self._found.popitem(last=False)
            found: T = self._found[(asker, path, key)]
            return found


_DONE_LOCK = threading.Lock()


def done_of(request: Request) -> Done:
    state = request.app.state
    with _DONE_LOCK:
        if not isinstance(getattr(state, "delivery_forms_done", None), Done):
            state.delivery_forms_done = Done()
    found: Done = state.delivery_forms_done
    return found


def once(request: Request, caller: Caller, key: str, act: Callable[[], T]) -> T:
    return done_of(request).once(caller.handle, request.url.path, key, act)


# -- webhooks ---------------------------------------------------------------------------


@router.get(HOOKS)
def webhook_list(request: Request, caller: Reader) -> HTMLResponse:
    return webhooks_page(request, caller)


def webhooks_page(
    request: Request, caller: Caller, status: int = 200, **context: Any
) -> HTMLResponse:
    """The registered endpoints (never their secrets), disabled ones saying why, and a form
    to register one."""
    require_admin(caller)
    return page(
        request, "admin_webhooks.html", caller, status, endpoints=delivery.list_webhooks(request),
        types=webhooks.TYPES, kinds=NOTIFICATION_KINDS, **context,
    )  # fmt: skip


REFUSALS = (DomainError, ValidationError)


def refused(
    request: Request, caller: Caller, error: Exception, again: Callable[..., HTMLResponse],
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """The page again, with the API's sentence and status; nothing was changed."""
    status, message, _ = refusal(error)
    return again(request, caller, status=status, problem=message, **context)


@router.post(HOOKS)
def add_webhook(
    request: Request,
    caller: Poster,
    form_key: Key,
    url: Annotated[str, Form(max_length=2000)],
    type_: Annotated[str, Form(alias="type", max_length=20)] = "cloudevents",
    kinds: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI copies it
) -> HTMLResponse:
    """Register an endpoint and show its secret once (the API answers it only then)."""
    require_admin(caller)
    form = {"action": HOOKS, "url": url, "type": type_, "kinds": list(kinds)}
    try:
        made = once(
            request, caller, form_key,
            lambda: delivery.add_webhook(
                delivery.WebhookIn(url=url, type=type_, kinds=list(kinds)), request
            ),
        )  # fmt: skip
    except REFUSALS as error:
        return refused(request, caller, error, webhooks_page, form=form)
    return webhooks_page(request, caller, 201, made=made)


def known_endpoint(request: Request, endpoint_id: str) -> Any:
    found = [e for e in delivery.list_webhooks(request) if e.endpoint_id == endpoint_id]
    return found[0] if found else None


@router.post(HOOKS + "/{endpoint_id}/remove")
def remove_webhook(
    request: Request, endpoint_id: str, caller: Poster, form_key: Key, confirmed: Confirmed = ""
) -> Response:
    """Remove an endpoint, asked first: what is still due to it is parked, and its secret
    is gone (registering it again makes a new one)."""
    require_admin(caller)
    endpoint = known_endpoint(request, endpoint_id)
    if endpoint is not None and confirmed != "yes":
        asked = Confirm(
            f"Remove webhook {endpoint_id} ({endpoint.url})? Nothing more is sent to it and "
            "what is still due to it is parked; registering it again makes a new secret.",
            "Remove it",
            HOOKS,
        )
        return confirmation(request, caller, form_key, asked)
    try:
        once(request, caller, form_key, lambda: delivery.remove_webhook(endpoint_id, request))
    except REFUSALS as error:
        return refused(request, caller, error, webhooks_page)
    return done(HOOKS, None)


@router.post(HOOKS + "/{endpoint_id}/enable")
def enable_webhook(request: Request, endpoint_id: str, caller: Poster, form_key: Key) -> Response:
    """Send to a disabled endpoint again (nothing to ask: it can be removed as easily)."""
    require_admin(caller)
    try:
        once(request, caller, form_key, lambda: delivery.enable_webhook(endpoint_id, request))
    except REFUSALS as error:
        return refused(request, caller, error, webhooks_page)
    return done(HOOKS, None)


# -- the delivery log -------------------------------------------------------------------


@router.get(LOG)
def delivery_log(
    request: Request, caller: Reader, person: Filter = None, state: Filter = None
) -> HTMLResponse:
    return log_page(request, caller, person=person, state=state)


def log_page(
    request: Request,
    caller: Caller,
    status: int = 200,
    person: str | None = None,
    state: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The newest messages, newest first, each with its attempts (when, status or error,
    how long), found by person and state; parked ones with a Redeliver button."""
    require_admin(caller)
    person, state = (person or "").strip(), (state or "").strip()
    found = delivery.delivery_log(request, person=person or None, state=state or None, limit=SHOWN)
    parked = len(delivery.outbox_of(request).messages(state=PARKED))
    return page(
        request, "admin_delivery.html", caller, status, messages=list(reversed(found)),
        person=person, state=state, states=STATES, parked=parked, shown=SHOWN, email=EMAIL,
        **context,
    )  # fmt: skip


def log_at(person: str, state: str) -> str:
    chosen = {name: value for name, value in (("person", person), ("state", state)) if value}
    return LOG + (f"?{urlencode(chosen)}" if chosen else "")


@router.post(LOG + "/{message_id}/redeliver")
def redeliver(
    request: Request,
    message_id: str,
    caller: Poster,
    form_key: Key,
    person: Annotated[str, Form(max_length=40)] = "",
    state: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Put a parked message back in line: the next deliverer round sends it. Back to the
    log as it was filtered."""
    require_admin(caller)
    try:
        once(request, caller, form_key, lambda: delivery.redeliver(message_id, request))
    except REFUSALS as error:
        return refused(request, caller, error, log_page, person=person, state=state)
    return done(log_at(person, state), None)
