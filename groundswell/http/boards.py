"""The read models: leaderboards, pots and treasury, funnel, follow-up debt, breadth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from domain.errors import NotFound
from domain.person import Role
from groundswell.http import lists, models
from groundswell.http.auth import AnyCaller, Caller, needs
from groundswell.http.challenges import visible
from groundswell.http.common import Api, ApiDep, AtLeast, Filter, Limit, Offset, folded, paged, rows
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON
from projections import balances, breadth, follow_up, implementation, leaderboard

router = APIRouter(prefix="/v1", tags=["read models"], responses=COMMON)
STEERING = needs(Role.MANAGER, reading=True)


@router.get("/leaderboard")
def get_leaderboard(
    caller: AnyCaller,
    api: ApiDep,
    challenge: Filter = None,
    department: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
    sort: lists.StandingSort = None,
) -> models.Page[models.StandingOut]:
    """Who earned the most reward points, overall or in one challenge; pseudonyms where
    chosen. Handles only for managers, auditors and admins. Ranked by points; ``sort``
    lists them by name or department instead (the rank stays the points' rank)."""
    order = lists.one_of(sort, lists.STANDING_SORTS, "sort", "points")
    with rows(api, "leaderboard", at_least) as found:
        standings = leaderboard.standings(found, challenge)
    items = [
        {**asdict(s), "handle": s.handle if caller.sees_identities else None}
        for s in standings
        if department is None or s.department == department
    ]
    items = lists.sorted_by(items, order, STANDING_ORDERS)
    return models.Page[models.StandingOut](**paged(items, limit, offset, api))


STANDING_ORDERS: dict[str, Callable[[Any], Any]] = {
    "name": lambda s: (s["shown_as"].casefold(), s["rank"]),
    "department": lambda s: (s["department"].casefold(), s["rank"]),
}
DEPARTMENT_ORDERS: dict[str, Callable[[Any], Any]] = {
    "ideas": lambda d: (-d.ideas, d.department),
    "contributors": lambda d: (-d.contributors, d.department),
    "name": lambda d: d.department.casefold(),
}


@router.get("/departments")
def get_departments(
    _: AnyCaller,
    api: ApiDep,
    challenge: Filter = None,
    at_least: AtLeast = 0,
    sort: lists.DepartmentSort = None,
    limit: Annotated[int | None, Query(ge=1, le=500, description="How many at most.")] = None,
    offset: Offset = 0,
) -> list[models.DepartmentOut]:
    """Points, ideas and contributors per department; most points first, or most ideas,
    most contributors, by name."""
    order = lists.one_of(sort, lists.DEPARTMENT_SORTS, "sort", "points")
    with rows(api, "leaderboard", at_least) as found:
        board = lists.sorted_by(
            leaderboard.department_board(found, challenge), order, DEPARTMENT_ORDERS
        )
    end = None if limit is None else offset + limit
    return [models.DepartmentOut(**asdict(d)) for d in board[offset:end]]


def pot_of(found: Any, challenge_id: str) -> dict[str, Any]:
    if found.get("pots", challenge_id) is None:
        raise NotFound(f"no challenge with id {challenge_id}.")
    return {"challenge_id": challenge_id, **balances.pot(found, challenge_id)}


def require_visible(api: Api, caller: Caller, challenge_id: UUID) -> None:
    """A draft is for its managers, auditors and admins: to others it does not exist."""
    challenge = api.engine.challenge(challenge_id)
    if not visible(caller, challenge.stage.value, challenge.managers):
        raise NotFound(f"no challenge with id {challenge_id}.")


@router.get("/pots/{challenge_id}", tags=["rewards"])
def get_pot(
    challenge_id: UUID, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> models.PotOut:
    """A challenge's reward pot: funded, granted, returned, remaining."""
    require_visible(api, caller, challenge_id)
    with rows(api, "balances", at_least) as found:
        return models.PotOut(**pot_of(found, str(challenge_id)))


@router.get("/treasury", tags=["rewards"])
def get_treasury(
    caller: Annotated[Caller, STEERING], api: ApiDep, at_least: AtLeast = 0
) -> models.TreasuryOut:
    """The treasury's balance, what was redeemed, and every pot (managers, auditors;
    a draft's pot only for its managers)."""
    with rows(api, "directory", at_least) as found:
        shown = {
            key
            for key, c in found.table("challenges").items()
            if visible(caller, c["stage"], c["managers"])
        }
    with rows(api, "balances", at_least) as found:
        pots = [pot_of(found, key) for key in found.table("pots") if key in shown]
        return models.TreasuryOut(
            treasury=balances.treasury(found), redeemed=balances.redeemed(found), pots=pots
        )


@router.get("/funnel")
def get_funnel(
    caller: AnyCaller,
    api: ApiDep,
    challenge: Filter = None,
    stage: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.FunnelOut:
    """How far ideas got (submitted → reviewed → accepted → in implementation →
    implemented) with conversion rates, and where each idea stands now."""
    with rows(api, "implementation", at_least) as found:
        view = implementation.funnel_view(found, api.engine.clock(), challenge, stage)
    ideas = masks_for(api, caller, at_least).shown(view["ideas"])
    return models.FunnelOut(funnel=view["funnel"], ideas=paged(ideas, limit, offset, api))


@router.get("/follow-up", dependencies=[STEERING])
def get_follow_up(
    api: ApiDep,
    challenge: Filter = None,
    manager: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.FollowUpOut:
    """What waits for an answer past the decision deadline, how long, on whose desk
    (managers, auditors)."""
    with rows(api, "follow_up", at_least) as found:
        now = api.engine.clock()
        # Which items are overdue is folded once per state and deadline passed; their waits
        # are measured at each read (the list is short beside the items scanned).
        keys, median = folded(
            api, found, ("follow-up debt", challenge, manager), now,
            lambda: ((follow_up.overdue_keys(found, now, challenge, manager),
                      follow_up.median_days_to_decision(found, challenge)),
                     follow_up.next_overdue(found, now, challenge)),
        )  # fmt: skip
        summary = follow_up.summary_of(follow_up.measured_debt(found, keys, now), median)
    return models.FollowUpOut(**{**summary, "debt": paged(summary["debt"], limit, offset, api)})


@router.get("/breadth/{challenge_id}")
def get_breadth(
    challenge_id: UUID, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> models.BreadthOut:
    """Which departments take part, how concentrated participation is, and a warning when
    a small circle carries the challenge."""
    require_visible(api, caller, challenge_id)
    with rows(api, "breadth", at_least) as found:
        if found.get("challenges", str(challenge_id)) is None:
            raise NotFound(f"no challenge with id {challenge_id}.")
        return models.BreadthOut(**breadth.breadth(found, str(challenge_id)))
