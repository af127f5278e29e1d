"""The search page (every page's search box leads here) and the similar ideas a title brings
up while it is typed. Both read through the API's own search (groundswell/http/search.py),
with the reader's identity, so a page finds exactly what the API would find for them."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from groundswell.http import search
from groundswell.http.auth import Caller
from groundswell.http.boards import require_visible
from groundswell.http.common import Api, AtLeast, Filter
from groundswell.http.problems import ApiProblem
from groundswell.web.render import PageRoute, page, templates
from groundswell.web.session import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Text = Annotated[str, Query(max_length=2000)]  # longer ones get the search's own sentence


def api_of(request: Request) -> Api:
    found: Api = request.app.state.api
    return found


@router.get("/web/search")
def search_page(
    request: Request,
    caller: Reader,
    q: Text = "",
    kind: Filter = None,
    challenge: Filter = None,
    at_least: AtLeast = 0,
) -> HTMLResponse:
    """Ranked hits with the matched words marked; a query that cannot be searched is said
    why on the page itself (with the box to try again), never an error page."""
    hits, problem = [], None
    if q.strip() or kind or challenge:
        try:
            hits = search.search(
                caller, api_of(request), q=q, kind=kind or None, challenge=challenge or None,
                at_least=at_least, limit=50,
            ).items  # fmt: skip
        except ApiProblem as refused:
            problem = refused.detail
    return page(
        request, "search.html", caller, 200 if problem is None else 422, q=q, hits=hits,
        kind=kind or "", problem=problem, searched=bool(q.strip()),
    )  # fmt: skip


def similar_to(api: Api, caller: Caller, idea: Any) -> list[Any]:
    """The ideas of ``idea``'s challenge most like it (for its managers: merges start here)."""
    try:
        return search.similar_ideas(api, caller, str(idea.challenge_id), idea.title, str(idea.id))
    except ApiProblem:  # a title without a word to search for
        return []


@router.get("/web/challenges/{challenge_id}/similar-ideas")
def similar_ideas(
    request: Request, challenge_id: UUID, caller: Reader, title: Text = ""
) -> HTMLResponse:
    """A fragment for the submit form's script: the challenge's ideas most like ``title``
    (nothing while the title has no word of three letters yet)."""
    api = api_of(request)
    require_visible(api, caller, challenge_id)
    try:
        hits = search.similar_ideas(api, caller, str(challenge_id), title)
    except ApiProblem:
        hits = []
    return templates.TemplateResponse(
        request,
        "similar.html",
        {"similar": hits, "typed": True},
        headers={"Cache-Control": "no-store"},
    )
