"""The pages: sign-in, challenges, a challenge's overview, an idea, my home, handed to me.

Each page reads through the API's own route functions, called with the reader's identity,
so a page shows exactly what the API would answer that reader; ``at_least`` works as in
the API (the live script and the redirect after a form ask for the position just written).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from domain.idea import IdeaStatus
from domain.person import Role
from groundswell.audit import history
from groundswell.http import boards, challenges, follow_up, ideas, people, store
from groundswell.http.auth import Caller, pasted_token
from groundswell.http.common import Api, AtLeast, folded, rows
from groundswell.http.gate import refused_token
from groundswell.http.privacy import masks_for, public_names
from groundswell.http.problems import ApiProblem
from groundswell.web import charts, choices, listing, timeline
from groundswell.web.company import end_session_url
from groundswell.web.render import PageRoute, page
from groundswell.web.search import similar_to
from groundswell.web.session import (
    COOKIE,
    WHY,
    Reader,
    begin,
    safe_next,
    same_origin,
    sessions_of,
)
from projections import balances, implementation
from projections.follow_up_due import answer_expected

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MANY = 500
RECENT = 20


def api_of(request: Request) -> Api:
    found: Api = request.app.state.api
    return found


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/web", status_code=307)


@router.get("/web")
def start(caller: Reader) -> RedirectResponse:
    """Managers start at their desk, owners at what is handed to them, auditors at the
    challenges, everyone else at home (with the challenges open for their ideas)."""
    if caller.has(Role.MANAGER):
        return RedirectResponse("/web/desk", status_code=303)
    if caller.has(Role.OWNER):
        return RedirectResponse("/web/owner", status_code=303)
    return RedirectResponse("/web/challenges" if caller.reads_all else "/web/me", status_code=303)


@router.get("/web/sign-in")
def sign_in_page(request: Request, next: str = "/web", why: str = "") -> HTMLResponse:
    return page(request, "sign_in.html", None, next=safe_next(next), position=0,
                company=company_name(request), problem=WHY.get(why))  # fmt: skip


def company_name(request: Request) -> str | None:
    """Who the company sign-in is (its issuer's host), when there is one."""
    oidc = getattr(request.app.state, "oidc", None)
    return urlsplit(oidc.issuer).netloc if oidc is not None else None


@router.post("/web/sign-in")
def sign_in(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/web",
) -> Response:
    same_origin(request)
    token = pasted_token(token)
    throttle = request.app.state.throttle
    address = request.client.host if request.client else "unknown"
    try:
        throttle.check_failures(address)
        holder = refused_token(api_of(request), token, address, throttle)
    except ApiProblem as refused:
        if refused.status == 429:
            raise
        return page(
            request, "sign_in.html", None, 401, next=safe_next(next), problem=refused.detail,
            position=0, company=company_name(request),
        )  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    begin(request, response, holder.handle, "token", token=token)
    return response


@router.post("/web/sign-out")
def sign_out(request: Request) -> RedirectResponse:
    """End the session here (a replayed cookie meets the sign-in page), and for a company
    sign-in at the identity provider too, when it offers a sign-out page."""
    same_origin(request)
    ended = sessions_of(request).end(request.cookies.get(COOKIE, ""))
    target = "/web/sign-in"
    if ended is not None and ended.method == "oidc":
        target = end_session_url(request, ended.id_token) or target
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/web/challenges")
def challenge_list(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    return challenge_list_page(request, caller, at_least)


def challenge_list_page(
    request: Request, caller: Caller, at_least: int = 0, status: int = 200, **context: Any
) -> HTMLResponse:
    api = api_of(request)
    found = listing.challenge_list(request, caller, api, at_least)
    # Each card's funnel, small: how far its ideas got, at a glance.
    with rows(api, "implementation", at_least) as folded:
        funnels = {
            c.challenge_id: charts.funnel(implementation.funnel(folded, c.challenge_id), small=True)
            for c in found.items
        }
    # A manager's desk first: what waits on them past its decision deadline (follow-up is
    # what the product is about, so it is the first thing a manager sees).
    desk = (
        boards.get_follow_up(
            api, challenge=None, manager=caller.handle, at_least=at_least, limit=MANY, offset=0
        )
        if caller.has(Role.MANAGER)
        else None
    )
    return page(
        request, "challenges.html", caller, status, challenges=found.items, funnels=funnels,
        listed=found, may_launch=caller.has(Role.MANAGER), desk=desk, **context,
    )  # fmt: skip


@router.get("/web/challenges/{challenge_id}")
def challenge_overview(
    request: Request, challenge_id: UUID, caller: Reader, at_least: AtLeast = 0
) -> HTMLResponse:
    return challenge_page(request, caller, challenge_id, at_least)


def challenge_page(
    request: Request,
    caller: Caller,
    challenge_id: UUID,
    at_least: int = 0,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """What an innovation manager steers by: stage and deadlines, the funnel, follow-up
    debt, breadth and concentration, the pot, the leaderboards and the ideas."""
    api, key = api_of(request), str(challenge_id)
    challenge = challenges.get_challenge(challenge_id, caller, api, Response())
    # The funnel's steps only (as on the challenges' cards): the ideas are listed below, a
    # page at a time, so a challenge with thousands of ideas does not lay each one out here.
    with rows(api, "implementation", at_least) as found:
        steps = folded(
            api, found, ("funnel", key), api.engine.clock(),
            lambda: (implementation.funnel(found, key), None),
        )  # fmt: skip
    pot = boards.get_pot(challenge_id, caller, api, at_least)
    reach = boards.get_breadth(challenge_id, caller, api, at_least)
    steering = caller.has(Role.MANAGER) or caller.reads_all
    debt = (
        boards.get_follow_up(
            api, challenge=key, manager=None, at_least=at_least, limit=MANY, offset=0
        )
        if steering
        else None
    )
    answering = (
        follow_up.get_accountability(api, challenge=key, at_least=at_least) if steering else None
    )
    leaders = boards.get_leaderboard(
        caller, api, challenge=key, department=None, at_least=at_least, limit=10, offset=0
    )
    departments = boards.get_departments(caller, api, challenge=key, at_least=at_least)
    # One page of its ideas, filtered and sorted as the address says (groundswell.web.listing).
    idea_rows = listing.challenge_ideas(request, caller, api, key, at_least)
    return page(
        request,
        "challenge.html",
        caller,
        status,
        challenge=challenge,
        funnel=steps,
        funnel_chart=charts.funnel(steps),
        pot=pot,
        pot_chart=charts.pot(pot.granted, pot.remaining, pot.returned),
        breadth=reach,
        breadth_chart=charts.breadth(reach.targeted, reach.contributors_per_department),
        debt=debt,
        answering=answering,
        leaders=leaders.items,
        departments=departments,
        ideas=idea_rows.items,
        listed=idea_rows,
        manages=choices.may_manage(caller, challenge),
        **choices.for_challenge(api, caller, challenge, idea_rows.items, at_least),
        **context,
    )


@router.get("/web/ideas/{idea_id}")
def idea_view(
    request: Request, idea_id: UUID, caller: Reader, at_least: AtLeast = 0
) -> HTMLResponse:
    return idea_page(request, caller, idea_id, at_least)


def idea_page(
    request: Request,
    caller: Caller,
    idea_id: UUID,
    at_least: int = 0,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The idea, its team, its story from the event history, and what the reader may do."""
    api = api_of(request)
    idea = ideas.get_idea(idea_id, caller, api, Response())
    challenge = challenges.get_challenge(idea.challenge_id, caller, api, Response())
    said = ideas.list_contributions_on(
        idea_id, caller, api, kind=None, at_least=at_least, limit=MANY, offset=0
    )
    # Names as this reader may see them: a pseudonym for those behind one (issue 16.5),
    # in the team list and in the story, where reward shares name each beneficiary.
    names = public_names(api, caller, at_least)
    with rows(api, "directory", at_least) as found:
        others = [
            i for i in found.table("ideas").values()
            if i["challenge_id"] == str(idea.challenge_id) and i["idea_id"] != str(idea_id)
        ]  # fmt: skip
    with rows(api, "follow_up", at_least) as waiting:
        keys = [str(idea_id), *(c.contribution_id for c in said.items)]
        expected = {k: due for k in keys if (due := answer_expected(waiting, k)) is not None}
    hidden = {c.contribution_id for c in said.items if c.hidden and c.body is None}
    steps = timeline.story(
        history.idea_story(api.engine, idea_id), lambda h: names.get(h, h), hidden
    )
    manages = choices.may_manage(caller, challenge)
    similar = similar_to(api, caller, idea) if manages else []  # where merges start
    return page(
        request,
        "idea.html",
        caller,
        status,
        idea=idea,
        challenge=challenge,
        names=names,
        contributions=said.items,
        steps=steps,
        others=sorted(others, key=lambda i: i["title"]),
        manages=manages,
        writes=not caller.only_audits,
        owns=idea.owner == caller.handle,
        expected=expected,
        **choices.for_idea(api, caller, idea, manages, others, said.items, at_least),
        similar=similar,
        **context,
    )


@router.get("/web/me")
def home(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    return home_page(request, caller, at_least)


def home_page(
    request: Request, caller: Caller, at_least: int = 0, status: int = 200, **context: Any
) -> HTMLResponse:
    """A contributor's home: what became of my ideas and contributions, what happened to
    things I took part in, my points and where they came from, and what I can get for them."""
    api = api_of(request)
    me = people.me(caller, api, at_least)
    mine = people.my_ideas(caller, api, at_least=at_least, limit=MANY, offset=0)
    said = people.my_contributions(caller, api, at_least=at_least, limit=MANY, offset=0)
    news = people.my_notifications(caller, api, at_least=at_least, limit=RECENT, offset=0)
    ledger = people.my_ledger(caller, api, at_least=at_least, limit=RECENT, offset=0)
    catalog = store.list_items(caller, api, at_least=at_least, limit=MANY, offset=0)
    redeemed = store.my_redemptions(caller, api, at_least=at_least, limit=RECENT, offset=0)
    with rows(api, "directory", at_least) as found:
        titles = {k: i["title"] for k, i in found.table("ideas").items()}
    # The call to take part: each challenge still taking ideas by the engine's today (the
    # submission deadline is the last day ideas are taken).
    today = api.engine.clock().date().isoformat()
    taking = [
        c
        for c in challenges.list_challenges(
            caller, api, stage="open", at_least=at_least, limit=MANY, offset=0
        ).items
        if c.submission_deadline[:10] >= today
    ]
    return page(
        request,
        "home.html",
        caller,
        status,
        me=me,
        ideas=mine.items,
        contributions=said.items,
        titles=titles,
        notifications=news.items,
        ledger=ledger.entries.items,
        catalog=catalog.items,
        redemptions=redeemed.items,
        taking=taking,
        **choices.for_home(api, caller),
        **context,
    )


@router.get("/web/owner")
def handed_to_me(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    return owner_page(request, caller, at_least)


def owner_page(
    request: Request, caller: Caller, at_least: int = 0, status: int = 200, **context: Any
) -> HTMLResponse:
    """Ideas handed to me for implementation, with their progress so far."""
    api = api_of(request)
    with rows(api, "directory", at_least) as found:
        mine = [i for i in found.table("ideas").values() if i["owner"] == caller.handle]
    mine = masks_for(api, caller, at_least).shown(mine)
    mine.sort(key=lambda i: (i["status"] != IdeaStatus.IN_IMPLEMENTATION.value, i["updated_at"]))
    # When each next progress report is due (the desk's), and what else waits on the owner.
    desk = follow_up.my_desk(caller, api, at_least)
    due = {item.idea_id: item for item in desk.items if item.kind == "progress"}
    return page(
        request, "owner.html", caller, status, ideas=mine, due=due,
        elsewhere=desk.waiting - len(due), **context,
    )  # fmt: skip


@router.get("/web/store")
def store_admin(request: Request, caller: Reader, at_least: AtLeast = 0) -> HTMLResponse:
    return store_page(request, caller, at_least)


def store_page(
    request: Request, caller: Caller, at_least: int = 0, status: int = 200, **context: Any
) -> HTMLResponse:
    """The store as administrators keep it: every item, and the redemptions to settle."""
    if not caller.has(Role.ADMIN):
        raise ApiProblem(403, "not-permitted", f"{caller.handle} needs the admin role.")
    api = api_of(request)
    with rows(api, "balances", at_least) as found:
        items = balances.store_items(found, retired=True)
        pending = balances.redemptions(found, status="requested")
        settled = [r for r in balances.redemptions(found) if r["status"] != "requested"]
    return page(
        request, "store.html", caller, status, items=items, pending=pending,
        settled=settled[:RECENT], **context,
    )  # fmt: skip
