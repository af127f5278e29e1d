"""Follow-up over HTTP: a challenge's follow-up policy (what is due when, how it climbs), and
each person's desk (everything waiting on them)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from domain.errors import NotFound, NotPermitted
from domain.person import Role
from groundswell.http import models
from groundswell.http.auth import AnyCaller, Writer, needs
from groundswell.http.challenges import visible
from groundswell.http.common import Api, ApiDep, AtLeast, Filter, KeyDep, answer, folded, rows
from groundswell.http.people import person_row
from groundswell.http.problems import COMMON
from projections import accountability, desk

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


# -- the desk ---------------------------------------------------------------------------


class DeskItem(BaseModel):
    """One thing waiting on a person: a decision, an answer, a review, a progress report,
    or an invitation; since when, due when, overdue by how many days (0 while not due)."""

    id: str
    kind: str
    challenge_id: str
    challenge: str
    idea_id: str
    title: str
    author: str
    since: str
    due: str
    overdue_days: float


class DeskOut(BaseModel):
    handle: str
    waiting: int
    overdue: int
    items: list[DeskItem]


def desk_of(api: Api, handle: str, at_least: int) -> tuple[DeskOut, set[str]]:
    """A person's desk, and the challenges its items belong to."""
    with rows(api, "desk", at_least) as found:
        items = desk.desk(found, handle, api.engine.clock())
        managed = {
            key
            for key, challenge in found.table("challenges").items()
            if handle in challenge.get("managers", ())
        }
    out = DeskOut(
        handle=handle,
        waiting=len(items),
        overdue=sum(1 for item in items if item["overdue_days"] > 0),
        items=[DeskItem(**item) for item in items],
    )
    return out, {item["challenge_id"] for item in items} | managed


@router.get("/me/desk", tags=["me"])
def my_desk(caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0) -> DeskOut:
    """Everything waiting on you, across all challenges, the most overdue first."""
    return desk_of(api, caller.handle, at_least)[0]


@router.get("/people/{handle}/desk", tags=["people"])
def person_desk(handle: str, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0) -> DeskOut:
    """Everything waiting on a person (the person, managers of the challenges the person
    acts in, auditors and admins)."""
    person_row(api, handle, at_least)
    found, challenges = desk_of(api, handle, at_least)
    if caller.handle != handle and not caller.reads_all:
        with rows(api, "desk", at_least) as desk_rows:
            manages = any(
                caller.handle in (desk_rows.get("challenges", c) or {}).get("managers", ())
                for c in challenges
            )
        if not manages:
            raise NotPermitted(
                f"only {handle}, the managers of {handle}'s challenges, auditors and "
                f"administrators see {handle}'s desk."
            )
    return found


# -- accountability -----------------------------------------------------------------------


class Accountability(BaseModel):
    on_time: int
    late: int
    waiting: int
    overdue: int
    reminders: int
    escalations: int
    median_days_to_answer: float | None
    p90_days_to_answer: float | None


class AccountabilityOut(BaseModel):
    """Per challenge and per manager: answered on time, late, still waiting (overdue);
    reminders and escalations received; median and 90th-percentile days to an answer."""

    challenges: dict[str, Accountability]
    managers: dict[str, Accountability]


@router.get("/accountability", dependencies=[needs(Role.MANAGER, reading=True)])
def get_accountability(
    api: ApiDep, challenge: Filter = None, at_least: AtLeast = 0
) -> AccountabilityOut:
    """Which desks answer on time and which avoid softly (managers, auditors, admins);
    ``challenge`` keeps one challenge and the managers of it."""
    with rows(api, "follow_up", at_least) as found:
        now = api.engine.clock()
        figures = folded(
            api, found, ("accountability",), now,
            lambda: (accountability.accountability(found, now),
                     accountability.next_overdue(found, now)),
        )  # fmt: skip
        if challenge is not None:
            managers = (found.get("challenges", challenge) or {}).get("managers", [])
            figures = {
                "challenges": {k: v for k, v in figures["challenges"].items() if k == challenge},
                "managers": {k: v for k, v in figures["managers"].items() if k in managers},
            }
    return AccountabilityOut(**figures)
