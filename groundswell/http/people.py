"""People and roles (administrators), and each person's own view: "me"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from domain.errors import NotFound, NotPermitted
from domain.ledger import person_account
from groundswell.http import models
from groundswell.http.auth import AnyCaller, Caller, Writer
from groundswell.http.common import (
    Api,
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
from groundswell.http.contributions import shown_contribution
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON
from projections import balances, notifications
from projections.directory import listed
from projections.follow_up_due import answer_expected
from projections.rows import Rows

router = APIRouter(tags=["people"], responses=COMMON)
Handle = models.Handle


def expected_by(follow_up_rows: Rows, key: str) -> str | None:
    found = answer_expected(follow_up_rows, key)
    return None if found is None else str(found["expected_by"])


def person_row(api: Api, handle: str, at_least: int) -> dict[str, Any]:
    with rows(api, "directory", at_least) as found:
        person = found.get("people", handle)
    if person is None:
        raise NotFound(f"nobody with handle {handle!r} is registered.", field="handle")
    return dict(person)


def require_self_or(caller: Caller, handle: str, allowed: bool) -> None:
    if caller.handle != handle and not allowed:
        raise NotPermitted(f"{caller.handle} may see only their own account, not {handle}'s.")


def ledger_of(api: Api, handle: str, at_least: int, limit: int, offset: int) -> dict[str, Any]:
    with rows(api, "balances", at_least) as found:
        points = balances.balance(found, person_account(handle))
        entries = balances.ledger(found, person_account(handle))
    return {"handle": handle, "balance": points, "entries": paged(entries, limit, offset, api)}


@router.post("/v1/people", status_code=201)
def register_person(
    body: models.PersonIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Register someone who may take part, with department, pseudonym and roles (admins)."""
    return answer(
        api,
        key,
        response,
        lambda e: e.register_person(
            body.handle,
            name=body.name,
            department=body.department,
            pseudonym=body.pseudonym,
            roles=body.roles,
            email=body.email,
            actor=caller.handle,
        ),
    )


@router.get("/v1/people")
def list_people(
    caller: AnyCaller,
    api: ApiDep,
    department: Filter = None,
    role: Filter = None,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.PersonOut]:
    """Everyone registered, by handle (managers, auditors, admins: real identities)."""
    if not caller.sees_identities:
        raise NotPermitted("only managers, auditors and admins see who is registered.")
    with rows(api, "directory", at_least) as found:
        items = listed(found, "people", department=department)
    items = sorted(
        (p for p in items if role is None or role in p["roles"]), key=lambda p: p["handle"]
    )
    return models.Page[models.PersonOut](**paged(items, limit, offset, api))


@router.get("/v1/people/{handle}")
def get_person(
    handle: Handle, caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0
) -> models.PersonOut:
    require_self_or(caller, handle, caller.sees_identities)
    return models.PersonOut(**person_row(api, handle, at_least))


@router.put("/v1/people/{handle}/roles")
def change_roles(
    handle: Handle,
    body: models.RolesIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    return answer(
        api, key, response, lambda e: e.change_roles(handle, body.roles, actor=caller.handle)
    )


@router.put("/v1/people/{handle}/department")
def change_department(
    handle: Handle,
    body: models.DepartmentIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    return answer(
        api,
        key,
        response,
        lambda e: e.change_department(handle, body.department, actor=caller.handle),
    )


@router.post("/v1/people/{handle}/disable")
def disable_person(
    handle: Handle,
    body: models.ReasonIn,
    caller: Writer,
    api: ApiDep,
    key: KeyDep,
    response: Response,
) -> models.Receipt:
    """Stop someone acting and reading (admins): their tokens answer 401, their page
    sessions end, their company sign-ins are refused, until they are enabled again."""
    return answer(
        api, key, response, lambda e: e.disable_person(handle, body.reason, actor=caller.handle)
    )


@router.post("/v1/people/{handle}/enable")
def enable_person(
    handle: Handle, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Let a disabled person act and read again (admins); tokens not revoked meanwhile
    work again."""
    return answer(api, key, response, lambda e: e.enable_person(handle, actor=caller.handle))


@router.get("/v1/people/{handle}/balance", tags=["rewards"])
def person_balance(
    handle: Handle,
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.BalanceOut:
    """A person's points and the ledger entries behind them, newest first (the person
    themself, auditors and admins)."""
    require_self_or(caller, handle, caller.reads_all)
    person_row(api, handle, at_least)
    return models.BalanceOut(**ledger_of(api, handle, at_least, limit, offset))


# -- me ---------------------------------------------------------------------------------


@router.get("/v1/me", tags=["me"])
def me(caller: AnyCaller, api: ApiDep, at_least: AtLeast = 0) -> models.MeOut:
    """Who the token belongs to, their roles and their balance."""
    person = person_row(api, caller.handle, at_least)
    with rows(api, "balances", at_least) as found:
        points = balances.balance(found, person_account(caller.handle))
    return models.MeOut(**person, balance=points)


def with_expected_by(api: Api, items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """``items`` each with the date an answer is promised by, for the row ``key`` names.

    The dates come from the follow-up read model as far as it got: its lag must not hold
    back reading one's own ideas and contributions (each read model has its own consumer).
    """
    with rows(api, "follow_up", 0) as waiting:
        return [{**i, "answer_expected_by": expected_by(waiting, i[key])} for i in items]


@router.get("/v1/me/ideas", tags=["me"])
def my_ideas(
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.IdeaRow]:
    """Ideas I submitted or joined the team of: status, decision and reason, owner, progress."""
    with rows(api, "directory", at_least) as found:
        items = [
            i
            for i in found.table("ideas").values()
            if i["author"] == caller.handle or caller.handle in i["team"]
        ]
    items.sort(key=lambda i: (i["updated_at"], i["idea_id"]), reverse=True)
    shown = masks_for(api, caller, at_least).shown(with_expected_by(api, items, "idea_id"))
    return models.Page[models.IdeaRow](**paged(shown, limit, offset, api))


@router.get("/v1/me/contributions", tags=["me"])
def my_contributions(
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.ContributionOut]:
    """My comments, build-ons, endorsements and scores, and whether each was found helpful."""
    with rows(api, "directory", at_least) as found:
        items = listed(found, "contributions", author=caller.handle)
    items.sort(key=lambda c: (c["added_at"], c["contribution_id"]), reverse=True)
    shown = with_expected_by(api, [shown_contribution(c, caller) for c in items], "contribution_id")
    shown = masks_for(api, caller, at_least).shown(shown)
    return models.Page[models.ContributionOut](**paged(shown, limit, offset, api))


@router.get("/v1/me/ledger", tags=["me", "rewards"])
def my_ledger(
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.BalanceOut:
    """My balance and every entry behind it: what I got, for what, from which event."""
    return models.BalanceOut(**ledger_of(api, caller.handle, at_least, limit, offset))


@router.get("/v1/me/notifications", tags=["me"])
def my_notifications(
    caller: AnyCaller,
    api: ApiDep,
    at_least: AtLeast = 0,
    limit: Limit = 50,
    offset: Offset = 0,
) -> models.Page[models.NotificationOut]:
    """Every change to something I took part in, newest first."""
    with rows(api, "notifications", at_least) as found:
        items = notifications.inbox(found, caller.handle)
    return models.Page[models.NotificationOut](**paged(items, limit, offset, api))


@router.put("/v1/me/pseudonym", tags=["me"])
def choose_pseudonym(
    body: models.PseudonymIn, caller: Writer, api: ApiDep, key: KeyDep, response: Response
) -> models.Receipt:
    """Be shown on public boards under a pseudonym (null: under one's name)."""
    return answer(api, key, response, lambda e: e.choose_pseudonym(caller.handle, body.pseudonym))
