"""What every API request passes before its route runs: the caller's token first, then the
rate limits; and the ``Cache-Control`` every answer carries.

Authentication runs here, ahead of FastAPI, so that a request without a valid token is
answered 401 before its body is parsed or any header or precondition is checked: an
anonymous caller learns nothing about the input rules. The caller found is handed to the
route (``auth.current_caller`` takes it from the request's state).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

import anyio.to_thread
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groundswell.http.auth import Caller, bearer_token, caller_holding
from groundswell.http.problems import ApiProblem, problem

log = logging.getLogger("groundswell.http")
READING = frozenset({"GET", "HEAD", "OPTIONS"})
# Answers that must not be kept by browsers or shared caches: everything but our scripts.
CACHEABLE = ("/web/static/",)


class Throttle:
    """Per-token write limits and per-address limits on refused tokens, kept in memory
    (one served process; behind several, limit at the proxy as well)."""

    def __init__(self, writes: str | None, failures: str | None) -> None:
        self._writes = parse_many(writes) if writes else []
        self._failures = parse_many(failures) if failures else []
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def write(self, token: str) -> None:
        """Count a write by ``token``'s holder; 429 when over the limit."""
        # The key is the token's hash: the limiter never holds a usable token.
        self.write_hashed(hashlib.sha256(token.encode()).hexdigest())

    def write_hashed(self, key: str) -> None:
        """Count a write under a token's (or a page session's) SHA-256 hex digest."""
        self._hit(self._writes, "write", key, "writes")

    def check_failures(self, address: str) -> None:
        """429 while ``address`` has sent too many refused tokens (checked before a token)."""
        for item in self._failures:
            if not self._limiter.test(item, "failed", address):
                raise self._refusal(item, "failed", address, "refused sign-ins")

    def failed(self, address: str) -> None:
        """Count a refused token from ``address``."""
        for item in self._failures:
            self._limiter.hit(item, "failed", address)

    def _hit(self, items: list[RateLimitItem], *key: str) -> None:
        *identifiers, what = key
        for item in items:
            if not self._limiter.hit(item, *identifiers):
                raise self._refusal(item, *identifiers, what)

    def _refusal(self, item: RateLimitItem, kind: str, key: str, what: str) -> ApiProblem:
        reset = self._limiter.get_window_stats(item, kind, key).reset_time
        wait = max(1, math.ceil(reset - time.time()))
        return ApiProblem(
            429,
            "too-many-requests",
            f"too many {what} (at most {item}); try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )


def address_of(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def refused_token(api: object, token: str, address: str, throttle: Throttle) -> Caller:
    """The token's holder, or 401: counted against ``address`` and logged, without the token."""
    try:
        return caller_holding(api, token)
    except ApiProblem as refused:
        if refused.status == 401:  # not a 503 for an identity provider that is down
            throttle.failed(address)
            log.warning("refused an unknown or revoked token from %s", address)
        raise


# Routes whose signed link is the permission (an e-mail's one-click unsubscribe): no token.
SIGNED_LINKS = ("/v1/unsubscribe/",)


class Gate:
    """401 (or 429) before anything else on every ``/v1`` route; every route there but the
    signed links needs a token (``tests/e2e/test_http_authz.py`` checks that against the
    routes)."""

    def __init__(self, app: ASGIApp, throttle: Throttle) -> None:
        self.app, self.throttle = app, throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/v1" or path.startswith("/v1/")):
            return await self.app(scope, receive, send)
        if path.startswith(SIGNED_LINKS):
            return await self.app(scope, receive, send)
        request = Request(scope)
        address = address_of(scope)
        try:
            token = bearer_token(request)
            self.throttle.check_failures(address)
            api = scope["app"].state.api
            caller = await anyio.to_thread.run_sync(
                refused_token, api, token, address, self.throttle
            )
            if scope["method"] not in READING:
                self.throttle.write(token)
        except ApiProblem as refused:
            answer = problem(
                refused.status, refused.code, refused.detail, refused.field, refused.headers
            )
            return await answer(scope, receive, send)
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


class NoStore:
    """``Cache-Control: no-store`` on every answer that does not set its own (our static
    scripts excepted): pages and API answers are personal, and must not outlive the
    session in a browser's cache or a shared proxy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(CACHEABLE):
            return await self.app(scope, receive, send)

        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sent)
