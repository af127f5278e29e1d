"""Administration pages: people (add; department, roles, e-mail; disable, enable), API
tokens (issue, list, revoke) and departments, for administrators only.

People's changes run the engine's commands through ``actions.act``, as the API's routes do
(the engine refuses anyone but an administrator). Tokens are no event: they live in the
token store beside the events, as ``groundswell tokens`` keeps them; the pages let
administrators do what that command does, and nobody else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from domain.errors import NotFound
from domain.person import Role
from groundswell.app.engine import Engine
from groundswell.http import boards, people
from groundswell.http.auth import Caller
from groundswell.http.common import Api, AtLeast, Filter
from groundswell.http.problems import ApiProblem
from groundswell.web.actions import Key, Long, Short, act
from groundswell.web.confirm import Confirm, Confirmed, confirmation
from groundswell.web.render import PageRoute, done, page
from groundswell.web.session import Poster, Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MANY = 500
ROLES = [role.value for role in Role]
Handle = Annotated[str, Form(max_length=40)]
Roles = Annotated[list[str], Form(max_length=len(ROLES))]
REMEMBERED = 200  # tokens just issued, kept to answer a form sent twice with the same token


def api_of(request: Request) -> Api:
    found: Api = request.app.state.api
    return found


def require_admin(caller: Caller) -> None:
    if not caller.has(Role.ADMIN):
        raise ApiProblem(403, "not-permitted", f"{caller.handle} needs the admin role.")


# -- people -----------------------------------------------------------------------------


@router.get("/web/admin/people")
def people_list(
    request: Request,
    caller: Reader,
    q: Filter = None,
    role: Filter = None,
    department: Filter = None,
    at_least: AtLeast = 0,
) -> HTMLResponse:
    return people_page(request, caller, at_least, q=q, role=role, department=department)


def people_page(
    request: Request,
    caller: Caller,
    at_least: int = 0,
    status: int = 200,
    q: str | None = None,
    role: str | None = None,
    department: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Everyone registered, found by handle, name or department, filtered by role."""
    require_admin(caller)
    api = api_of(request)
    everyone = people.list_people(
        caller, api, department=None, role=None, at_least=at_least, limit=MANY, offset=0
    ).items
    words = (q or "").strip().lower()
    shown = [
        p
        for p in everyone
        if (not words or words in f"{p.handle} {p.name} {p.department}".lower())
        and (not role or role in p.roles)
        and (not department or p.department == department)
    ]
    departments = sorted({p.department for p in everyone})
    return page(
        request, "admin_people.html", caller, status, people=shown, total=len(everyone),
        departments=departments, roles=ROLES, q=q or "", role=role or "",
        department=department or "", **context,
    )  # fmt: skip


@router.post("/web/admin/people")
def add_person(
    request: Request,
    caller: Poster,
    form_key: Key,
    handle: Handle,
    name: Short,
    department: Short,
    email: Annotated[str, Form(max_length=320)] = "",
    roles: Roles = [],  # noqa: B006 - FastAPI copies a form default
) -> Response:
    """Register someone, with department, roles and e-mail (the engine refuses non-admins
    too, with the API's sentence)."""
    require_admin(caller)
    handle = handle.strip()
    fields = {
        "handle": handle, "name": name, "department": department, "email": email,
        "roles": list(roles),
    }  # fmt: skip

    def register(engine: Engine) -> Any:
        return engine.register_person(
            handle, name=name, department=department, roles=list(roles) or None,
            email=email.strip() or None, actor=caller.handle,
        )  # fmt: skip

    return act(
        request, caller, form_key, fields, [register],
        lambda _: f"/web/admin/people/{handle}", people_page,
    )  # fmt: skip


@router.get("/web/admin/people/{handle}")
def person_view(request: Request, handle: str, caller: Reader, at_least: AtLeast = 0) -> Response:
    return person_page(request, caller, handle, at_least)


def person_page(
    request: Request,
    caller: Caller,
    handle: str,
    at_least: int = 0,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """One person: their department, roles and e-mail address, each changeable, and their
    tokens."""
    require_admin(caller)
    api = api_of(request)
    person = people.get_person(handle, caller, api, at_least)
    found = api.engine.person(handle)
    tokens = list(reversed(api.tokens.list(handle)))
    return page(
        request, "admin_person.html", caller, status, person=person, email=found.email or "",
        roles=ROLES, tokens=tokens, disabled=found.disabled, **context,
    )  # fmt: skip


def on_person(handle: str) -> Any:
    return lambda request, caller, **context: person_page(request, caller, handle, **context)


@router.post("/web/admin/people/{handle}/department")
def change_department(
    request: Request, handle: str, caller: Poster, form_key: Key, department: Short
) -> Response:
    require_admin(caller)
    return act(
        request, caller, form_key, {"department": department},
        [lambda e: e.change_department(handle, department, actor=caller.handle)],
        lambda _: f"/web/admin/people/{handle}", on_person(handle),
    )  # fmt: skip


@router.post("/web/admin/people/{handle}/roles")
def change_roles(
    request: Request,
    handle: str,
    caller: Poster,
    form_key: Key,
    roles: Roles = [],  # noqa: B006 - FastAPI copies a form default
    chosen: Short = "",  # the roles, comma-separated, sent again by the confirmation
    confirmed: Confirmed = "",
) -> Response:
    """Change someone's roles; taking a role away is asked first (they lose what it let
    them do at once)."""
    require_admin(caller)
    back = f"/web/admin/people/{handle}"
    wanted = sorted(set(roles) | {r for r in chosen.split(",") if r})
    try:
        held = set(api_of(request).engine.person(handle).roles)
    except NotFound:
        held = set()  # the command says who is not registered
    lost = sorted(held - set(wanted))
    asked = None
    if lost and wanted:
        asked = Confirm(
            f"Take the {', '.join(lost)} role{'s' if len(lost) > 1 else ''} away from "
            f"{handle}? They can no longer do what {'they' if len(lost) > 1 else 'it'} "
            "allowed, from now on.",
            "Change the roles",
            back,
            {"chosen": ",".join(wanted)},
        )
    return act(
        request, caller, form_key, {"roles": wanted},
        [lambda e: e.change_roles(handle, wanted, actor=caller.handle)],
        lambda _: back, on_person(handle), asked, confirmed,
    )  # fmt: skip


@router.post("/web/admin/people/{handle}/email")
def change_email(
    request: Request,
    handle: str,
    caller: Poster,
    form_key: Key,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Set someone's e-mail address (empty: remove it)."""
    require_admin(caller)
    return act(
        request, caller, form_key, {"email": email},
        [lambda e: e.change_email(handle, email.strip() or None, actor=caller.handle)],
        lambda _: f"/web/admin/people/{handle}", on_person(handle),
    )  # fmt: skip


@router.post("/web/admin/people/{handle}/disable")
def disable_person(
    request: Request,
    handle: str,
    caller: Poster,
    form_key: Key,
    reason: Long = "",
    confirmed: Confirmed = "",
) -> Response:
    """Disable someone, asked first: they are signed out and refused everywhere at once."""
    require_admin(caller)
    back = f"/web/admin/people/{handle}"
    # No question about a reason the command refuses anyway: the refusal comes at once.
    asked = (
        Confirm(
            f"Disable {handle}? They are signed out at once, and their tokens and company "
            "sign-in are refused until an administrator enables them again.",
            f"Disable {handle}",
            back,
            {"reason": reason},
            [("Reason", reason.strip())],
        )
        if reason.strip()
        else None
    )
    return act(
        request, caller, form_key, {"reason": reason},
        [lambda e: e.disable_person(handle, reason, actor=caller.handle)],
        lambda _: back, on_person(handle), asked, confirmed,
    )  # fmt: skip


@router.post("/web/admin/people/{handle}/enable")
def enable_person(request: Request, handle: str, caller: Poster, form_key: Key) -> Response:
    """Enable someone again (nothing to ask: disabling them again is as easy)."""
    require_admin(caller)
    return act(
        request, caller, form_key, {},
        [lambda e: e.enable_person(handle, actor=caller.handle)],
        lambda _: f"/web/admin/people/{handle}", on_person(handle),
    )  # fmt: skip


# -- tokens -----------------------------------------------------------------------------


@router.get("/web/admin/tokens")
def token_list(request: Request, caller: Reader) -> HTMLResponse:
    return tokens_page(request, caller)


def tokens_page(
    request: Request, caller: Caller, status: int = 200, **context: Any
) -> HTMLResponse:
    """Every token issued (never the token itself), newest first, and a form to issue one."""
    require_admin(caller)
    found = list(reversed(api_of(request).tokens.list()))
    live = [t for t in found if t.revoked_at is None]
    revoked = [t for t in found if t.revoked_at is not None]
    return page(request, "admin_tokens.html", caller, status, live=live, revoked=revoked, **context)


class Issued:
    """Tokens just issued, by the form that asked (a form sent twice shows the same token
    again rather than issuing a second); a few hundred, in memory, never stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: OrderedDict[tuple[str, str], tuple[str, Any]] = OrderedDict()

    def issue(self, api: Api, asker: str, key: str, handle: str, label: str) -> tuple[str, Any]:
        with self._lock:
            if (asker, key) not in self._found:
                self._found[(asker, key)] = api.tokens.issue(handle, label)
                while len(self._found) > REMEMBERED:
                    self._found.popitem(last=False)
            return self._found[(asker, key)]


_ISSUED_LOCK = threading.Lock()


def issued_of(request: Request) -> Issued:
    state = request.app.state
    with _ISSUED_LOCK:
        if not isinstance(getattr(state, "issued_tokens", None), Issued):
            state.issued_tokens = Issued()
    found: Issued = state.issued_tokens
    return found


@router.post("/web/admin/tokens")
def issue_token(
    request: Request,
    caller: Poster,
    form_key: Key,
    handle: Handle,
    label: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Issue a token and show it once: only its hash is kept."""
    require_admin(caller)
    api, handle = api_of(request), handle.strip()
    form = {"action": request.url.path, "handle": handle, "label": label}
    try:
        api.engine.person(handle)
    except NotFound as missing:
        return tokens_page(request, caller, 404, problem=missing.message, form=form)
    token, info = issued_of(request).issue(api, caller.handle, form_key, handle, label)
    return tokens_page(request, caller, 201, issued=token, issued_info=info)


@router.post("/web/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: str, caller: Poster, form_key: Key, confirmed: Confirmed = ""
) -> Response:
    """Revoke a token at once (asked first): requests carrying it are refused from now on."""
    require_admin(caller)
    store = api_of(request).tokens
    known = {t.token_id: t for t in store.list()}
    if token_id not in known:
        return tokens_page(request, caller, 404, problem=f"no token with id {token_id!r}.")
    token = known[token_id]
    if confirmed != "yes":
        label = f" ({token.label})" if token.label else ""
        asked = Confirm(
            f"Revoke token {token_id} of {token.handle}{label}? Whatever uses it is refused "
            "from now on; it cannot be brought back (issue a new one instead).",
            "Revoke it",
            "/web/admin/tokens",
        )
        return confirmation(request, caller, form_key, asked)
    store.revoke(token_id)  # a token revoked already (a form sent twice) stays revoked
    return done("/web/admin/tokens", None)


# -- departments ------------------------------------------------------------------------


@router.get("/web/admin/departments")
def departments_view(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    """Each department: its people by role, and what it brought to the challenges."""
    require_admin(caller)
    api = api_of(request)
    everyone = people.list_people(
        caller, api, department=None, role=None, at_least=at_least, limit=MANY, offset=0
    ).items
    board = boards.get_departments(caller, api, challenge=None, at_least=at_least)
    brought = {d.department: d for d in board}
    found: dict[str, dict[str, Any]] = {}
    for person in everyone:
        row = found.setdefault(person.department, {"people": 0, "roles": dict.fromkeys(ROLES, 0)})
        row["people"] += 1
        for role in person.roles:
            row["roles"][role] = row["roles"].get(role, 0) + 1
    departments = [
        {"department": name, **row, "board": brought.get(name)}
        for name, row in sorted(found.items())
    ]
    return page(request, "admin_departments.html", caller, departments=departments, roles=ROLES)
