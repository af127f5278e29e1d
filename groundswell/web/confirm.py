"""The confirmation step of irreversible one-click actions (stage changes, redeeming,
granting, deciding, marking helpful or implemented).

Without ``confirm=yes`` such a form's POST writes nothing and answers a page that says
what is about to happen, with a form that posts the same fields again (the same
idempotency key, so a double click still acts once) plus ``confirm=yes``. Plain HTML:
it works with and without JavaScript, and the origin check applies to both posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from domain.errors import DomainError
from groundswell.http.auth import Caller
from groundswell.web.render import page

# "yes" from the confirmation page's form; empty from the first click.
Confirmed = Annotated[str, Form(alias="confirm", pattern="^(yes)?$")]


@dataclass(frozen=True)
class Confirm:
    """What the confirmation page asks, the button that confirms, where Cancel goes, and
    the form's fields to send again (``details``: what the reader wrote, shown to check)."""

    question: str
    button: str
    back: str
    hidden: dict[str, Any] = field(default_factory=dict)
    details: list[tuple[str, str]] = field(default_factory=list)


def quoted(name: Callable[[], str], unknown: str) -> str:
    """What a question calls the thing acted on: its ``name`` in quotes, or ``unknown`` when
    there is no such thing (the command refuses it once confirmed, with the reason)."""
    try:
        return f"“{name()}”"
    except DomainError:
        return unknown


def confirmation(request: Request, caller: Caller, key: str, asked: Confirm) -> HTMLResponse:
    hidden = {name: str(value) for name, value in asked.hidden.items() if value not in (None, "")}
    return page(
        request,
        "confirm.html",
        caller,
        asked=asked,
        action=request.url.path,
        hidden={"form_key": key, **hidden},
    )
