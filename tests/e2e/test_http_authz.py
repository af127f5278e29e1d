"""Who may call what: every endpoint the app serves × every role, each against a fresh state
in which an allowed caller's request succeeds.

The endpoints are read from the app itself; one without an expectation in ``TABLE`` fails
``test_every_endpoint_has_an_expectation``. Both backends run the whole matrix, on one
served organisation per backend (module-scoped: a PostgreSQL organisation takes ~1 s to
build); each case builds its own challenge, ideas and people through the engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from groundswell.bootstrap import build_tokens
from groundswell.delivery import unsubscribe, webhooks
from groundswell.delivery.outbox import PARKED, Message
from groundswell.settings import Settings
from groundswell.web.render import PageRoute
from tests.http_support import ROLE_HOLDER, Org, challenge_terms, served_org
from tests.support import database_url_or_fail, postgres_schema

PROBLEM = "application/problem+json"
NOT_ENDPOINTS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz"}
ROLES = ("admin", "manager", "contributor", "owner", "auditor", "anonymous")
TAKES_PART = {"ada", "mia", "cat", "owen"}  # everyone but the auditor
OTHER_MANAGER = "max"  # a manager of none of mia's challenges; grants what redemptions spend
_serial = itertools.count(1)
Params = dict[str, Any]

# -- the state a case needs: path parameters (and "version" for If-Match) --------------------


class World:
    """Builds a case's state through the engine: a challenge managed by mia, ideas, people."""

    def __init__(self, org: Org) -> None:
        self.e = org.engine
        self.org = org

    def challenge(self, stage: str = "open", by: str = "mia", **terms: Any) -> UUID:
        cid = self.e.draft_challenge(by, **challenge_terms(**terms)).id
        steps = [self.e.open_challenge, self.e.move_challenge_to_review, self.e.close_challenge]
        for step in steps[: ["draft", "open", "review", "closed"].index(stage)]:
            step(by, cid)
        return cid

    def idea(self, author: str = "cat", status: str = "submitted", cid: UUID | None = None) -> UUID:
        cid = cid or self.challenge()
        iid = self.e.submit_idea(author, cid, title="Quick-release clamps", description="Why.").id
        if status in ("under_review", "accepted", "in_implementation"):
            self.e.start_review("mia", iid)
        if status in ("accepted", "in_implementation"):
            self.e.accept_idea("mia", iid, "Go.")
        if status == "in_implementation":
            self.e.take_over_idea("mia", iid, core_process="Line 3 maintenance", owner="owen")
        return iid

    def earn(self, handle: str) -> None:
        """Give ``handle`` 10 points: a helpful comment, rewarded by another manager."""
        cid = self.challenge(by=OTHER_MANAGER)
        comment = self.e.comment(handle, self.idea("dan", cid=cid), "Use a jig.").id
        self.e.mark_helpful(OTHER_MANAGER, comment)
        self.e.grant_reward(OTHER_MANAGER, "helpful-contribution", comment)


Prepare = Callable[[World, str | None], Params]
OWN = "own"  # the caller's own idea (cat's for those who take no part)


def nothing(w: World, me: str | None) -> Params:
    return {"n": next(_serial)}


def challenge(stage: str = "open") -> Prepare:
    return lambda w, me: {"challenge_id": w.challenge(stage)}


def idea(status: str = "submitted", author: str = "cat") -> Prepare:
    def prepare(w: World, me: str | None) -> Params:
        mine = me if me in TAKES_PART else "cat"
        return {"idea_id": w.idea(mine if author == OWN else author, status)}

    return prepare


def comment(w: World, me: str | None) -> Params:
    return {"contribution_id": w.e.comment("cat", w.idea("dan"), "Try magnets.").id}


def new_person(w: World, me: str | None) -> Params:
    handle = f"p{next(_serial)}"
    w.e.register_person(handle, name="New Hire", department="Logistics")
    return {"handle": handle}


def disabled_person(w: World, me: str | None) -> Params:
    found = new_person(w, me)
    w.e.disable_person(found["handle"], "On leave.")
    return found


def edit_challenge(w: World, me: str | None) -> Params:
    cid = w.challenge("draft")
    return {"challenge_id": cid, "version": w.e.challenge(cid).version}


def edit_idea(w: World, me: str | None) -> Params:
    iid = idea(author=OWN)(w, me)["idea_id"]
    return {"idea_id": iid, "version": w.e.idea(iid).version}


def join(w: World, me: str | None) -> Params:  # the invited caller joins dan's team
    iid = w.idea("dan")
    if me in TAKES_PART:
        w.e.invite_to_team("dan", iid, me)
    return {"idea_id": iid}


def score(w: World, me: str | None) -> Params:  # the caller was asked to review dan's idea
    iid = w.idea("dan")
    if me in TAKES_PART:
        w.e.ask_reviewer("mia", iid, me)
    return {"idea_id": iid}


def two_ideas(w: World, me: str | None) -> Params:
    cid = w.challenge()
    return {"idea_id": w.idea("cat", cid=cid), "other": w.idea("dan", cid=cid)}


def merged(w: World, me: str | None) -> Params:
    found = two_ideas(w, me)
    w.e.merge_idea("mia", found["idea_id"], found["other"])
    return found


def points(w: World, me: str | None) -> Params:
    if me in TAKES_PART:
        w.earn(me)
    return {}


def offered(w: World, me: str | None) -> Params:
    """A 10-point item in the store, and (for those who take part) 10 points to spend."""
    points(w, me)
    return {"item_id": str(w.e.offer_item(f"Mug {next(_serial)}", price=10).id)}


def retired(w: World, me: str | None) -> Params:
    found = offered(w, me)
    w.e.retire_item(UUID(found["item_id"]))
    return found


def redeemed(w: World, me: str | None) -> Params:
    """dan's redemption of a store item, waiting to be settled."""
    w.earn("dan")
    item = w.e.offer_item(f"Mug {next(_serial)}", price=10).id
    assert item is not None
    return {"redemption_id": str(w.e.redeem_item("dan", item).id)}


def unsubscribe_link(w: World, me: str | None) -> Params:  # a new person's, about ideas
    secret = w.org.client.app.state.open_outbox().secret()  # type: ignore[attr-defined]
    return {"token": unsubscribe.token(secret, new_person(w, me)["handle"], "ideas")}


def outbox_of(w: World) -> Any:  # the app's own (kept open: it is the app's to close)
    return w.org.client.app.state.open_outbox()  # type: ignore[attr-defined]


def webhook(w: World, me: str | None) -> Params:  # a registered endpoint, on loopback
    made = webhooks.register(outbox_of(w), "http://127.0.0.1:9/hook", "cloudevents", [], "2026")
    return {"endpoint_id": made.endpoint_id}


def parked(w: World, me: str | None) -> Params:  # a message the deliverer gave up on
    message_id = f"parked-{next(_serial)}-{me}"
    notice = {"to": ["dan"], "text": "Hi."}
    message = Message(
        message_id, "email", "dan", "dan@example.org", message_id, "ideas",
        "2026-03-02T00:00:00+00:00", notice, PARKED, 1, "2026-03-02", "550", None,
    )  # fmt: skip
    outbox_of(w).add([message], 0)
    return {"message_id": message_id}


def export(table: str) -> Prepare:
    return lambda w, me: {"challenge_id": w.challenge(), "table": table}


def searched(path: str, field: str) -> Prepare:
    """An open challenge with an idea, and a query finding it (the query string in "query")."""

    def prepare(w: World, me: str | None) -> Params:
        cid = w.challenge()
        w.idea(cid=cid)
        return {"challenge_id": cid, "query": f"?{field}=clamps"}

    return prepare


def fixed(**params: str) -> Prepare:
    return lambda w, me: params


def acting(handle: str) -> Prepare:
    """``handle``, with a comment to answer on their idea in a challenge mia manages: what
    puts that challenge on their desk and so lets her see it, whatever other cases ran
    before this one (the suite's workers may each run any part of the matrix, in any order)."""

    def prepare(w: World, me: str | None) -> Params:
        w.e.comment("cat", w.idea(handle), "Which magnets?")
        return {"handle": handle}

    return prepare


# -- the expectations ------------------------------------------------------------------------

EVERYONE = frozenset({"admin", "manager", "contributor", "owner", "auditor"})
WRITERS = EVERYONE - {"auditor"}  # contributors act as themselves; auditors write nothing
ADMIN = frozenset({"admin"})
# The challenge's managers (mia drafted it). An admin holds every *role* (ada may draft
# challenges) but no seat among another challenge's managers, so ada is refused there.
ITS_MANAGER = frozenset({"manager"})
MANAGER_ROLE = frozenset({"admin", "manager"})  # who may draft a challenge
STEERING = frozenset({"admin", "manager", "auditor"})  # who sees identities, treasury, debt
READ_ALL = frozenset({"admin", "auditor"})  # anyone's balance (besides one's own)
OWNER = frozenset({"owner"})  # owen owns the implementation: nobody else reports on it
TEAM = frozenset({"contributor"})  # cat's idea: only its team (cat) invites; a team is no role

TAKE_OVER = {"core_process": "Line 3 maintenance", "external_ref": "CHG-7", "owner": "owen"}
PERSON = {"handle": "n{n}", "name": "N. Ew", "department": "Ops"}
IDEA = {"title": "Clamps", "description": "Quick-release."}
REWARD = {"reason": "idea-accepted", "subject_id": "{idea_id}"}
CH, ID, PE = "/v1/challenges/{challenge_id}", "/v1/ideas/{idea_id}", "/v1/people/{handle}"
ST, RE = "/v1/store/items/{item_id}", "/v1/redemptions/{redemption_id}"
# (method, path) → (roles allowed, the state to build, the body; "{name}" is filled in)
TABLE: dict[tuple[str, str], tuple[frozenset[str], Prepare, Any]] = {
    ("POST", "/v1/people"): (ADMIN, nothing, PERSON),
    ("GET", "/v1/people"): (STEERING, nothing, None),
    ("GET", PE): (STEERING, fixed(handle="dan"), None),  # someone else's entry
    ("PUT", PE + "/roles"): (ADMIN, new_person, {"roles": ["contributor", "owner"]}),
    ("PUT", PE + "/department"): (ADMIN, new_person, {"department": "Quality"}),
    ("PUT", PE + "/email"): (ADMIN, new_person, {"email": "new.hire@example.org"}),
    ("POST", PE + "/disable"): (ADMIN, new_person, {"reason": "Left the company."}),
    ("POST", PE + "/enable"): (ADMIN, disabled_person, None),
    ("GET", PE + "/balance"): (READ_ALL, fixed(handle="dan"), None),  # someone else's
    ("GET", "/v1/me"): (EVERYONE, nothing, None),
    ("GET", "/v1/me/ideas"): (EVERYONE, nothing, None),
    ("GET", "/v1/me/contributions"): (EVERYONE, nothing, None),
    ("GET", "/v1/me/ledger"): (EVERYONE, nothing, None),
    ("GET", "/v1/me/notifications"): (EVERYONE, nothing, None),
    ("PUT", "/v1/me/pseudonym"): (WRITERS, nothing, {"pseudonym": "Fox {n}"}),  # each unique
    ("POST", "/v1/me/redemptions"): (WRITERS, offered, {"item_id": "{item_id}", "points": 10}),
    ("GET", "/v1/me/redemptions"): (EVERYONE, nothing, None),
    ("GET", "/v1/store/items"): (EVERYONE, nothing, None),
    ("POST", "/v1/store/items"): (ADMIN, nothing, {"name": "Mug {n}", "price": 5}),
    ("GET", ST): (EVERYONE, offered, None),
    ("PUT", ST + "/price"): (ADMIN, offered, {"price": 7}),
    ("PUT", ST + "/stock"): (ADMIN, offered, {"stock": 3}),
    ("POST", ST + "/retire"): (ADMIN, offered, None),
    ("POST", ST + "/reactivate"): (ADMIN, retired, None),
    ("GET", "/v1/redemptions"): (ADMIN, nothing, None),
    ("POST", RE + "/fulfil"): (ADMIN, redeemed, None),
    ("POST", RE + "/cancel"): (ADMIN, redeemed, {"reason": "Out of mugs."}),
    ("GET", "/v1/me/email-preferences"): (EVERYONE, nothing, None),
    ("PUT", "/v1/me/quiet-hours"): (WRITERS, nothing, {"start": "22:00", "end": "07:00"}),
    ("PUT", "/v1/me/email-preferences/{kind}"): (WRITERS, fixed(kind="points"), {"choice": "off"}),
    # the link in an e-mail: its signed token is the permission, whoever follows it
    ("GET", "/v1/unsubscribe/{token}"): (EVERYONE | {"anonymous"}, unsubscribe_link, None),
    ("POST", "/v1/unsubscribe/{token}"): (EVERYONE | {"anonymous"}, unsubscribe_link, None),
    ("GET", "/v1/delivery/messages"): (ADMIN, nothing, None),
    ("POST", "/v1/delivery/messages/{message_id}/redeliver"): (ADMIN, parked, None),
    ("POST", "/v1/webhooks"): (ADMIN, nothing, {"url": "http://127.0.0.1:9/hook"}),
    ("GET", "/v1/webhooks"): (ADMIN, nothing, None),
    ("DELETE", "/v1/webhooks/{endpoint_id}"): (ADMIN, webhook, None),
    ("POST", "/v1/webhooks/{endpoint_id}/enable"): (ADMIN, webhook, None),
    ("POST", "/v1/challenges"): (MANAGER_ROLE, nothing, challenge_terms()),
    ("GET", "/v1/challenges"): (EVERYONE, nothing, None),
    ("GET", CH): (EVERYONE, challenge(), None),  # open; drafts: test_a_draft_is_seen_...
    ("PATCH", CH): (ITS_MANAGER, edit_challenge, {"title": "Quicker"}),
    ("POST", CH + "/managers"): (ITS_MANAGER, challenge(), {"handle": OTHER_MANAGER}),
    ("POST", CH + "/pot"): (ITS_MANAGER, challenge(), {"points": 100}),
    ("POST", CH + "/open"): (ITS_MANAGER, challenge("draft"), None),
    ("POST", CH + "/review"): (ITS_MANAGER, challenge("open"), None),
    ("POST", CH + "/close"): (ITS_MANAGER, challenge("review"), None),
    ("POST", CH + "/archive"): (ITS_MANAGER, challenge("closed"), None),
    ("POST", CH + "/ideas"): (WRITERS, challenge(), IDEA),
    ("GET", "/v1/ideas"): (EVERYONE, nothing, None),
    ("GET", ID): (EVERYONE, idea(), None),
    ("PATCH", ID): (WRITERS, edit_idea, IDEA),  # one's own idea
    ("GET", ID + "/contributions"): (EVERYONE, idea(), None),
    ("POST", ID + "/withdraw"): (WRITERS, idea(author=OWN), None),
    ("POST", ID + "/invitations"): (TEAM, idea(), {"handle": "dan"}),
    ("POST", ID + "/join"): (WRITERS, join, None),
    ("POST", ID + "/reviewers"): (ITS_MANAGER, idea(), {"handle": "dan"}),
    ("POST", ID + "/review"): (ITS_MANAGER, idea(), None),
    ("POST", ID + "/accept"): (ITS_MANAGER, idea("under_review"), {"note": "Go."}),
    ("POST", ID + "/reject"): (ITS_MANAGER, idea(), {"reason": "Out of scope."}),
    ("POST", ID + "/merge"): (ITS_MANAGER, two_ideas, {"into": "{other}"}),
    ("POST", ID + "/unmerge"): (ITS_MANAGER, merged, None),
    # one of its managers hands an accepted idea over; the named owner asks to take it over
    ("POST", ID + "/take-over"): (ITS_MANAGER | OWNER, idea("accepted"), TAKE_OVER),
    ("POST", ID + "/owner"): (ITS_MANAGER, idea("in_implementation"), {"handle": "ada"}),
    ("POST", ID + "/progress"): (OWNER, idea("in_implementation"), {"note": "Parts in."}),
    ("POST", ID + "/implemented"): (OWNER, idea("in_implementation"), {"impact": "-40 %"}),
    ("POST", ID + "/abandon"): (OWNER, idea("in_implementation"), {"reason": "Line closes."}),
    ("POST", ID + "/comments"): (WRITERS, idea(), {"body": "Try magnets."}),
    ("POST", ID + "/build-ons"): (WRITERS, two_ideas, {"body": "Ok", "linked_idea_id": "{other}"}),
    ("POST", ID + "/endorsements"): (WRITERS, idea(author="dan"), None),
    ("POST", ID + "/review-scores"): (WRITERS, score, {"score": 4, "body": "Solid."}),
    ("GET", "/v1/contributions"): (EVERYONE, nothing, None),
    ("GET", "/v1/contributions/{contribution_id}"): (EVERYONE, comment, None),
    ("POST", "/v1/contributions/{contribution_id}/helpful"): (ITS_MANAGER, comment, None),
    ("POST", "/v1/contributions/{contribution_id}/hide"): (ITS_MANAGER, comment, {"reason": "x"}),
    ("POST", "/v1/rewards"): (ITS_MANAGER, idea("accepted"), REWARD),
    ("GET", "/v1/leaderboard"): (EVERYONE, nothing, None),
    ("GET", "/v1/departments"): (EVERYONE, nothing, None),
    ("GET", "/v1/pots/{challenge_id}"): (EVERYONE, challenge(), None),
    ("GET", "/v1/treasury"): (STEERING, nothing, None),
    ("GET", "/v1/funnel"): (EVERYONE, nothing, None),
    ("GET", "/v1/follow-up"): (STEERING, nothing, None),
    ("GET", "/v1/breadth/{challenge_id}"): (EVERYONE, challenge(), None),
    ("GET", "/v1/audit/history/{reference}"): (READ_ALL, fixed(reference="cat"), None),
    ("GET", "/v1/audit/ideas/{idea_id}/story"): (READ_ALL, idea(), None),
    ("GET", "/v1/audit/verify"): (READ_ALL, nothing, None),
    ("GET", "/v1/audit/as-of"): (READ_ALL, fixed(query="?moment=2026-12-31"), None),
    ("GET", "/v1/audit/replay"): (READ_ALL, fixed(query="?projection=balances"), None),
    ("GET", "/v1/audit/export"): (READ_ALL, nothing, None),
    ("GET", CH + "/follow-up-policy"): (EVERYONE, challenge(), None),
    ("GET", CH + "/similar-ideas"): (EVERYONE, searched(CH + "/similar-ideas", "title"), None),
    ("GET", "/v1/search"): (EVERYONE, searched("/v1/search", "q"), None),
    ("PUT", CH + "/follow-up-policy"): (ITS_MANAGER, challenge(), {"answer_days": 3}),
    ("GET", "/v1/me/desk"): (EVERYONE, nothing, None),
    # someone else's desk: mia manages the challenges dan acts in; cat and owen do not
    ("GET", PE + "/desk"): (STEERING, acting("dan"), None),
    ("GET", "/v1/accountability"): (STEERING, nothing, None),
    # mia manages the challenge; admins and auditors read all (max, managing others, may not)
    ("GET", CH + "/export/{table}.csv"): (STEERING, export("follow-up"), None),
}


# -- the served organisations and the requests ----------------------------------------------


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Org]:
    """Like conftest's ``org``, once per backend for the whole matrix, with ``max`` too."""

    def ready(org: Org) -> Org:
        org.engine.register_person(OTHER_MANAGER, name="Max", department="R&D", roles=["manager"])
        store = build_tokens(org.settings)
        org.tokens[OTHER_MANAGER] = store.issue(OTHER_MANAGER, "test")[0]
        store.close()
        return org

    if request.param == "sqlite":
        org = ready(served_org(Settings(data_dir=tmp_path_factory.mktemp("authz"))))
        yield org
        org.client.close()
        org.engine.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        org = ready(served_org(Settings(database_url=url, postgres_schema=schema)))
        yield org
        org.client.close()
        org.engine.close()


def app_endpoints(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """Every (method, path) of the API, routers included; docs and /healthz left out, and
    the web pages (cookie sign-in; tests/e2e/test_web_pages.py checks them)."""
    try:  # recent FastAPI keeps included routers nested in app.routes: flatten them
        from fastapi.routing import iter_route_contexts

        routes = [c.original_route for c in iter_route_contexts(app.routes)]
    except ImportError:  # pragma: no cover - older FastAPI lists them flat
        routes = list(app.routes)
    return {
        (method, route.path): route
        for route in routes
        if isinstance(route, APIRoute)
        and not isinstance(route, PageRoute)
        and route.path not in NOT_ENDPOINTS
        for method in route.methods
    }


def fill(body: Any, params: Params) -> Any:
    if isinstance(body, str):
        return body.format(**params)
    if isinstance(body, dict):
        return {key: fill(value, params) for key, value in body.items()}
    return body


def send(org: Org, handle: str | None, method: str, path: str, body: Any = None, **h: str) -> Any:
    headers = {**(org.auth(handle) if handle else {}), **h}
    sent = {"json": body} if method != "GET" else {}
    return org.client.request(method, path, headers=headers, **sent)


def assert_refused(answer: Any, status: int, said: str) -> None:
    assert answer.status_code == status, said
    assert answer.headers["content-type"] == PROBLEM, said
    code = {401: ("sign-in-needed", "token-unknown"), 403: ("not-permitted",)}
    assert answer.json()["code"] in code.get(status, ("not-found",)), said


def test_every_endpoint_has_an_expectation(org: Org) -> None:
    served_now = set(app_endpoints(org.client.app))
    missing = sorted(served_now - set(TABLE))
    stale = sorted(set(TABLE) - served_now)
    assert not missing, f"endpoints without an entry in TABLE (say who may call them): {missing}"
    assert not stale, f"TABLE names endpoints the app no longer serves: {stale}"


# Endpoints that change the delivery outbox (its endpoints and messages), not the event log.
OUTBOX_ONLY = {
    ("POST", "/v1/delivery/messages/{message_id}/redeliver"),
    ("POST", "/v1/webhooks"),
    ("DELETE", "/v1/webhooks/{endpoint_id}"),
    ("POST", "/v1/webhooks/{endpoint_id}/enable"),
}
CASES = [(endpoint, role) for endpoint in TABLE for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{m} {p} {r}" for (m, p), r in CASES])
def test_who_may_call_what(served: Org, endpoint: tuple[str, str], role: str) -> None:
    method, template = endpoint
    allowed, prepare, body = TABLE[endpoint]
    handle = ROLE_HOLDER.get(role)
    params = prepare(World(served), handle)
    headers = {"If-Match": f'"{params["version"]}"'} if "version" in params else {}
    path = template.format(**params) + params.get("query", "")
    before = served.engine.last_position

    answer = send(served, handle, method, path, fill(body, params), **headers)

    said = f"{method} {path} as {role}: {answer.status_code} {answer.text[:300]}"
    if role in allowed:
        route = app_endpoints(served.client.app)[endpoint]
        assert answer.status_code == (route.status_code or 200), said
        if method == "GET" or endpoint in OUTBOX_ONLY:
            assert served.engine.last_position == before, said
        else:
            assert answer.json()["position"] == served.engine.last_position > before, said
        return
    assert_refused(answer, 401 if role == "anonymous" else 403, said)
    assert served.engine.last_position == before, f"a refused request wrote events: {said}"
    if role == "anonymous":
        assert answer.headers["www-authenticate"].startswith("Bearer"), said


# -- beyond the matrix: drafts, acting as someone else, tokens -------------------------------

DRAFT_READS = [
    "/v1/challenges/{challenge_id}",
    "/v1/pots/{challenge_id}",
    "/v1/breadth/{challenge_id}",
    "/v1/challenges/{challenge_id}/similar-ideas?title=merger",
]


@pytest.mark.parametrize("template", DRAFT_READS)
def test_a_draft_is_seen_only_by_its_managers_auditors_and_admins(
    served: Org, template: str
) -> None:
    """Nothing of a draft (not even its title) reaches those it is not for: it is not there."""
    cid = World(served).challenge("draft", title="Secret merger plan")
    path = template.format(challenge_id=cid)
    seen = {h: send(served, h, "GET", path).status_code for h in ("mia", "ada", "aud")}
    assert seen == {"mia": 200, "ada": 200, "aud": 200}
    for handle in ("cat", "owen", OTHER_MANAGER):
        answer = send(served, handle, "GET", path)
        said = f"GET {path} as {handle}: {answer.status_code} {answer.text[:300]}"
        assert_refused(answer, 404, said)
        assert "Secret merger plan" not in answer.text, said
    listed = send(served, "cat", "GET", "/v1/challenges").json()["items"]
    assert str(cid) not in {c["challenge_id"] for c in listed}


def someone_elses(w: World) -> list[tuple[str, str, Any]]:
    """What dan (a contributor) tries on cat's idea, owen's implementation, cat's account."""
    iid, accepted, owned = w.idea(), w.idea(status="accepted"), w.idea(status="in_implementation")
    return [
        ("PATCH", f"/v1/ideas/{iid}", IDEA),  # with the right If-Match
        ("POST", f"/v1/ideas/{iid}/withdraw", None),
        ("POST", f"/v1/ideas/{iid}/invitations", {"handle": "owen"}),
        ("POST", f"/v1/ideas/{iid}/join", None),  # not invited
        ("POST", f"/v1/ideas/{iid}/review-scores", {"score": 5}),  # not asked
        ("POST", f"/v1/ideas/{accepted}/take-over", TAKE_OVER),  # names owen, is not him
        ("POST", f"/v1/ideas/{accepted}/take-over", {"core_process": "X"}),  # no owner role
        ("POST", f"/v1/ideas/{owned}/progress", {"note": "Done, says dan."}),
        ("GET", "/v1/people/cat", None),
        ("GET", "/v1/people/cat/balance", None),
    ]


def test_a_contributor_acts_and_reads_only_as_themselves(served: Org) -> None:
    w = World(served)
    for method, path, body in someone_elses(w):
        before = served.engine.last_position
        version = w.e.idea(UUID(path.split("/")[3])).version if method == "PATCH" else 0
        answer = send(served, "dan", method, path, body, **{"If-Match": f'"{version}"'})
        said = f"{method} {path} as dan: {answer.status_code} {answer.text[:300]}"
        assert_refused(answer, 403, said)
        assert served.engine.last_position == before, said
    for handle in ROLE_HOLDER.values():  # everyone sees their own entry and balance
        assert send(served, handle, "GET", f"/v1/people/{handle}").status_code == 200
        assert send(served, handle, "GET", f"/v1/people/{handle}/balance").status_code == 200


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Basic YWRhOmFkYQ==", "Bearer ", "bearer"]
)
def test_an_unknown_or_malformed_token_is_refused(served: Org, authorization: str) -> None:
    before = served.engine.last_position
    answer = served.client.post(
        "/v1/challenges", json=challenge_terms(), headers={"Authorization": authorization}
    )
    assert_refused(answer, 401, answer.text)
    assert answer.json()["field"] == "Authorization"
    assert served.engine.last_position == before
