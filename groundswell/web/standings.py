"""A challenge's standings page: everyone with points in it, a page at a time, and every
department, each in the order the address asks (the challenge page shows the top ten)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from groundswell.http import challenges
from groundswell.http.common import AtLeast
from groundswell.web import listing
from groundswell.web.pages import api_of
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/web/challenges/{challenge_id}/standings")
def standings_view(
    request: Request, challenge_id: UUID, caller: Reader, at_least: AtLeast = 0
) -> HTMLResponse:
    api = api_of(request)
    challenge = challenges.get_challenge(challenge_id, caller, api, Response())
    found = listing.standings(request, caller, api, str(challenge_id), at_least)
    return page(request, "standings.html", caller, challenge=challenge, listed=found)
