"""Templates and the helpers every page uses: dates, names, and answers in HTML."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from pydantic import ValidationError

from domain import errors, words
from domain.person import Role
from domain.validation import NAME_MAX, TEXT_MAX, TITLE_MAX
from groundswell.http.auth import Caller
from groundswell.http.problems import TITLES, ApiProblem, first_error, status_of
from groundswell.web import HERE
from groundswell.web.session import COOKIE, ForeignOrigin, SignInNeeded, sign_in_url

templates = Jinja2Templates(directory=HERE / "templates")
STAGE_WORDS = {
    "draft": "Draft",
    "open": "Open for ideas",
    "review": "In review",
    "closed": "Closed",
    "archived": "Archived",
}


def when(value: str | datetime | None) -> str:
    """An ISO time as a reader sees it: '3 Mar 2026, 14:05 UTC'."""
    if value is None or value == "":
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M UTC")


def day(value: str | date | None) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return moment.strftime("%-d %b %Y")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


# One definition of how many ideas a challenge has, the funnel's, said where counts are shown.
IDEAS_COUNTED = (
    "Ideas are counted as the funnel counts them: every idea submitted, except ideas "
    "withdrawn by their authors and duplicates merged into another."
)


@pass_context
def submissions_closed(context: Any, challenge: Any) -> bool:
    """An open challenge whose submission deadline (the last day ideas are taken) has passed
    on the page's ``today``: the engine refuses ideas, so the page must not invite them."""
    deadline = str(challenge.submission_deadline)[:10]
    return bool(challenge.stage == "open" and context["today"] > deadline)


@pass_context
def stage_of(context: Any, challenge: Any) -> str:
    """A challenge's stage as a reader sees it today."""
    if submissions_closed(context, challenge):
        return f"Submissions closed on {day(challenge.submission_deadline)}"
    return STAGE_WORDS.get(challenge.stage, challenge.stage)


templates.env.filters.update(
    when=when,
    day=day,
    percent=percent,
    stage=STAGE_WORDS.get,
    reason=words.reward_reason,
    kind=words.contribution_kind,
    entry=words.ledger_entry,
)
templates.env.globals.update(
    stage_of=stage_of, submissions_closed=submissions_closed, ideas_counted=IDEAS_COUNTED
)
# The forms' length limits are the domain's own, so a form never accepts what it refuses.
templates.env.globals.update(TITLE_MAX=TITLE_MAX, TEXT_MAX=TEXT_MAX, NAME_MAX=NAME_MAX)
# Each form carries its own idempotency key: sent twice, it acts once.
templates.env.globals["new_key"] = lambda: uuid.uuid4().hex


def kept(form: Any, action: str) -> dict[str, Any]:
    """What was typed into the form posted to ``action``, when it was refused: the page
    shows it again (other forms on the page start empty)."""
    return form if isinstance(form, dict) and form.get("action") == action else {}


templates.env.globals["kept"] = kept


def nav(caller: Caller) -> list[tuple[str, str]]:
    links = [("/web/challenges", "Challenges"), ("/web/me", "My home")]
    if caller.has(Role.MANAGER) or caller.has(Role.OWNER):
        links.insert(0, ("/web/desk", "My desk"))
    if caller.has(Role.OWNER):
        links.append(("/web/owner", "Handed to me"))
    if caller.has(Role.ADMIN):
        links.append(("/web/store", "Reward store"))
        links += [("/web/admin/people", "People"), ("/web/admin/tokens", "Tokens")]
        links.append(("/web/admin/departments", "Departments"))
        links += [("/web/admin/webhooks", "Webhooks"), ("/web/admin/delivery", "Delivery log")]
    return links


def _mail_link(request: Request, caller: Caller) -> list[tuple[str, str]]:
    """The caught-mail page (groundswell.web.mail), where the server runs its own sink."""
    sink = getattr(request.app.state, "mail_sink", None)
    return [("/web/mail", "Caught e-mail")] if sink and sink.readable_by(caller) else []


def page(
    request: Request,
    template: str,
    caller: Caller | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A whole page; ``position`` (the read models' position it shows) lets the live script
    ask only for newer states."""
    api = request.app.state.api
    context.setdefault("problem", None)
    context.setdefault("position", api.reads.position())
    # Today by the engine's clock, the one that decides whether a deadline has passed.
    context.setdefault("today", api.engine.clock().date().isoformat())
    return templates.TemplateResponse(
        request,
        template,
        {
            "caller": caller,
            "nav": nav(caller) + _mail_link(request, caller) if caller else [],
            **context,
        },
        status_code=status,
    )


def done(target: str, position: int | None) -> RedirectResponse:
    """After a command: back to the page, reading at least what was just written."""
    joiner = "&" if "?" in target else "?"
    suffix = f"{joiner}at_least={position}" if position else ""
    return RedirectResponse(target + suffix, status_code=303)


def refusal(error: Exception) -> tuple[int, str, str | None]:
    """The status, sentence and field of anything the domain or the API layer refused."""
    if isinstance(error, errors.DomainError):
        return status_of(error), error.message, error.field
    if isinstance(error, ApiProblem):
        return error.status, error.detail, error.field
    if isinstance(error, RequestValidationError | ValidationError):
        field, message = first_error(error)
        return 422, f"{field.replace('_', ' ')}: {message}", field
    raise error


# Scripts only from our own files (pygal's SVG carries inline <style>, hence the styles);
# no framing by other sites; nothing sniffed; no page addresses sent elsewhere.
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def company_headers(issuer: str) -> dict[str, str]:
    """The pages' headers when people sign in at an identity provider: the sign-out form's
    redirect to the provider's own sign-out page is a form's navigation too."""
    parts = urlsplit(issuer)
    policy = SECURITY["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )
    return {**SECURITY, "Content-Security-Policy": policy}


class PageRoute(APIRoute):
    """Answers a page's refusals as HTML (the sign-in page, or a page naming the problem)
    and sends every page with the headers above. Per route, not a middleware: the API's
    requests pay nothing for the pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            response = await self._answer(handler, request)
            response.headers.update(getattr(request.app.state, "page_headers", SECURITY))
            return response

        return answered

    @staticmethod
    async def _answer(
        handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request
    ) -> Response:
        try:
            return await handler(request)
        except SignInNeeded as needed:
            response = RedirectResponse(sign_in_url(needed.back, needed.why), status_code=303)
            response.delete_cookie(COOKIE, path="/")
            return response
        except ForeignOrigin:
            return error_page(request, 403, "this form was sent from another site's page.")
        except (errors.DomainError, ApiProblem, RequestValidationError) as error:
            status, message, _ = refusal(error)
            headers = error.headers if isinstance(error, ApiProblem) else None
            return error_page(request, status, message, headers)


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request,
        "error.html",
        {"caller": None, "nav": [], "title": TITLES.get(status, "Refused"), "message": message},
        status_code=status,
    )
    response.headers.update(headers or {})
    return response
