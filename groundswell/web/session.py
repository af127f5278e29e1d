"""Signing in to the pages: a server-side session (groundswell/access/sessions.py) whose random id
the browser keeps in a cookie and sends back. The cookie never carries a bearer token.

The cookie is HttpOnly (scripts never see it), Secure unless the pages are served on a
loopback address (``make run`` on http://localhost), and SameSite=Lax: Strict would be
withheld from the page the IdP's redirect back to us leads to (Chromium counts the whole
redirect chain as cross-site, so a company sign-in would land on the sign-in page again),
and from links to a page in e-mail. Lax still keeps it off other sites' form posts, frames
and scripts' requests, and every form post must come from our own origin as well
(``same_origin``); GET pages change nothing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from domain.errors import NotFound
from groundswell.access.sessions import SqlSessions, hash_session
from groundswell.http.auth import Caller

COOKIE = "groundswell_session"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


# Why a session ended, as the sign-in page's ``why`` says it (a fixed word, never free text).
WHY = {
    "disabled": "your account is disabled, so you were signed out; an administrator can "
    "enable it again."
}


class SignInNeeded(Exception):
    """The page needs a signed-in reader; ``back`` is where to return afterwards, ``why``
    a key of ``WHY`` when the session was ended for a reason the person should read."""

    def __init__(self, back: str, why: str | None = None) -> None:
        super().__init__(back)
        self.back = back
        self.why = why


class ForeignOrigin(Exception):
    """A form was posted from another site's page."""


def safe_next(target: str | None) -> str:
    """Only our own pages are places to return to (no open redirect)."""
    if not target or not target.startswith("/web") or target.startswith("//"):
        return "/web"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/web"
    return target


def sign_in_url(back: str, why: str | None = None) -> str:
    said = f"&why={why}" if why in WHY else ""
    return f"/web/sign-in?next={quote(safe_next(back), safe='')}{said}"


def sessions_of(request: Request) -> SqlSessions:
    found: SqlSessions = request.app.state.sessions
    return found


def on_loopback(request: Request) -> bool:
    host = request.url.hostname or ""
    return host in LOOPBACK or host.endswith(".localhost")


def begin(request: Request, response: Response, handle: str, method: str, **kept: str) -> None:
    """Start a session for ``handle`` and give the browser its id (``kept``: the API token
    or the IdP's ID token the session came from). A session the browser still had ends:
    signing in again never leaves two live ids behind one cookie name."""
    if earlier := request.cookies.get(COOKIE):
        sessions_of(request).end(earlier)
    session_id = sessions_of(request).start(handle, method, **kept)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(sessions_of(request).absolute.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=not on_loopback(request),
        path="/",
    )


def session_caller(request: Request) -> Caller | None:
    """The registered person whose live session the cookie names (None: no such session,
    or its person is no longer registered, or disabled: then the session ends, and
    ``request.state.why`` says so for the sign-in page)."""
    session_id = request.cookies.get(COOKIE, "")
    session = sessions_of(request).find(session_id)
    if session is None:
        return None
    request.state.allowance = session.allowance(hash_session(session_id))
    try:
        person = request.app.state.api.engine.person(session.handle)
    except NotFound:
        return None
    if person.disabled is not None:
        sessions_of(request).end(session_id)
        request.state.why = "disabled"
        return None
    return Caller(session.handle, frozenset(person.roles), person.department)


def page_caller(request: Request) -> Caller:
    """Who reads this page: the person of the cookie's session, or off to the sign-in page."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    caller = session_caller(request)
    if caller is None:
        raise SignInNeeded(back, getattr(request.state, "why", None))
    return caller


def same_origin(request: Request) -> None:
    """Refuse a form unless the browser says it was posted by one of our own pages (the
    cookie alone would be sent along by an old browser that ignores SameSite).

    Browsers send ``Origin`` on every form post and ``Sec-Fetch-Site`` on every request;
    ``Origin: null`` comes from sandboxed frames, ``data:`` pages and privacy-stripped
    redirects, which are not our pages. So either header must vouch for us, and neither
    may point elsewhere: a post carrying neither is foreign."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    ours = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != ours:
        raise ForeignOrigin(origin)
    if site is not None and site not in ("same-origin", "none"):
        raise ForeignOrigin(site)
    if origin is None and site is None:
        raise ForeignOrigin("neither Origin nor Sec-Fetch-Site")


def posting_caller(request: Request, caller: Annotated[Caller, Depends(page_caller)]) -> Caller:
    """A signed-in reader posting from our own page, within the write limit of their
    session (429, a page naming when to try again, over it)."""
    same_origin(request)
    request.app.state.throttle.write_hashed(request.state.allowance)
    return caller


Reader = Annotated[Caller, Depends(page_caller)]
Poster = Annotated[Caller, Depends(posting_caller)]
