"""Errors as RFC 9457 problem details: a sentence a person understands and the field at fault.

Every refusal, whether the domain's, the request's shape, authentication or a limit,
answers ``application/problem+json``; nothing was written when one is sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from domain import errors
from groundswell.eventstore.idempotency import KeyReused

PROBLEM = "application/problem+json"

STATUS_OF = {
    errors.InvalidInput: 422,
    KeyReused: 422,
    errors.NotFound: 404,
    errors.NotPermitted: 403,
    errors.WrongStage: 409,
    errors.AlreadyDone: 409,
    errors.RewardRefused: 409,
    errors.InsufficientBalance: 409,
    errors.NotAvailable: 409,
    errors.PriceChanged: 409,
    errors.ConcurrencyConflict: 409,
    errors.StaleVersion: 409,
}
TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request too large",
    422: "Invalid input",
    428: "Version needed",
    429: "Too many requests",
    503: "Not ready yet",
}


class Problem(BaseModel):
    """RFC 9457 problem details, with the field at fault and a stable error code."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    current_version: int | None = None


class ApiProblem(Exception):
    """A refusal raised by the HTTP layer itself (authentication, preconditions, limits)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field
        self.headers = headers or {}


def problem(
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=f"https://groundswell.dev/problems/{code}",
        title=TITLES.get(status, "Refused"),
        status=status,
        detail=detail,
        code=code,
        field=field,
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status, headers=headers, media_type=PROBLEM
    )


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def first_error(error: RequestValidationError | ValidationError) -> tuple[str, str]:
    """The field at fault and pydantic's sentence, of the first thing found wrong."""
    first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
    return field_of(list(first.get("loc", ()))), str(first.get("msg", "invalid request"))


def field_of(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "title")`` → ``title``; ``("query", "limit")`` → ``limit``."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Answer every refusal as problem+json."""

    @app.exception_handler(errors.DomainError)
    async def domain_error(_: Request, error: errors.DomainError) -> JSONResponse:
        if isinstance(error, errors.StaleVersion):
            return problem(
                409,
                error.code,
                error.message,
                error.field,
                headers={"ETag": etag(error.current_version)},
                current_version=error.current_version,
            )
        return problem(status_of(error), error.code, error.message, error.field)

    @app.exception_handler(ApiProblem)
    async def api_problem(_: Request, error: ApiProblem) -> JSONResponse:
        return problem(error.status, error.code, error.detail, error.field, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        field, message = first_error(error)
        return problem(422, "invalid-input", f"{field}: {message}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        code = codes.get(error.status_code, "refused")
        return problem(error.status_code, code, str(error.detail), headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "routes", []):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(route.methods or ())
    return sorted(methods)


def etag(version: int) -> str:
    return f'"{version}"'


def refusal(status: int) -> dict[str, Any]:
    """A refusal as the OpenAPI description states it: problem+json with the Problem schema
    (``app.describe`` adds the schema to the components; FastAPI would file a response
    ``model`` under application/json)."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": TITLES[status], "content": {PROBLEM: {"schema": schema}}}


# The refusals every endpoint may answer, for the OpenAPI description. 400: a body that is
# not UTF-8 (FastAPI cannot parse it) or a domain refusal without a status of its own.
COMMON = {status: refusal(status) for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)}
