"""Challenges: an innovation manager drafts, funds, opens, reviews, closes and archives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from domain.challenge import Challenge, Stage
from domain.errors import NotFound
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http import lists, models
from groundswell.http.auth import AnyCaller, Caller, Writer
from groundswell.http.common import (
    ApiDep,
    AtLeast,
    KeyDep,
    Limit,
    Offset,
    Version,
    answer,
    paged,
    rows,
)
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON, etag
from projections.directory import listed

router = APIRouter(prefix="/v1/challenges", tags=["challenges"], responses=COMMON)


def challenge_out(challenge: Challenge) -> dict[str, Any]:
    policy = challenge.policy
    return {
        "id": challenge.id,
        "version": challenge.version,
        "stage": challenge.stage.value,
        **challenge.terms(),
        "reward_policy": {
            "accepted_idea": policy.accepted_idea,
            "implemented_idea": policy.implemented_idea,
            "helpful_contribution": policy.helpful_contribution,
            "prizes": list(policy.prizes),
        },
        "managers": list(challenge.managers),
        "pot": challenge.pot,
        "funded": challenge.funded,
        "granted": challenge.granted,
    }


def visible(caller: Caller, stage: str, managers: list[str]) -> bool:
    """Drafts are for their managers (and auditors, admins) until they open."""
    return stage != Stage.DRAFT.value or caller.handle in managers or caller.reads_all


@router.post("", status_code=201)
def draft_challenge(
    body: models.ChallengeIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Draft a challenge (managers); the pot is funded from the treasury."""
    terms = body.model_dump(exclude={"pot"})
    return answer(
        api, key, response, lambda e: e.draft_challenge(caller.handle, pot=body.pot, **terms)
    )


@router.get("")
def list_challenges(
    caller: AnyCaller,
    api: ApiDep,
    stage: lists.StageFilter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
    sort: lists.ChallengeSort = None,
) -> models.Page[models.ChallengeRow]:
    """Challenges, newest first (or most ideas, soonest deadline, by title); drafts only
    for their managers."""
    order = lists.one_of(sort, lists.CHALLENGE_SORTS, "sort", "newest")
    stage = lists.challenge_stage(stage)
    with rows(api, "directory", at_least) as found:
        items = [
            c
            for c in listed(found, "challenges", stage=stage)
            if visible(caller, c["stage"], c["managers"])
        ]
    lists.sort_challenges(items, order)
    shown = masks_for(api, caller, at_least).shown(items)
    return models.Page[models.ChallengeRow](**paged(shown, limit, offset, api))


@router.get("/{challenge_id}")
def get_challenge(
    challenge_id: UUID, caller: AnyCaller, api: ApiDep, response: Response
) -> models.ChallengeOut:
    """One challenge as it is now; its ETag is the version edits must name in If-Match."""
    challenge = api.engine.challenge(challenge_id)
    if not visible(caller, challenge.stage.value, challenge.managers):
        raise NotFound(f"no challenge with id {challenge_id}.")
    response.headers["ETag"] = etag(challenge.version)
    return models.ChallengeOut(**masks_for(api, caller).shown(challenge_out(challenge)))


@router.patch("/{challenge_id}")
def edit_challenge(
    challenge_id: UUID,
    body: models.ChallengeEdit,
    version: Version,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Change some terms of a draft; If-Match must name the version the edit is based on."""
    changes = body.model_dump(exclude_none=True)
    return answer(
        api,
        key,
        response,
        lambda e: e.edit_challenge(
            caller.handle, challenge_id, expected_version=version, **changes
        ),
    )


@router.post("/{challenge_id}/managers")
def add_manager(
    challenge_id: UUID,
    body: models.HandleIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    return answer(
        api, key, response, lambda e: e.add_manager(caller.handle, challenge_id, body.handle)
    )


@router.post("/{challenge_id}/pot")
def top_up_pot(
    challenge_id: UUID,
    body: models.PointsIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Add points from the treasury to the challenge's reward pot."""
    return answer(
        api, key, response, lambda e: e.top_up_pot(caller.handle, challenge_id, body.points)
    )


StageCommand = Callable[[Engine, str, UUID], Receipt]
# The four stage changes by the path that asks for each; the pages' stage form uses it too.
STAGE_COMMANDS: dict[str, StageCommand] = {
    "open": Engine.open_challenge,
    "review": Engine.move_challenge_to_review,
    "close": Engine.close_challenge,
    "archive": Engine.archive_challenge,
}


def _stage_route(path: str, command: StageCommand, doc: str) -> None:
    def change(
        challenge_id: UUID, caller: Writer, api: ApiDep, key: KeyDep, response: Response
    ) -> models.Receipt:
        return answer(api, key, response, lambda e: command(e, caller.handle, challenge_id))

    change.__doc__ = doc
    router.post(f"/{{challenge_id}}/{path}", name=command.__name__)(change)


_stage_route("open", Engine.open_challenge, "Open a draft for ideas.")
_stage_route("review", Engine.move_challenge_to_review, "Stop submissions; review what came in.")
_stage_route("close", Engine.close_challenge, "Close the challenge; prizes may be awarded now.")
_stage_route("archive", Engine.archive_challenge, "Archive it; what is left in the pot returns.")


@router.post("/{challenge_id}/ideas", status_code=201, tags=["ideas"])
def submit_idea(
    challenge_id: UUID,
    body: models.IdeaIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Submit an idea to an open challenge."""
    return answer(
        api,
        key,
        response,
        lambda e: e.submit_idea(
            caller.handle, challenge_id, title=body.title, description=body.description
        ),
    )
