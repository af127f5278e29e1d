"""The idea page's forms beyond the main story: edit and withdraw (the team), invite and
join, ask a reviewer and score, merge (with a side-by-side preview) and undo, abandon,
and hiding a contribution (moderation).

Each runs the engine command the API's route runs, with the API's body model checking
what was typed, through ``actions.act``: same rules, same refusals, nothing written when
refused, what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from domain.idea import Idea
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.app.services.unit_of_work import replay
from groundswell.http import challenges, ideas, models
from groundswell.http.auth import Caller
from groundswell.http.privacy import public_names
from groundswell.web import pages
from groundswell.web.actions import (
    Back,
    Key,
    Long,
    Short,
    act,
    asked_idea_action,
    idea_action,
    numbers,
    owner_action,
)
from groundswell.web.confirm import Confirm, Confirmed
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Poster

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Handle = Annotated[str, Form(max_length=40)]
# What a stale edit's refusal shows of what changed since the version it was based on.
COMPARED = (("Title", "title"), ("Description", "description"), ("Status", "status"))


def changed_since(request: Request, idea_id: UUID, version: int) -> list[tuple[str, str, str]]:
    """What is different now from the idea at ``version``: (what, then, now)."""
    engine: Engine = request.app.state.api.engine
    now = engine.idea(idea_id)
    if not 1 <= version < now.version:
        return []
    then: Idea = engine.repository.get(idea_id, version=version, projector_func=replay)
    found = [
        (label, str(getattr(then, name)), str(getattr(now, name)))
        for label, name in COMPARED
        if getattr(then, name) != getattr(now, name)
    ]
    if then.team != now.team:
        found.append(("Team", ", ".join(then.team), ", ".join(now.team)))
    return found


@router.post("/web/ideas/{idea_id}/edit")
def edit_idea(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    title: Short,
    description: Long,
    version: Annotated[int, Form(ge=0, le=1_000_000_000)],
) -> Response:
    """The team edits title and description; ``version`` is the one the form was read at
    (the API's If-Match): an idea changed since is refused, and the page says what changed
    (the form then carries the version shown, so sending it again is a choice made)."""

    def edit(engine: Engine) -> Receipt:
        body = models.IdeaIn(title=title, description=description)
        return engine.edit_idea(
            caller.handle, idea_id, title=body.title, description=body.description,
            expected_version=version,
        )  # fmt: skip

    def again(request: Request, caller: Caller, **context: Any) -> HTMLResponse:
        changed = changed_since(request, idea_id, version)
        return pages.idea_page(request, caller, idea_id, changed=changed, **context)

    fields = {"title": title, "description": description, "version": version}
    return act(request, caller, form_key, fields, [edit], lambda _: f"/web/ideas/{idea_id}", again)


@router.post("/web/ideas/{idea_id}/withdraw")
def withdraw(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, confirmed: Confirmed = ""
) -> Response:
    return asked_idea_action(
        request, caller, idea_id, form_key, confirmed,
        "Withdraw this idea? It stays readable but takes no more input, and it cannot be "
        "submitted again.",
        "Withdraw it",
        lambda e: e.withdraw_idea(caller.handle, idea_id),
    )  # fmt: skip


def naming(
    request: Request,
    caller: Caller,
    idea_id: UUID,
    form_key: str,
    handle: str,
    command: Callable[[Engine, str, UUID, str], Receipt],
) -> Response:
    """An idea's form that names one person, the handle checked as the API's body checks it."""

    def named(engine: Engine) -> Receipt:
        return command(engine, caller.handle, idea_id, models.HandleIn(handle=handle).handle)

    return idea_action(request, caller, idea_id, form_key, {"handle": handle}, [named])


@router.post("/web/ideas/{idea_id}/invite")
def invite(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, handle: Handle
) -> Response:
    return naming(request, caller, idea_id, form_key, handle, Engine.invite_to_team)


@router.post("/web/ideas/{idea_id}/join")
def join(request: Request, idea_id: UUID, caller: Poster, form_key: Key) -> Response:
    return idea_action(
        request, caller, idea_id, form_key, {}, [lambda e: e.join_team(caller.handle, idea_id)]
    )


@router.post("/web/ideas/{idea_id}/reviewers")
def ask_reviewer(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, handle: Handle
) -> Response:
    return naming(request, caller, idea_id, form_key, handle, Engine.ask_reviewer)


@router.post("/web/ideas/{idea_id}/score")
def give_score(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    score: Annotated[str, Form(max_length=2)],
    body: Long = "",
) -> Response:
    """An asked reviewer's score, 1 to 5, once; the API's body model checks it."""

    def scored(engine: Engine) -> Receipt:
        given = numbers(score, "score")
        checked = models.ScoreIn(score=given[0] if given else 0, body=body)
        return engine.give_review_score(caller.handle, idea_id, checked.score, checked.body)

    return idea_action(request, caller, idea_id, form_key, {"score": score, "body": body}, [scored])


# -- merges -----------------------------------------------------------------------------


@router.post("/web/ideas/{idea_id}/merge")
def merge(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    into: Annotated[UUID, Form()],
    confirmed: Confirmed = "",
) -> Response:
    """First the two ideas side by side (nothing written), then, confirmed, the merge."""
    if confirmed != "yes":
        return merge_preview(request, caller, idea_id, into, form_key)
    return idea_action(
        request, caller, idea_id, form_key, {"into": str(into)},
        [lambda e: e.merge_idea(caller.handle, idea_id, into)],
    )  # fmt: skip


def merge_preview(
    request: Request, caller: Caller, idea_id: UUID, into: UUID, key: str
) -> HTMLResponse:
    api = pages.api_of(request)
    duplicate = ideas.get_idea(idea_id, caller, api, Response())
    target = ideas.get_idea(into, caller, api, Response())
    challenge = challenges.get_challenge(duplicate.challenge_id, caller, api, Response())
    names = public_names(api, caller)
    return page(
        request, "merge.html", caller, duplicate=duplicate, target=target, challenge=challenge,
        names=names, hidden={"form_key": key, "into": str(into)},
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/unmerge")
def unmerge(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, confirmed: Confirmed = ""
) -> Response:
    return asked_idea_action(
        request, caller, idea_id, form_key, confirmed,
        "Undo this merge? The idea becomes a separate idea again, in the status it had "
        "before it was merged.",
        "Undo the merge",
        lambda e: e.undo_merge(caller.handle, idea_id),
    )  # fmt: skip


# -- the owner gives up; moderation -------------------------------------------------------


@router.post("/web/ideas/{idea_id}/abandon")
def abandon(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    reason: Long,
    back: Back = "idea",
    confirmed: Confirmed = "",
) -> Response:
    asked = None
    if reason.strip():  # without a reason: refused at once, nothing to confirm
        asked = (
            "Abandon the implementation of this idea, for the reason below? Everyone "
            "involved reads it, and the implementation cannot be resumed.",
            "Abandon it",
            reason,
        )

    def abandoned(engine: Engine) -> Receipt:
        return engine.abandon_idea(caller.handle, idea_id, models.ReasonIn(reason=reason).reason)

    return owner_action(
        request, caller, idea_id, form_key, back, {"reason": reason}, abandoned, asked, confirmed
    )


@router.post("/web/contributions/{contribution_id}/hide")
def hide(
    request: Request,
    contribution_id: UUID,
    caller: Poster,
    form_key: Key,
    idea_id: Annotated[UUID, Form()],
    reason: Long,
    confirmed: Confirmed = "",
) -> Response:
    """A manager hides a contribution, with the reason its author reads; its text stays
    readable to its author and to those who moderate."""
    asked = None
    if reason.strip():
        asked = Confirm(
            "Hide this contribution? Only its author and those who moderate will read it; "
            "it cannot be shown again.",
            "Hide it",
            f"/web/ideas/{idea_id}",
            {"idea_id": idea_id, "reason": reason},
            [("Reason", reason)],
        )

    def hidden(engine: Engine) -> Receipt:
        return engine.hide_contribution(
            caller.handle, contribution_id, models.ReasonIn(reason=reason).reason
        )

    fields = {"contribution_id": str(contribution_id), "reason": reason}
    return idea_action(request, caller, idea_id, form_key, fields, [hidden], asked, confirmed)
