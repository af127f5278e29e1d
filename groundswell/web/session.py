"""Signing in to the pages: the API's bearer token, kept in a cookie the browser sends back.

The cookie is HttpOnly (scripts never see the token) and SameSite=Strict (other sites'
pages cannot make the browser send it); form posts must come from our own origin as well.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from groundswell.http.auth import Caller, caller_holding
from groundswell.http.problems import ApiProblem

COOKIE = "groundswell_token"
DAY = 24 * 3600


class SignInNeeded(Exception):
    """The page needs a signed-in reader; ``back`` is where to return afterwards."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


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


def sign_in_url(back: str) -> str:
    return f"/web/sign-in?next={quote(safe_next(back), safe='')}"


def page_caller(request: Request) -> Caller:
    """Who reads this page: the holder of the cookie's token, or off to the sign-in page."""
    token = request.cookies.get(COOKIE)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise SignInNeeded(back)
    try:
        return caller_holding(request.app.state.api, token)
    except ApiProblem:
        raise SignInNeeded(back) from None


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
    """A signed-in reader posting from our own page, within the write limit of their token
    (429, a page naming when to try again, over it)."""
    same_origin(request)
    request.app.state.throttle.write(request.cookies.get(COOKIE, ""))
    return caller


Reader = Annotated[Caller, Depends(page_caller)]
Poster = Annotated[Caller, Depends(posting_caller)]
