"""The desk page: everything waiting on the reader, across all challenges, the most overdue
first, each with its action inline: decide on an idea (accept or not, with a note or the
reason), answer a comment, or open the idea for the rest. Where managers start."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from groundswell.http import follow_up
from groundswell.http.auth import Caller
from groundswell.http.common import Api, AtLeast
from groundswell.web.actions import Key, Long, act
from groundswell.web.confirm import Confirm, Confirmed, quoted
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Poster, Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
DESK = "/web/desk"

KINDS = {
    "decision": "Decide on the idea",
    "answer": "Answer a comment",
    "review": "Review the idea",
    "progress": "Report progress",
    "invitation": "Reply to a team invitation",
}


@router.get("/web/desk")
def desk_view(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    return desk_page(request, caller, at_least)


def desk_page(
    request: Request, caller: Caller, at_least: int = 0, status: int = 200, **context: Any
) -> HTMLResponse:
    api: Api = request.app.state.api
    found = follow_up.my_desk(caller, api, at_least)
    return page(request, "desk.html", caller, status, desk=found, kinds=KINDS, **context)


@router.post("/web/desk/ideas/{idea_id}/decide")
def decide(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    words: Long = "",
    confirmed: Confirmed = "",
) -> Response:
    """Accept (with a note) or do not take forward (with the reason) from the desk; final,
    so confirmed first, as on the idea's page (a submitted idea's review starts with it)."""
    accept = decision == "accept"
    title = quoted(lambda: request.app.state.api.engine.idea(idea_id).title, "this idea")
    question = (
        f"Accept {title}?" if accept else f"Decide not to take {title} forward, with the reason?"
    )
    asked: Confirm | None = Confirm(
        question + " Everyone involved is told, and a decision cannot be undone.",
        "Accept it" if accept else "Do not take it forward",
        DESK,
        {"decision": decision, "words": words},
        [("Note" if accept else "Reason", words)] if words.strip() else [],
    )
    if not accept and not words.strip():
        asked = None  # refused for want of a reason: said at once, nothing to confirm
    return act(
        request, caller, form_key, {"decision": decision, "words": words},
        [lambda e: e.decide_idea(caller.handle, idea_id, accept=accept, words=words)],
        lambda _: DESK, desk_page, asked, confirmed,
    )  # fmt: skip


@router.post("/web/desk/ideas/{idea_id}/answer")
def answer(request: Request, idea_id: UUID, caller: Poster, form_key: Key, body: Long) -> Response:
    """Answer what was asked on an idea of one's team: a comment on it, which answers every
    question others asked there."""
    return act(
        request, caller, form_key, {"body": body},
        [lambda e: e.comment(caller.handle, idea_id, body)],
        lambda _: DESK, desk_page,
    )  # fmt: skip
