"""The desk page: everything waiting on the reader; where managers and owners start."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from groundswell.http import follow_up
from groundswell.http.common import Api, AtLeast
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)

KINDS = {
    "decision": "Decide on the idea",
    "answer": "Answer a comment",
    "review": "Review the idea",
    "progress": "Report progress",
    "invitation": "Reply to a team invitation",
}


@router.get("/web/desk")
def desk_page(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    api: Api = request.app.state.api
    found = follow_up.my_desk(caller, api, at_least)
    return page(request, "desk.html", caller, desk=found, kinds=KINDS)
