"""The web pages over HTTP, without a browser: sign-in, who sees what, forms that act once,
refusals that write nothing, and the headers that keep other sites out."""

from __future__ import annotations

import re
import uuid
from typing import Any

from groundswell.web.render import PageRoute
from groundswell.web.session import COOKIE
from tests.e2e.test_http_stories import accepted, do, open_challenge, submit
from tests.http_support import Org

KEY = re.compile(r'name="form_key" value="([0-9a-f]+)"')


def cookie(org: Org, handle: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={org.session(handle)}"}


def page(org: Org, handle: str, path: str, status: int = 200) -> str:
    answer = org.client.get(path, headers=cookie(org, handle), follow_redirects=False)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


# What a browser sends with a form posted by one of our pages (the client's base URL).
OURS = {"Origin": "http://testserver"}


def send(org: Org, handle: str, path: str, form: dict[str, Any], **headers: str) -> Any:
    return org.client.post(
        path, data=form, headers={**cookie(org, handle), **OURS, **headers},
        follow_redirects=False,
    )  # fmt: skip


def form_key(html: str) -> str:
    found = KEY.search(html)
    assert found, "the page has no form"
    return found.group(1)


def test_pages_need_a_signed_in_reader_and_sign_in_sets_a_session_cookie(org: Org) -> None:
    answer = org.client.get("/web/challenges", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/sign-in?next=%2Fweb%2Fchallenges"
    assert org.client.get("/", follow_redirects=False).headers["location"] == "/web"

    wrong = org.client.post(
        "/web/sign-in", data={"token": "gs_nope", "next": "/web/me"}, headers=OURS
    )
    assert wrong.status_code == 401 and "unknown or was revoked" in wrong.text
    signed = org.client.post(
        "/web/sign-in",
        data={"token": org.tokens["cat"], "next": "https://evil.example/"},
        headers=OURS,
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/web"
    set_cookie = signed.headers["set-cookie"].lower()
    # Lax, not Strict: the page after an IdP's redirect back must get it (web/session.py).
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    # The testserver Host is no loopback address: the cookie travels over HTTPS only.
    assert "secure" in set_cookie
    assert org.tokens["cat"] not in set_cookie  # an opaque session id, never the token
    org.client.cookies.clear()

    # Signing out ends the session: its cookie, sent again, meets the sign-in page.
    assert send(org, "cat", "/web/sign-out", {}).status_code == 303
    replayed = org.client.get("/web/me", headers=cookie(org, "cat"), follow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["location"].startswith("/web/sign-in")
    del org.sessions["cat"]

    # Contributors start at home, managers at their desk, owners at what is handed to them,
    # auditors at the challenges.
    home = org.client.get("/web", headers=cookie(org, "cat"), follow_redirects=False)
    assert home.headers["location"] == "/web/me"
    steering = org.client.get("/web", headers=cookie(org, "mia"), follow_redirects=False)
    assert steering.headers["location"] == "/web/desk"
    owning = org.client.get("/web", headers=cookie(org, "owen"), follow_redirects=False)
    assert owning.headers["location"] == "/web/owner"
    auditing = org.client.get("/web", headers=cookie(org, "aud"), follow_redirects=False)
    assert auditing.headers["location"] == "/web/challenges"


PUBLIC = {("GET", "/"), ("GET", "/web/sign-in"), ("POST", "/web/sign-in"),
          ("POST", "/web/sign-out"), ("GET", "/web/sign-in/company"),
          ("GET", "/web/sign-in/callback")}  # fmt: skip


def test_every_page_and_form_needs_a_signed_in_reader(org: Org) -> None:
    """Read from the app's routes, so a new page cannot be added without sign-in."""
    before = org.engine.last_position
    from fastapi.routing import iter_route_contexts

    routes = [c.original_route for c in iter_route_contexts(org.client.app.routes)]
    pages = [
        (method, route.path)
        for route in routes
        if isinstance(route, PageRoute)
        for method in route.methods
        if (method, route.path) not in PUBLIC
    ]
    assert len(pages) >= 20
    for method, path in pages:
        url = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
        form = {"form_key": "ab" * 8, "title": "t", "body": "b", "to": "open", "points": "1"}
        answer = org.client.request(
            method, url, data=form if method == "POST" else None, follow_redirects=False
        )
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/web/sign-in?next="), (method, path)
    assert org.engine.last_position == before


def test_a_revoked_token_sends_the_reader_back_to_sign_in(org: Org) -> None:
    from groundswell.bootstrap import build_tokens

    store = build_tokens(org.settings)
    try:
        for issued in store.list():
            if issued.handle == "dan":
                store.revoke(issued.token_id)
    finally:
        store.close()
    answer = org.client.get("/web/me", headers=cookie(org, "dan"), follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/web/sign-in")


def test_a_manager_launches_a_challenge_from_the_page(org: Org) -> None:
    listing = page(org, "mia", "/web/challenges")
    assert "Launch a challenge" in listing
    form = {
        "form_key": form_key(listing),
        "title": "Less paper",
        "question": "Where do we print what nobody reads?",
        "sponsor": "COO",
        "target_departments": "Sales, Finance",
        "submission_deadline": "2026-12-31",
        "decision_deadline_days": "14",
        "accepted_idea_points": "40",
        "implemented_idea_points": "80",
        "helpful_contribution_points": "5",
        "prize_points": "100, 50",
        "pot": "500",
        "open_now": "true",
    }
    answer = send(org, "mia", "/web/challenges", form)
    assert answer.status_code == 303, answer.text
    target = answer.headers["location"]
    assert re.match(r"^/web/challenges/[0-9a-f-]{36}\?at_least=\d+$", target)
    overview = page(org, "mia", target)
    assert "Less paper" in overview and "Open for ideas" in overview
    assert "Follow-up debt" in overview and "Funnel" in overview and "<svg" in overview
    assert "0 of 2</strong> departments asked are taking part" in overview
    assert "Not yet heard from: Sales, Finance." in overview

    # The same form sent again (a double click, a reload) acts once.
    again = send(org, "mia", "/web/challenges", form)
    assert again.status_code == 303 and again.headers["location"] == target
    titles = [c for c in do_list(org) if c["title"] == "Less paper"]
    assert len(titles) == 1 and titles[0]["stage"] == "open"


def do_list(org: Org) -> list[dict[str, Any]]:
    answer = org.get("mia", "/v1/challenges")
    assert answer.status_code == 200
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_a_bad_launch_is_shown_with_its_reason_and_writes_nothing(org: Org) -> None:
    before = org.engine.last_position
    listing = page(org, "mia", "/web/challenges")
    form = {
        "form_key": form_key(listing),
        "title": "No departments",
        "question": "?",
        "sponsor": "COO",
        "target_departments": " , ",
        "submission_deadline": "2026-12-31",
    }
    answer = send(org, "mia", "/web/challenges", form)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and "target departments" in answer.text
    assert 'value="No departments"' in answer.text  # what was typed is kept
    assert 'name="open_now" type="checkbox" value="true">' in answer.text  # left unticked
    assert org.engine.last_position == before


def test_who_sees_what_on_a_challenge(org: Org) -> None:
    challenge = open_challenge(org)
    submit(org, "cat", challenge, "Quick-release clamps")
    manager = page(org, "mia", f"/web/challenges/{challenge}")
    contributor = page(org, "cat", f"/web/challenges/{challenge}")
    auditor = page(org, "aud", f"/web/challenges/{challenge}")
    assert "Follow-up debt" in manager and "Steer" in manager
    assert "Follow-up debt" not in contributor and "Steer" not in contributor
    assert "Submit an idea" in contributor and "Quick-release clamps" in contributor
    # An auditor may filter the ideas (a GET form) but sends nothing that writes.
    assert "Follow-up debt" in auditor and 'method="post" action="/web/challenges/' not in auditor
    assert '<form method="post"' not in auditor.split("<main", 1)[1]
    # A draft is for its managers only.
    draft = do(org, "mia", "/v1/challenges", _terms(), 201)["id"]
    assert "Draft" in page(org, "mia", f"/web/challenges/{draft}")
    page(org, "cat", f"/web/challenges/{draft}", status=404)


def _terms() -> dict[str, Any]:
    from tests.http_support import challenge_terms

    return challenge_terms(title="Still a draft")


def test_an_idea_is_decided_from_its_page_and_its_author_sees_it_at_home(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    html = page(org, "mia", f"/web/ideas/{idea}")
    assert "Decide and follow up" in html and "Submitted by Cat Contributor" in html
    form = {"form_key": form_key(html), "decision": "accept", "words": "Try it on line 3",
            "reward": "true", "confirm": "yes"}  # fmt: skip
    answer = send(org, "mia", f"/web/ideas/{idea}/decide", form)
    assert answer.status_code == 303, answer.text
    story = page(org, "mia", answer.headers["location"])
    assert "Accepted by Mia Manager" in story and "Try it on line 3" in story
    assert "50 points granted for the accepted idea" in story

    home = page(org, "cat", "/web/me")
    assert '<strong id="balance-points">50</strong>' in home
    assert "Quick-release clamps" in home and "Try it on line 3" in home


def test_refusals_show_the_reason_and_write_nothing(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    html = page(org, "mia", f"/web/ideas/{idea}")
    before = org.engine.last_position
    # Rejecting needs a reason.
    form = {"form_key": form_key(html), "decision": "reject", "words": "", "confirm": "yes"}
    answer = send(org, "mia", f"/web/ideas/{idea}/decide", form)
    assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text
    # A contributor may not decide.
    answer = send(org, "dan", f"/web/ideas/{idea}/decide", {**form, "decision": "accept"})
    assert answer.status_code == 403 and "Not done" in answer.text
    # An auditor writes nothing.
    answer = send(org, "aud", f"/web/ideas/{idea}/comment", {"form_key": "ab" * 8, "body": "x"})
    assert answer.status_code == 403
    # A form posted from another site's page is refused before anything runs.
    answer = send(
        org, "cat", f"/web/ideas/{idea}/comment", {"form_key": "cd" * 8, "body": "hi"},
        Origin="https://evil.example",
    )  # fmt: skip
    assert answer.status_code == 403 and "another site" in answer.text
    assert org.engine.last_position == before


def test_a_form_no_page_of_ours_vouches_for_is_foreign(org: Org) -> None:
    """Issue 16: ``Origin: null`` (a sandboxed frame, a data: page) and a post with neither
    ``Origin`` nor ``Sec-Fetch-Site`` were accepted."""
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    before = org.engine.last_position
    comment = f"/web/ideas/{idea}/comment"
    for n, headers in enumerate(
        [{"Origin": "null"}, {"Origin": "null", "Sec-Fetch-Site": "same-origin"}, {},
         {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://testserver.evil.example"}]
    ):  # fmt: skip
        form = {"form_key": f"{n:02d}" * 8, "body": "hi"}
        answer = org.client.post(
            comment, data=form, headers={**cookie(org, "cat"), **headers}, follow_redirects=False
        )
        assert answer.status_code == 403 and "another site" in answer.text, headers
    signing_in = org.client.post("/web/sign-in", data={"token": org.tokens["cat"]})
    assert signing_in.status_code == 403 and "set-cookie" not in signing_in.headers
    assert org.engine.last_position == before
    # Either header alone vouches for our own page.
    for n, headers in enumerate([{"Sec-Fetch-Site": "same-origin"}, OURS]):
        form = {"form_key": f"e{n}" * 8, "body": f"hi {n}"}
        answer = org.client.post(
            comment, data=form, headers={**cookie(org, "cat"), **headers}, follow_redirects=False
        )
        assert answer.status_code == 303, answer.text
    assert org.engine.last_position > before


def test_an_owner_reports_progress_from_the_handed_to_me_page(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", f"/v1/ideas/{idea}/take-over", {"core_process": "Maintenance",
       "external_ref": "MNT-7", "owner": "owen"})  # fmt: skip
    mine = page(org, "owen", "/web/owner")
    assert "Quick-release clamps" in mine and "MNT-7" in mine
    note = {"form_key": form_key(mine), "note": "Clamps ordered", "back": "owner"}
    answer = send(org, "owen", f"/web/ideas/{idea}/progress", note)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/web/owner")
    assert "Clamps ordered" in page(org, "owen", answer.headers["location"])
    assert "Handed over to Owen Owner — Maintenance, ref. MNT-7" in page(
        org, "cat", f"/web/ideas/{idea}"
    )


def test_a_hidden_contribution_stays_hidden_on_the_idea_page(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    said = do(org, "dan", f"/v1/ideas/{idea}/comments", {"body": "Something rude"}, 201)["id"]
    do(org, "mia", f"/v1/contributions/{said}/hide", {"reason": "off topic"})
    assert "Something rude" not in page(org, "cat", f"/web/ideas/{idea}")
    assert "Something rude" in page(org, "mia", f"/web/ideas/{idea}")


def test_redeeming_in_the_store_spends_points_once(org: Org) -> None:
    challenge = open_challenge(org, accepted_idea_points=150)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})
    book = org.engine.offer_item("Book of your choice", price=100).id
    day_off = org.engine.offer_item("Extra day off", price=500).id
    home = page(org, "cat", "/web/me")
    assert "Book of your choice" in home and "500 points" in home
    keys = KEY.findall(home)
    chosen = {"form_key": keys[0], "item_id": str(book), "points": "100", "confirm": "yes"}
    assert send(org, "cat", "/web/me/redeem", chosen).status_code == 303
    assert send(org, "cat", "/web/me/redeem", chosen).status_code == 303  # a reload: once
    home = page(org, "cat", "/web/me")
    assert '<strong id="balance-points">50</strong>' in home
    assert "Book of your choice — 100 points" in home and "requested" in home
    too_dear = send(
        org,
        "cat",
        "/web/me/redeem",
        {"form_key": uuid.uuid4().hex, "item_id": str(day_off), "points": "500", "confirm": "yes"},
    )
    assert too_dear.status_code == 409 and "Not done" in too_dear.text
    cheap = send(
        org,
        "cat",
        "/web/me/redeem",
        {"form_key": uuid.uuid4().hex, "item_id": str(day_off), "points": "1", "confirm": "yes"},
    )
    assert cheap.status_code == 409 and "costs 500 points, not 1" in cheap.text
    assert '<strong id="balance-points">50</strong>' in page(org, "cat", "/web/me")


def test_pages_send_headers_that_keep_other_sites_out(org: Org) -> None:
    answer = org.client.get("/web/sign-in")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    # The API's own answers are untouched.
    assert "content-security-policy" not in org.client.get("/healthz").headers
