"""CSV exports of a challenge: its ideas, contributions, leaderboard and follow-up debt.

What managers paste into their reports. Each export is the rows the JSON API answers the
same caller (read through the same route functions, so drafts, hidden contributions and
pseudonyms are masked alike), as CSV: a header row of the JSON fields, UTF-8, one row per
item. Nested values (a decision, progress notes, a team) are JSON text in their cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from domain.errors import NotPermitted
from groundswell.http import boards, contributions, ideas, models
from groundswell.http.auth import AnyCaller, Caller
from groundswell.http.boards import require_visible
from groundswell.http.common import Api, ApiDep, AtLeast
from groundswell.http.problems import COMMON

router = APIRouter(prefix="/v1", tags=["exports"], responses=COMMON)
Table = Literal["ideas", "contributions", "leaderboard", "follow-up"]
CSV = "text/csv; charset=utf-8"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection"):
# such text cells get a leading apostrophe, which spreadsheets show as plain text. Text that
# starts with an apostrophe gets one too, so reading back is unambiguous: one leading
# apostrophe before one of these or another apostrophe is never part of the text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIXED = (*FORMULA_STARTS, "'")
BATCH = 500  # the route functions' largest page


def cell(value: Any) -> str:
    """One JSON value as CSV text: strings as they are (made formula-safe), null as empty,
    true/false, numbers, and lists or objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(PREFIXED) else value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_csv(columns: list[str], items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([cell(item.get(column)) for column in columns])
    return out.getvalue()


def all_pages(read: Callable[[int], models.Page[Any]]) -> list[dict[str, Any]]:
    """Every item of a paged read, page after page."""
    found: list[dict[str, Any]] = []
    while True:
        page = read(len(found))
        found.extend(item.model_dump(mode="json") for item in page.items)
        if not page.items or len(found) >= page.total:
            return found


def require_steering(api: Api, caller: Caller, challenge_id: UUID) -> None:
    """The challenge's managers, auditors and admins export it (drafts stay unseen by
    others: 404 as everywhere)."""
    require_visible(api, caller, challenge_id)
    if caller.reads_all or caller.handle in api.engine.challenge(challenge_id).managers:
        return
    raise NotPermitted(
        f"only this challenge's managers, auditors and administrators export its rows, "
        f"not {caller.handle}."
    )


def export_rows(
    api: Api, caller: Caller, challenge_id: UUID, table: str, at_least: int = 0
) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of one export, as the JSON API answers them to ``caller``."""
    require_steering(api, caller, challenge_id)
    key = str(challenge_id)
    model: type[BaseModel]
    if table == "ideas":
        model = models.IdeaRow
        items = all_pages(lambda offset: ideas.list_ideas(
            caller, api, challenge=key, status=None, department=None, author=None,
            at_least=at_least, limit=BATCH, offset=offset,
        ))  # fmt: skip
    elif table == "contributions":
        model = models.ContributionOut
        items = all_pages(lambda offset: contributions.list_contributions(
            caller, api, challenge=key, kind=None, department=None, author=None,
            at_least=at_least, limit=BATCH, offset=offset,
        ))  # fmt: skip
    elif table == "leaderboard":
        model = models.StandingOut
        items = all_pages(lambda offset: boards.get_leaderboard(
            caller, api, challenge=key, department=None, at_least=at_least, limit=BATCH,
            offset=offset,
        ))  # fmt: skip
    else:
        model = models.WaitingOut
        items = all_pages(lambda offset: boards.get_follow_up(
            api, challenge=key, manager=None, at_least=at_least, limit=BATCH, offset=offset
        ).debt)  # fmt: skip
    return list(model.model_fields), items


def csv_answer(api: Api, caller: Caller, challenge_id: UUID, table: str, at_least: int) -> Response:
    columns, items = export_rows(api, caller, challenge_id, table, at_least)
    name = f"challenge-{challenge_id}-{table}.csv"
    return Response(
        as_csv(columns, items).encode("utf-8"),
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/challenges/{challenge_id}/export/{table}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def export_csv(
    challenge_id: UUID, table: Table, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> Response:
    """A challenge's ideas, contributions, leaderboard or follow-up debt as CSV, the rows
    the JSON API answers you (its managers, auditors and admins); formula-safe cells."""
    return csv_answer(api, caller, challenge_id, table, at_least)
