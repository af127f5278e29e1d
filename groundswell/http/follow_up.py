"""Follow-up over HTTP: a challenge's follow-up policy (what is due when, how it climbs)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from domain.errors import NotFound
from groundswell.http import models
from groundswell.http.auth import AnyCaller, Writer
from groundswell.http.challenges import visible
from groundswell.http.common import ApiDep, KeyDep, answer
from groundswell.http.problems import COMMON

router = APIRouter(prefix="/v1", tags=["follow-up"], responses=COMMON)

Days = Annotated[int, Field(ge=1, le=365)]
EscalationDays = Annotated[int, Field(ge=0, le=365, description="Days overdue; 0 turns it off.")]


class FollowUpPolicyOut(BaseModel):
    """When answers are due and how waiting climbs, for one challenge."""

    decision_deadline_days: int
    answer_days: int
    progress_days: int
    remind_every_days: int
    escalate_to_managers_after_days: int
    escalate_to_sponsor_after_days: int
    sponsor_handle: str


class FollowUpPolicyIn(models.Body):
    """The terms to change; those not sent stay as they are."""

    answer_days: Days | None = None
    progress_days: Days | None = None
    remind_every_days: Days | None = None
    escalate_to_managers_after_days: EscalationDays | None = None
    escalate_to_sponsor_after_days: EscalationDays | None = None
    sponsor_handle: Annotated[str, Field(max_length=40)] | None = None


@router.get("/challenges/{challenge_id}/follow-up-policy")
def get_follow_up_policy(challenge_id: UUID, caller: AnyCaller, api: ApiDep) -> FollowUpPolicyOut:
    """A challenge's follow-up policy (the defaults until its managers set one)."""
    challenge = api.engine.challenge(challenge_id)
    if not visible(caller, challenge.stage.value, challenge.managers):
        raise NotFound(f"no challenge with id {challenge_id}.")
    return FollowUpPolicyOut(
        decision_deadline_days=challenge.decision_deadline_days, **asdict(challenge.follow_up)
    )


@router.put("/challenges/{challenge_id}/follow-up-policy")
def set_follow_up_policy(
    challenge_id: UUID,
    body: FollowUpPolicyIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Change the follow-up policy (the challenge's managers; any stage but archived)."""
    changes = body.model_dump(exclude_none=True)
    return answer(
        api,
        key,
        response,
        lambda e: e.set_follow_up_policy(caller.handle, challenge_id, **changes),
    )
