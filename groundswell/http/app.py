"""The ASGI application: routes, error answers, a request-size limit, the OpenAPI description."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from groundswell.http import boards, challenges, contributions, ideas, people, problems
from groundswell.http.common import Api

MAX_BODY = 64 * 1024  # bytes: the longest text (10 kB) several times over, in any encoding


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
                raise problems.ApiProblem(
                    413, "too-large", f"the request body is over {self.limit} bytes."
                )
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> ASGIApp:
    return problems.problem(413, "too-large", f"the request body is over {limit} bytes.")


def create_app(api: Api) -> FastAPI:
    app = FastAPI(
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
    for module in (people, challenges, ideas, contributions, boards):
        app.include_router(module.router)
    app.add_middleware(BodyLimit)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness, for health checks and as the benchmark's no-op baseline."""
        return {"status": "ok"}

    return app
