"""Contributions (marked helpful, hidden) and reward grants."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from domain.errors import NotFound
from groundswell.http import models
from groundswell.http.auth import AnyCaller, Caller, Writer
from groundswell.http.common import (
    ApiDep,
    AtLeast,
    Filter,
    KeyDep,
    Limit,
    Offset,
    answer,
    paged,
    rows,
)
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON
from projections.directory import listed

router = APIRouter(tags=["contributions"], responses=COMMON)


def shown_contribution(row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """A hidden contribution's text is shown only to its author and to those who moderate."""
    if row["hidden"] and caller.handle != row["author"] and not caller.sees_identities:
        return {**row, "body": None}
    return row


@router.get("/v1/contributions")
def list_contributions(
    caller: AnyCaller,
    api: ApiDep,
    challenge: Filter = None,
    kind: Filter = None,
    department: Filter = None,
    author: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.ContributionOut]:
    """Contributions, newest first, filtered by challenge id, kind, department or author."""
    masks = masks_for(api, caller, at_least)
    with rows(api, "directory", at_least) as found:
        items = listed(
            found, "contributions", challenge_id=challenge, kind=kind, department=department,
            author=masks.wanted(author),
        )  # fmt: skip
    items.sort(key=lambda c: (c["added_at"], c["contribution_id"]), reverse=True)
    shown = masks.shown([shown_contribution(c, caller) for c in items])
    return models.Page[models.ContributionOut](**paged(shown, limit, offset, api))


@router.get("/v1/contributions/{contribution_id}")
def get_contribution(
    contribution_id: UUID, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> models.ContributionOut:
    with rows(api, "directory", at_least) as found:
        row = found.get("contributions", str(contribution_id))
    if row is None:
        raise NotFound(f"no contribution with id {contribution_id}.")
    masks = masks_for(api, caller, at_least)
    return models.ContributionOut(**masks.shown(shown_contribution(row, caller)))


@router.post("/v1/contributions/{contribution_id}/helpful")
def mark_helpful(
    contribution_id: UUID, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Mark a contribution helpful (managers); it can then be rewarded."""
    return answer(api, key, response, lambda e: e.mark_helpful(caller.handle, contribution_id))


@router.post("/v1/contributions/{contribution_id}/hide")
def hide_contribution(
    contribution_id: UUID,
    body: models.ReasonIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Hide a contribution, with the reason (managers)."""
    return answer(
        api,
        key,
        response,
        lambda e: e.hide_contribution(caller.handle, contribution_id, body.reason),
    )


@router.post("/v1/rewards", tags=["rewards"])
def grant_reward(
    body: models.RewardIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Grant what the challenge's policy names for a reason (managers): idea-accepted,
    idea-implemented, helpful-contribution, prize-N. Paid from the pot, split in the team."""
    return answer(
        api, key, response, lambda e: e.grant_reward(caller.handle, body.reason, body.subject_id)
    )
