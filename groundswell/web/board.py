"""The board: a challenge's ideas by stage, one column per stage of the funnel, where a
manager moves an idea on to its next stage.

A move is a plain form (a button per card, keyboard-operable, no script needed) that runs
the same engine command as the API's route for that step, under the form's idempotency
key, and asks for confirmation first as the idea page does (a move is for good). Everyone
else sees the board read-only. Each column shows the ideas waiting longest first, at most
``COLUMN`` of them; the rest are a link to the filtered list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from domain.errors import NotFound
from domain.idea import IdeaStatus
from domain.person import Role
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http import challenges, ideas, models
from groundswell.http.auth import Caller
from groundswell.http.common import AtLeast, rows
from groundswell.web import choices
from groundswell.web.actions import Key, Long, Short, act
from groundswell.web.confirm import Confirm, Confirmed
from groundswell.web.pages import api_of
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Poster, Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
COLUMN = 50


@dataclass(frozen=True)
class Step:
    """A column, and the move a manager makes from it (None: not a manager's to make)."""

    status: IdeaStatus
    move: str | None
    to: IdeaStatus | None


STEPS = (
    Step(IdeaStatus.SUBMITTED, "review", IdeaStatus.UNDER_REVIEW),
    Step(IdeaStatus.UNDER_REVIEW, "accept", IdeaStatus.ACCEPTED),
    Step(IdeaStatus.ACCEPTED, "hand-over", IdeaStatus.IN_IMPLEMENTATION),
    # Only the idea's owner marks it implemented, with its impact (on the idea's page).
    Step(IdeaStatus.IN_IMPLEMENTATION, None, IdeaStatus.IMPLEMENTED),
    Step(IdeaStatus.IMPLEMENTED, None, None),
)
MOVES = {step.move: step for step in STEPS if step.move}
QUESTIONS = {
    "review": "Start the review of “{title}”? Its team can no longer edit it, and it cannot "
    "go back to being only submitted.",
    "accept": "Accept “{title}”? A decision is final; everyone involved is told.",
    "hand-over": "Hand “{title}” over to {owner} for implementation?",
}


@router.get("/web/challenges/{challenge_id}/board")
def board_view(
    request: Request, challenge_id: UUID, caller: Reader, at_least: AtLeast = 0
) -> HTMLResponse:
    return board_page(request, caller, challenge_id, at_least)


def board_page(
    request: Request,
    caller: Caller,
    challenge_id: UUID,
    at_least: int = 0,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    api, key = api_of(request), str(challenge_id)
    challenge = challenges.get_challenge(challenge_id, caller, api, Response())
    columns = []
    for step in STEPS:
        found = ideas.list_ideas(
            caller, api, challenge=key, status=step.status.value, department=None,
            author=None, sort="waiting-longest", at_least=at_least, limit=COLUMN, offset=0,
        )  # fmt: skip
        columns.append({"step": step, "ideas": found.items, "total": found.total})
    manages = choices.may_manage(caller, challenge)
    with rows(api, "directory", at_least) as directory:
        owners = sorted(
            (p for p in directory.table("people").values() if Role.OWNER.value in p["roles"]),
            key=lambda p: p["name"].casefold(),
        )
    return page(
        request, "board.html", caller, status, challenge=challenge, columns=columns,
        manages=manages and not caller.only_audits, owners=owners if manages else [],
        column_size=COLUMN, **context,
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/board/move")
def move(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    idea_id: Annotated[UUID, Form()],
    to: Annotated[str, Form(pattern="^(review|accept|hand-over)$")],
    title: Short = "",
    note: Long = "",
    owner: Short = "",
    core_process: Short = "",
    external_ref: Short = "",
    confirmed: Confirmed = "",
) -> Response:
    """Move one idea on: the API's /review, /accept or /take-over, as its command."""
    back = f"/web/challenges/{challenge_id}/board"
    fields = {"idea_id": str(idea_id), "to": to, "note": note, "owner": owner,
              "core_process": core_process, "external_ref": external_ref}  # fmt: skip

    def moved(engine: Engine) -> Receipt:
        if engine.idea(idea_id).challenge_id != challenge_id:
            raise NotFound(f"no idea with id {idea_id} in this challenge.")
        if to == "review":  # POST /v1/ideas/{id}/review
            return engine.start_review(caller.handle, idea_id)
        if to == "accept":  # POST /v1/ideas/{id}/accept
            accepted = models.NoteIn(note=note)
            return engine.accept_idea(caller.handle, idea_id, accepted.note)
        handed = models.TakeOverIn(  # POST /v1/ideas/{id}/take-over
            core_process=core_process, external_ref=external_ref, owner=owner.strip() or None
        )
        return engine.take_over_idea(
            caller.handle, idea_id, core_process=handed.core_process,
            external_ref=handed.external_ref, owner=handed.owner,
        )  # fmt: skip

    asked = Confirm(
        QUESTIONS[to].format(title=title or "this idea", owner=owner or "its owner"),
        f"Move to {MOVES[to].to}",
        back,
        {**fields, "title": title},
        [("Note", note)] if note else [],
    )
    return act(
        request, caller, form_key, fields, [moved], lambda _: back,
        lambda request, caller, **context: board_page(request, caller, challenge_id, **context),
        asked, confirmed,
    )  # fmt: skip
