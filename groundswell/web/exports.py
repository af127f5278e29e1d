"""A challenge's CSV exports for the pages' readers (signed in by cookie): the same rows,
refusals and masks as the API's /v1/challenges/{id}/export/{table}.csv."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from groundswell.http.exports import Table, csv_answer
from groundswell.web.render import PageRoute
from groundswell.web.session import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
TABLES = {
    "ideas": "Ideas",
    "contributions": "Contributions",
    "leaderboard": "Leaderboard",
    "follow-up": "Follow-up debt",
}


@router.get("/web/challenges/{challenge_id}/export/{table}.csv")
def export_csv(request: Request, challenge_id: UUID, table: Table, caller: Reader) -> Response:
    return csv_answer(request.app.state.api, caller, challenge_id, table, 0)
