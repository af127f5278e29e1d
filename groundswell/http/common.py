"""What every route shares: the engine and read side, paging, idempotency, answers."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from groundswell.access.tokens import TokenStore
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.eventstore.idempotency import KEY_MAX, CommandKey, fingerprint, keyed
from groundswell.http import models
from groundswell.http.auth import Caller, current_caller
from groundswell.http.problems import ApiProblem
from groundswell.http.reads import ReadSide
from groundswell.identity.tokens import AccessTokens
from groundswell.reads.folds import FoldCache
from groundswell.readstore.search_index import SearchIndex
from projections.rows import Rows

POSITION_HEADER = "Groundswell-Position"
KEY_SHAPE = re.compile(r"^[\x21-\x7e]+$")


@dataclass
class Api:
    """The engine and its read side, as the routes use them (built by the composition root)."""

    engine: Engine
    reads: ReadSide
    tokens: TokenStore
    # The identity provider's access tokens, accepted besides ours when OIDC is configured.
    identity: AccessTokens | None = None
    search: SearchIndex | None = None  # the search projection's full-text index
    # Figures folded over every item (follow-up debt, accountability, the funnel), kept
    # per state of the read model so a page read again between events does not refold.
    folds: FoldCache = field(default_factory=FoldCache)


async def api_of(request: Request) -> Api:
    # A coroutine, so FastAPI calls it on the event loop rather than in a worker thread.
    found: Api = request.app.state.api
    return found


ApiDep = Annotated[Api, Depends(api_of)]
AtLeast = Annotated[
    int,
    Query(
        ge=0,
        le=2**62,
        description="Wait until the read models include this position (a command's answer).",
    ),
]
Limit = Annotated[int, Query(ge=1, le=500, description="How many items at most.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="How many items to skip.")]
Filter = Annotated[str | None, Query(max_length=200)]


async def idempotency_key(
    request: Request, caller: Annotated[Caller, Depends(current_caller)]
) -> CommandKey | None:
    """The caller's ``Idempotency-Key``, bound to this exact request (method, path, body)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= KEY_MAX or not KEY_SHAPE.match(key):
        raise ApiProblem(
            422,
            "invalid-input",
            f"Idempotency-Key must be 1-{KEY_MAX} visible ASCII characters.",
            field="Idempotency-Key",
        )
    body = await request.body()
    return CommandKey(caller.handle, key, fingerprint(request.method, request.url.path, body.hex()))


KeyDep = Annotated[CommandKey | None, Depends(idempotency_key)]


def answer(
    api: Api, key: CommandKey | None, response: Response, command: Callable[[Engine], Receipt]
) -> models.Receipt:
    """Run one command (under its idempotency key) and say where its events landed."""
    with keyed(key):
        receipt = command(api.engine)
    response.headers[POSITION_HEADER] = str(receipt.position or 0)
    return models.Receipt(id=receipt.id, position=receipt.position, events=receipt.events)


@contextmanager
def rows(api: Api, name: str, at_least: int) -> Iterator[Rows]:
    with api.reads.reading(name, at_least) as found:
        yield found


def folded(
    api: Api,
    found: Rows,
    key: Hashable,
    now: datetime,
    fold: Callable[[], tuple[Any, datetime | None]],
) -> Any:
    """``fold()`` over ``found`` (rows being read, from :func:`rows`), folded once per
    state of the read model and stretch of the clock (groundswell.reads.folds)."""
    return api.folds.folded(key, found, api.reads.position(), now, fold)


def paged(items: list[Any], limit: int, offset: int, api: Api) -> dict[str, Any]:
    return models.page(items, limit, offset, api.reads.position())


def expected_version(request: Request) -> int:
    """The version an edit was based on, from ``If-Match`` (required on edits)."""
    header = request.headers.get("if-match")
    if header is None:
        raise ApiProblem(
            428,
            "version-needed",
            "send the version your edit is based on as If-Match (the ETag of your last GET).",
            field="If-Match",
        )
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiProblem(
            422, "invalid-input", 'If-Match must be an ETag such as "3".', field="If-Match"
        )
    return int(value)


Version = Annotated[int, Depends(expected_version)]
