"""The ASGI application: routes, error answers, a request-size limit, the OpenAPI description."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from groundswell.eventstore.idempotency import KEY_MAX
from groundswell.http import (
    audit,
    boards,
    challenges,
    contributions,
    delivery,
    exports,
    follow_up,
    ideas,
    people,
    problems,
    search,
    store,
)
from groundswell.http.common import Api, expected_version, idempotency_key
from groundswell.http.gate import Gate, NoStore, Throttle

# Bytes. The longest body (a challenge: 10,000-character question, 50 departments of 100
# characters...) is about 185 kB with every character JSON-escaped as \uXXXX pairs.
MAX_BODY = 256 * 1024
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "A token an administrator issues with `groundswell tokens issue HANDLE`.",
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The version the edit is based on: the ETag of your last GET (428 without).",
    "schema": {"type": "string", "pattern": '^(W/)?"[0-9]{1,18}"$', "examples": ['"3"']},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key (and the same request) answers the first result.",
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": "^[!-~]+$"},
}


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413) before anything reads them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await too_large(self.limit)(scope, receive, send)
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                # An HTTPException: FastAPI turns any other error while reading into a 400.
                raise StarletteHTTPException(413, f"the request body is over {self.limit} bytes.")
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> ASGIApp:
    return problems.problem(413, "too-large", f"the request body is over {limit} bytes.")


def create_app(
    api: Api,
    throttle: Throttle | None = None,
    allowed_hosts: Sequence[str] = ("*",),
) -> FastAPI:
    """The API on ``api``; ``throttle`` limits writes and refused tokens (None: unlimited),
    and only requests whose Host is one of ``allowed_hosts`` are answered (400 otherwise:
    a DNS-rebinding page cannot talk to a server on the reader's machine)."""
    app = FastAPI(
        # /docs is served offline with the pages (groundswell/web/docs.py); no CDN pages.
        docs_url=None,
        redoc_url=None,
        title="groundswell",
        version="1",
        summary="Challenges, ideas, contributions and rewards over HTTP; every step an event.",
        description=(
            "Authenticate with `Authorization: Bearer <token>` (an administrator issues "
            "tokens with `groundswell tokens issue HANDLE`). Every POST and PUT accepts an "
            "`Idempotency-Key`; a retry with the same key answers the first result. A "
            "command answers the `position` of its last event: pass it as `at_least` to "
            "later reads to see your own write. Refusals are `application/problem+json`."
        ),
    )
    app.state.api = api
    problems.install(app)
    modules = (
        people, challenges, ideas, contributions, boards, store, audit, follow_up, delivery,
        exports,
        search,
    )  # fmt: skip
    routers = [module.router for module in modules]
    for router in routers:
        app.include_router(router)
    app.state.routes = [route for router in routers for route in router.routes]
    app.openapi = lambda: describe(app, routers)  # type: ignore[method-assign]
    # The last added runs first: the Host, then the token and limits, then the body's size.
    app.add_middleware(BodyLimit)
    app.state.throttle = throttle = throttle or Throttle(None, None)
    app.add_middleware(Gate, throttle=throttle)
    app.add_middleware(NoStore)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness, for health checks and as the benchmark's no-op baseline."""
        return {"status": "ok"}

    return app


def describe(app: FastAPI, routers: list[APIRouter]) -> dict[str, Any]:
    """The OpenAPI description, with what FastAPI does not infer from the routes: the Problem
    schema refusals refer to, the bearer scheme, and the headers commands and edits read
    themselves (``Idempotency-Key``; ``If-Match``, with its 428)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    description = app.openapi_schema = FastAPI.openapi(app)
    components = description.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = problems.Problem.model_json_schema()
    components["securitySchemes"] = {"bearer": BEARER}
    description["security"] = [{"bearer": []}]
    description["paths"]["/healthz"]["get"]["security"] = []
    routes = [route for router in routers for route in router.routes]
    for route in routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        reads = set(calls(route.dependant))
        for method in route.methods:
            operation = description["paths"][route.path_format][method.lower()]
            if idempotency_key in reads:
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            if expected_version in reads:
                operation.setdefault("parameters", []).append(IF_MATCH)
                operation["responses"]["428"] = problems.refusal(428)
    return description


def calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency a route runs, however deeply nested."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from calls(sub)
