"""Ideas: submission's follow-up — team, review, decision, merge, hand-over, implementation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from domain.idea import Idea
from domain.person import Role
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http import lists, models
from groundswell.http.auth import AnyCaller, Caller, Writer
from groundswell.http.common import (
    ApiDep,
    AtLeast,
    Filter,
    KeyDep,
    Limit,
    Offset,
    Version,
    answer,
    folded,
    paged,
    rows,
)
from groundswell.http.contributions import shown_contribution
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON, ApiProblem, etag
from projections.directory import listed

router = APIRouter(prefix="/v1/ideas", tags=["ideas"], responses=COMMON)


def idea_out(idea: Idea) -> dict[str, Any]:
    return {
        "id": idea.id,
        "version": idea.version,
        "challenge_id": idea.challenge_id,
        "title": idea.title,
        "description": idea.description,
        "author": idea.author,
        "department": idea.department,
        "status": idea.status.value,
        "team": list(idea.team),
        "reviewers": list(idea.reviewers),
        "decision_reason": idea.decision_reason,
        "merged_into": idea.merged_into,
        "duplicates": list(idea.duplicates),
        "owner": idea.owner,
        "core_process": idea.core_process,
        "external_ref": idea.external_ref,
        "progress": list(idea.progress),
        "impact": idea.impact,
        "take_over_asked_by": sorted(idea.take_over_requests),
    }


@router.get("")
def list_ideas(
    caller: AnyCaller,
    api: ApiDep,
    challenge: Filter = None,
    status: lists.IdeaStatusFilter = None,
    department: Filter = None,
    author: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
    sort: lists.IdeaSort = None,
    overdue: Annotated[
        bool | None,
        Query(
            description="Only ideas with (true) or without (false) something overdue on "
            "them: a decision or an answer past its deadline (managers, auditors)."
        ),
    ] = None,
) -> models.Page[models.IdeaRow]:
    """Ideas filtered by challenge id, status, department, author or overdue follow-up;
    newest first, or most endorsed, most discussed, waiting longest."""
    order = lists.one_of(sort, lists.IDEA_SORTS, "sort", "newest")
    status = lists.idea_status(status)
    if overdue is not None and not (caller.has(Role.MANAGER) or caller.reads_all):
        raise ApiProblem(
            403, "not-permitted", f"{caller.handle} needs the manager role to filter by overdue."
        )
    masks = masks_for(api, caller, at_least)
    wanted = masks.wanted(author)

    def sorted_ideas() -> tuple[list[dict[str, Any]], None]:
        items = listed(
            found, "ideas", challenge_id=challenge, status=status, department=department,
            author=wanted,
        )  # fmt: skip
        lists.sort_ideas(items, order, found, challenge)
        return items, None  # the order does not depend on the clock

    with rows(api, "directory", at_least) as found:
        # Filtered and sorted once per state of the read model: the rows are the live
        # read model's, shared (as before) and never changed by a reader.
        key = ("ideas", challenge, status, department, wanted, order)
        items = list(folded(api, found, key, api.engine.clock(), sorted_ideas))
    if overdue is not None:
        with rows(api, "follow_up", at_least) as waiting:
            late = lists.overdue_ideas(waiting, api.engine.clock(), challenge)
        items = [i for i in items if (i["idea_id"] in late) == overdue]
    found_page = paged(items, limit, offset, api)
    found_page["items"] = masks.shown(found_page["items"])  # only the rows answered
    return models.Page[models.IdeaRow](**found_page)


@router.get("/{idea_id}")
def get_idea(idea_id: UUID, caller: AnyCaller, api: ApiDep, response: Response) -> models.IdeaOut:
    """One idea as it is now; its ETag is the version an edit must name in If-Match."""
    idea = api.engine.idea(idea_id)
    response.headers["ETag"] = etag(idea.version)
    return models.IdeaOut(**masks_for(api, caller).shown(idea_out(idea)))


@router.patch("/{idea_id}")
def edit_idea(
    idea_id: UUID,
    body: models.IdeaIn,
    version: Version,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Edit title and description (its team); If-Match names the version it is based on."""
    return answer(
        api,
        key,
        response,
        lambda e: e.edit_idea(
            caller.handle,
            idea_id,
            title=body.title,
            description=body.description,
            expected_version=version,
        ),
    )


@router.get("/{idea_id}/contributions", tags=["contributions"])
def list_contributions_on(
    idea_id: UUID,
    caller: AnyCaller,
    api: ApiDep,
    kind: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.ContributionOut]:
    """Comments, build-ons, endorsements and review scores on one idea, oldest first."""
    with rows(api, "directory", at_least) as found:
        items = listed(found, "contributions", idea_id=str(idea_id), kind=kind)
    items.sort(key=lambda c: (c["added_at"], c["contribution_id"]))
    shown = masks_for(api, caller, at_least).shown([shown_contribution(c, caller) for c in items])
    return models.Page[models.ContributionOut](**paged(shown, limit, offset, api))


Command = Callable[[Engine, Caller, UUID, Any], Receipt]


def _action(
    path: str, doc: str, body: type[BaseModel] | None, command: Command, status: int = 200
) -> None:
    """One POST /v1/ideas/{idea_id}/PATH that runs ``command`` (with its body, if any)."""
    name = path.replace("-", "_")
    tags = ["contributions"] if status == 201 else None
    if body is None:

        def plain(
            idea_id: UUID, caller: Writer, api: ApiDep, key: KeyDep, response: Response
        ) -> models.Receipt:
            return answer(api, key, response, lambda e: command(e, caller, idea_id, None))

        handler: Callable[..., models.Receipt] = plain
    else:

        def with_body(
            idea_id: UUID,
            payload: body,  # type: ignore[valid-type]
            caller: Writer,
            api: ApiDep,
            key: KeyDep,
            response: Response,
        ) -> models.Receipt:
            return answer(api, key, response, lambda e: command(e, caller, idea_id, payload))

        # Annotations are strings here (PEP 563); give FastAPI the model class itself.
        with_body.__annotations__["payload"] = body
        handler = with_body
    handler.__doc__ = doc
    router.post(f"/{{idea_id}}/{path}", name=name, status_code=status, tags=tags)(handler)


_action(
    "withdraw", "Withdraw one's own idea.", None, lambda e, c, i, b: e.withdraw_idea(c.handle, i)
)
_action(
    "invitations",
    "Invite someone to the idea's team (a team member may).",
    models.HandleIn,
    lambda e, c, i, b: e.invite_to_team(c.handle, i, b.handle),
)
_action(
    "join", "Accept an invitation to the team.", None, lambda e, c, i, b: e.join_team(c.handle, i)
)
_action(
    "reviewers",
    "Ask someone to review the idea (managers).",
    models.HandleIn,
    lambda e, c, i, b: e.ask_reviewer(c.handle, i, b.handle),
)
_action(
    "review",
    "Start reviewing the idea (managers).",
    None,
    lambda e, c, i, b: e.start_review(c.handle, i),
)
_action(
    "accept",
    "Accept the idea, with a note (managers).",
    models.NoteIn,
    lambda e, c, i, b: e.accept_idea(c.handle, i, b.note),
)
_action(
    "reject",
    "Reject the idea; the reason is required and told to everyone involved (managers).",
    models.ReasonIn,
    lambda e, c, i, b: e.reject_idea(c.handle, i, b.reason),
)
_action(
    "merge",
    "Merge this idea, a duplicate, into another (managers).",
    models.MergeIn,
    lambda e, c, i, b: e.merge_idea(c.handle, i, b.into),
)
_action("unmerge", "Undo a merge (managers).", None, lambda e, c, i, b: e.undo_merge(c.handle, i))
_action(
    "take-over",
    "Hand an accepted idea to the line organisation: one of its challenge's managers names the "
    "owner (accepting that owner's request, if any: then the request's core process stands "
    "unless another is given); an owner naming themselves asks to take it over, and the "
    "managers decide.",
    models.TakeOverIn,
    lambda e, c, i, b: e.take_over_idea(
        c.handle, i, core_process=b.core_process, external_ref=b.external_ref, owner=b.owner
    ),
)
_action(
    "owner",
    "Give an idea in implementation to another owner (managers).",
    models.HandleIn,
    lambda e, c, i, b: e.reassign_owner(c.handle, i, b.handle),
)
_action(
    "progress",
    "Report implementation progress (the owner).",
    models.ProgressIn,
    lambda e, c, i, b: e.report_progress(c.handle, i, b.note),
)
_action(
    "implemented",
    "Mark the idea implemented, with its impact (the owner).",
    models.ImpactIn,
    lambda e, c, i, b: e.mark_implemented(c.handle, i, b.impact),
)
_action(
    "abandon",
    "Abandon the implementation, with the reason (the owner).",
    models.ReasonIn,
    lambda e, c, i, b: e.abandon_idea(c.handle, i, b.reason),
)
_action(
    "comments",
    "Comment on the idea.",
    models.CommentIn,
    lambda e, c, i, b: e.comment(c.handle, i, b.body),
    201,
)
_action(
    "build-ons",
    "Point at another idea that builds on this one.",
    models.BuildOnIn,
    lambda e, c, i, b: e.build_on(c.handle, i, b.body, b.linked_idea_id),
    201,
)
_action(
    "endorsements",
    "Endorse the idea (once per person).",
    None,
    lambda e, c, i, b: e.endorse(c.handle, i),
    201,
)
_action(
    "review-scores",
    "Give the idea a review score from 1 to 5 (asked reviewers, once).",
    models.ScoreIn,
    lambda e, c, i, b: e.give_review_score(c.handle, i, b.score, b.body),
    201,
)
