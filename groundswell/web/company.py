"""Company sign-in: OpenID Connect's authorization code flow with PKCE (S256), ``state`` and
``nonce``, through Authlib's OAuth 2 client, when ``GROUNDSWELL_OIDC_ISSUER`` is set.

``/web/sign-in/company`` keeps a fresh state, nonce and PKCE verifier server-side (the
sessions store's ``web_sign_ins``), puts the state in a short-lived cookie too, and sends
the browser to the provider. ``/web/sign-in/callback`` takes the state once (a reused or
foreign one finds nothing), exchanges the code with the verifier, checks the ID token
(``checked_id_token``: signature by the provider's keys, issuer, audience, expiry, nonce),
registers or updates the person (``groundswell/web/provisioning.py``) and begins a session.
Every refusal is a page that says what happened; nothing is written before the token is
trusted.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx2
from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from groundswell.identity.keys import ProviderUnavailable
from groundswell.web.render import PageRoute, error_page
from groundswell.web.session import begin, safe_next, sessions_of

log = logging.getLogger("groundswell.web")
router = APIRouter(route_class=PageRoute, include_in_schema=False)
STATE_COOKIE = "groundswell_sign_in"
# Signature algorithms an ID token may use (never "none", never an HMAC with a public value).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class Untrusted(Exception):
    """An ID token that must not be believed; the message says why, for the page and log."""


class Provider(Protocol):
    """What the pages need of the identity provider (groundswell/identity/keys.py)."""

    def metadata(self) -> Mapping[str, Any]:
        """The discovery document (raises ProviderUnavailable)."""
        ...

    def keys(self, kid: str | None = None) -> KeySet:
        """The signing keys, fetched anew first when ``kid`` is not among them (rotation)."""
        ...


def checked_id_token(
    id_token: str,
    keys: KeySet | Callable[[Any], Any],
    *,
    issuer: str,
    audience: str,
    nonce: str,
    leeway: int = 60,
    now: Callable[[], int] | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry and nonce are
    right (raises Untrusted, naming what was wrong)."""
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except JoseError as refused:
        raise Untrusted(f"its signature does not check out ({refused.error})") from None
    except ValueError as refused:
        raise Untrusted(f"it is not a signed token ({refused})") from None
    registry = jwt.JWTClaimsRegistry(
        now=now or (lambda: int(time.time())),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(token.claims)
    except JoseError as refused:
        raise Untrusted(f"{refused.description or refused.error}") from None
    audiences = token.claims["aud"]
    if isinstance(audiences, list) and len(audiences) > 1 and token.claims.get("azp") != audience:
        raise Untrusted("it was issued to another client (azp)")
    return dict(token.claims)


def provider_of(request: Request) -> Provider | None:
    found: Provider | None = getattr(request.app.state, "oidc_provider", None)
    return found


def down_page(request: Request, issuer: str) -> Response:
    return error_page(
        request,
        503,
        f"the company sign-in ({issuer}) does not answer just now; try again in a minute. "
        "If it stays away, an administrator can give you a token to sign in with.",
    )


def client_for(request: Request) -> OAuth2Client:
    oidc = request.app.state.oidc
    return OAuth2Client(
        client_id=oidc.client_id,
        client_secret=oidc.client_secret,
        scope=oidc.scopes,
        redirect_uri=redirect_url(request),
        code_challenge_method="S256",
        timeout=oidc.timeout_seconds,
    )


def redirect_url(request: Request) -> str:
    configured: str | None = request.app.state.oidc.redirect_url
    return configured or str(request.url_for("company_callback"))


@router.get("/web/sign-in/company")
def company_sign_in(request: Request, next: str = "/web") -> Response:
    """Off to the identity provider's login page, with a fresh state, nonce and verifier."""
    provider = provider_of(request)
    if provider is None:
        return error_page(request, 404, "company sign-in is not set up here; use a token.")
    oidc = request.app.state.oidc
    try:
        endpoint = str(provider.metadata()["authorization_endpoint"])
    except (ProviderUnavailable, KeyError):
        return down_page(request, oidc.issuer)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    sessions_of(request).hold_sign_in(state, nonce, verifier, safe_next(next))
    with client_for(request) as client:
        url, _ = client.create_authorization_url(
            endpoint, state=state, nonce=nonce, code_verifier=verifier
        )
    response = RedirectResponse(url, status_code=303)
    # Lax: the provider's redirect back is a cross-site top-level GET, which Lax lets through.
    response.set_cookie(STATE_COOKIE, state, max_age=600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/web/sign-in")  # fmt: skip
    return response


@router.get("/web/sign-in/callback", name="company_callback")
def company_callback(
    request: Request,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    """Where the identity provider sends the person back; every check before any write."""
    provider = provider_of(request)
    if provider is None:
        return error_page(request, 404, "company sign-in is not set up here; use a token.")
    oidc = request.app.state.oidc
    kept = request.cookies.get(STATE_COOKIE, "")
    # Only the browser that started this sign-in may finish it (no login CSRF), and once.
    pending = (
        sessions_of(request).take_sign_in(state)
        if state and kept and hmac.compare_digest(state.encode(), kept.encode())
        else None
    )
    if pending is None:
        return refused(request, 400, "this sign-in link is out of date, was used already, or "
                       "was started in another browser; sign in again.")  # fmt: skip
    if error:
        said = f" ({error_description[:200]})" if error_description else ""
        return refused(request, 401, f"the company sign-in refused: {error[:100]}{said}.")
    if not code:
        return refused(request, 400, "the company sign-in sent no authorization code back.")
    try:
        token_endpoint = str(provider.metadata()["token_endpoint"])
        with client_for(request) as client:
            answer = client.fetch_token(
                token_endpoint, code=code, code_verifier=pending.verifier,
                grant_type="authorization_code",
            )  # fmt: skip
    except (ProviderUnavailable, KeyError, OSError, httpx2.TransportError) as down:
        log.warning("company sign-in: the token endpoint failed: %s", down)
        return down_page(request, oidc.issuer)
    except Exception as refused_code:  # Authlib's OAuthError and httpx's errors alike
        log.warning("company sign-in: the code was refused: %s", refused_code)
        return refused(request, 401, "the company sign-in did not accept this sign-in's code; "
                       "sign in again.")  # fmt: skip
    try:
        claims = trusted_claims(provider, str(answer.get("id_token", "")), oidc, pending.nonce)
    except ProviderUnavailable:
        return down_page(request, oidc.issuer)
    except Untrusted as untrusted:
        log.warning("company sign-in: refused an ID token: %s", untrusted)
        return refused(request, 401, f"the identity provider's answer is not trusted: "
                       f"{untrusted}.")  # fmt: skip
    from groundswell.web.provisioning import Refused, provision

    try:
        handle = provision(request.app.state.api.engine, oidc, claims)
    except Refused as no:
        return refused(request, 403, str(no))
    response = RedirectResponse(pending.next, status_code=303)
    begin(request, response, handle, "oidc", id_token=str(answer["id_token"]))
    response.delete_cookie(STATE_COOKIE, path="/web/sign-in")
    return response


def trusted_claims(provider: Provider, id_token: str, oidc: Any, nonce: str) -> dict[str, Any]:
    """Check the ID token with the key its header names (keys fetched anew when the
    provider rotated them since we fetched them: groundswell/identity/keys.py)."""
    if not id_token:
        raise Untrusted("it sent no ID token")

    def key_for(guest: Any) -> KeySet:
        kid = guest.headers().get("kid")
        return provider.keys(kid if isinstance(kid, str) else None)

    return checked_id_token(
        id_token, key_for, issuer=oidc.issuer, audience=oidc.client_id, nonce=nonce,
        leeway=oidc.clock_skew_seconds,
    )  # fmt: skip


def refused(request: Request, status: int, message: str) -> Response:
    response = error_page(request, status, message)
    response.delete_cookie(STATE_COOKIE, path="/web/sign-in")
    return response


def end_session_url(request: Request, id_token: str | None) -> str | None:
    """The provider's sign-out page (RP-initiated logout), when it has one."""
    provider = provider_of(request)
    if provider is None:
        return None
    try:
        endpoint = provider.metadata().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    oidc = request.app.state.oidc
    back = oidc.post_logout_redirect_url or str(request.url_for("sign_in_page"))
    query = {"client_id": oidc.client_id, "post_logout_redirect_uri": back}
    if id_token:
        query["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(query)}"
