"""The administration pages over HTTP, without a browser: people, tokens and departments
for administrators; refused to everyone else with nothing written; bad input said, typed
values kept, nothing written."""

from __future__ import annotations

import re

import pytest

from groundswell.http.auth import caller_holding
from groundswell.http.problems import ApiProblem
from groundswell.web.session import COOKIE
from tests.e2e.test_web_pages import form_key, page, send
from tests.http_support import Org

PAGES = ["/web/admin/people", "/web/admin/people/cat", "/web/admin/tokens",
         "/web/admin/departments"]  # fmt: skip
TOKEN = re.compile(r'id="issued-token" readonly value="(gs_[A-Za-z0-9_-]{43})"')


def live_tokens(org: Org, handle: str) -> list[str]:
    return [t.token_id for t in org.client.app.state.api.tokens.list(handle) if not t.revoked_at]


def test_administration_is_for_administrators_only(org: Org) -> None:
    assert "/web/admin/people" in page(org, "ada", "/web/me")
    assert "/web/admin/people" not in page(org, "mia", "/web/me")
    before = org.engine.last_position
    key = form_key(page(org, "ada", "/web/admin/people"))
    (cat_token,) = live_tokens(org, "cat")
    for handle in ("mia", "cat", "aud", "owen"):
        for path in PAGES:
            assert "needs the admin role" in page(org, handle, path, 403)
        posts = [
            ("/web/admin/people", {"handle": "eve", "name": "Eve", "department": "Ops"}),
            ("/web/admin/people/cat/roles", {"roles": ["admin"]}),
            ("/web/admin/people/cat/department", {"department": "Ops"}),
            ("/web/admin/people/cat/email", {"email": "cat@example.org"}),
            ("/web/admin/tokens", {"handle": "ada"}),
            (f"/web/admin/tokens/{cat_token}/revoke", {"confirm": "yes"}),
            ("/web/admin/people/cat/disable", {"reason": "Spite.", "confirm": "yes"}),
            ("/web/admin/people/cat/enable", {}),
        ]
        for path, form in posts:
            refused = send(org, handle, path, {"form_key": key, **form})
            assert refused.status_code == 403, (handle, path, refused.status_code)
    assert org.engine.last_position == before
    assert len(live_tokens(org, "ada")) == 1
    assert live_tokens(org, "cat") == [cat_token]


def test_an_administrator_disables_someone_after_confirming_and_enables_them_again(
    org: Org,
) -> None:
    here = "/web/admin/people/dan"
    dans = org.session("dan")
    before = org.engine.last_position
    blank = {"form_key": form_key(page(org, "ada", here)), "reason": " "}
    empty = send(org, "ada", here + "/disable", blank)
    assert empty.status_code == 422 and "reason must not be empty" in empty.text
    key = form_key(page(org, "ada", here))
    asked = send(org, "ada", here + "/disable", {"form_key": key, "reason": "Left the company."})
    assert asked.status_code == 200 and "Disable dan? They are signed out at once" in asked.text
    assert "Left the company." in asked.text
    assert org.engine.last_position == before

    confirmed = {"form_key": key, "reason": "Left the company.", "confirm": "yes"}
    assert send(org, "ada", here + "/disable", confirmed).status_code == 303
    assert org.engine.person("dan").disabled == "Left the company."
    shown = page(org, "ada", here)
    assert "<strong>Disabled:</strong> Left the company." in shown and "Enable dan" in shown
    listed = page(org, "ada", "/web/admin/people")
    assert '>dan</a> <span class="badge">disabled</span>' in listed
    assert '>cat</a> <span class="badge">' not in listed
    live = org.client.app.state.sessions  # type: ignore[attr-defined]
    assert live.find(dans) is not None  # ended by their next request, not before
    ended = org.client.get("/web/me", headers={"Cookie": f"{COOKIE}={dans}"},
                           follow_redirects=False)  # fmt: skip
    assert ended.headers["location"].endswith("&why=disabled")  # their session ended
    assert live.find(dans) is None

    yours = form_key(page(org, "ada", "/web/admin/people/ada"))
    mine = send(org, "ada", "/web/admin/people/ada/disable", {**confirmed, "form_key": yours})
    assert mine.status_code == 403 and "ada cannot disable themselves" in mine.text

    key = form_key(shown)
    assert send(org, "ada", here + "/enable", {"form_key": key}).status_code == 303
    assert org.engine.person("dan").disabled is None
    assert "Disable dan" in page(org, "ada", here)
    assert org.get("dan", "/v1/me").status_code == 200


def test_an_administrator_finds_people_by_words_role_and_department(org: Org) -> None:
    found = page(org, "ada", "/web/admin/people?q=contributor")
    assert ">cat<" in found and ">dan<" in found and ">mia<" not in found
    audit = page(org, "ada", "/web/admin/people?role=auditor")
    assert ">aud<" in audit and ">cat<" not in audit
    sales = page(org, "ada", "/web/admin/people?department=Sales")
    assert ">cat<" in sales and ">dan<" not in sales
    departments = page(org, "ada", "/web/admin/departments")
    assert "/web/admin/people?department=R%26D" in departments and ">Production<" in departments


def test_an_administrator_adds_a_person_and_changes_department_roles_and_email(
    org: Org,
) -> None:
    listing = page(org, "ada", "/web/admin/people")
    form = {
        "form_key": form_key(listing), "handle": "eve", "name": "Eve Engineer",
        "department": "Maintenance", "email": "eve@example.org",
        "roles": ["contributor", "owner"],
    }  # fmt: skip
    added = send(org, "ada", "/web/admin/people", form)
    assert added.status_code == 303 and added.headers["location"].startswith(
        "/web/admin/people/eve"
    )
    eve = org.engine.person("eve")
    assert (eve.department, eve.email, sorted(eve.roles)) == (
        "Maintenance", "eve@example.org", ["contributor", "owner"]
    )  # fmt: skip
    # Sent twice (a double click): acts once, no "already registered".
    assert send(org, "ada", "/web/admin/people", form).status_code == 303

    here = "/web/admin/people/eve"
    key = form_key(page(org, "ada", here))
    moved = send(org, "ada", here + "/department", {"form_key": key, "department": "Logistics"})
    assert moved.status_code == 303 and org.engine.person("eve").department == "Logistics"
    key = form_key(page(org, "ada", here))
    send(org, "ada", here + "/email", {"form_key": key, "email": ""})
    assert org.engine.person("eve").email is None

    # Adding a role acts at once; taking one away is asked first, then done.
    key = form_key(page(org, "ada", here))
    more = {"form_key": key, "roles": ["contributor", "owner", "manager"]}
    assert send(org, "ada", here + "/roles", more).status_code == 303
    assert sorted(org.engine.person("eve").roles) == ["contributor", "manager", "owner"]
    key = form_key(page(org, "ada", here))
    fewer = {"form_key": key, "roles": ["contributor"]}
    before = org.engine.last_position
    asked = send(org, "ada", here + "/roles", fewer)
    assert asked.status_code == 200 and "Take the manager, owner roles away from eve" in asked.text
    assert org.engine.last_position == before
    confirmed = {"form_key": key, "chosen": "contributor", "confirm": "yes"}
    assert send(org, "ada", here + "/roles", confirmed).status_code == 303
    assert org.engine.person("eve").roles == ["contributor"]


@pytest.mark.parametrize(
    ("form", "status", "said"),
    [
        ({"handle": "Not A Handle"}, 422, "handle must be 1-40 lowercase letters"),
        ({"handle": "cat"}, 409, "&#39;cat&#39; is already registered"),
        ({"email": "not-an-address"}, 422, "e-mail"),
        ({"roles": ["wizard"]}, 422, "unknown role"),
    ],
)
def test_a_refused_person_writes_nothing_and_keeps_what_was_typed(
    org: Org, form: dict[str, object], status: int, said: str
) -> None:
    typed = {"handle": "zoe", "name": "Zoe Typed", "department": "Quality", **form}
    before = org.engine.last_position
    key = form_key(page(org, "ada", "/web/admin/people"))
    refused = send(org, "ada", "/web/admin/people", {"form_key": key, **typed})
    assert refused.status_code == status, refused.text
    assert said in refused.text.lower() or said in refused.text
    assert 'value="Zoe Typed"' in refused.text and 'value="Quality"' in refused.text
    assert org.engine.last_position == before


def test_an_administrator_issues_a_token_once_and_revokes_it(org: Org) -> None:
    api = org.client.app.state.api
    key = form_key(page(org, "ada", "/web/admin/tokens"))
    form = {"form_key": key, "handle": "dan", "label": "chat bot"}
    issued = send(org, "ada", "/web/admin/tokens", form)
    assert issued.status_code == 201 and "Shown once" in issued.text
    token = TOKEN.search(issued.text).group(1)  # type: ignore[union-attr]
    assert caller_holding(api, token).handle == "dan"
    again = send(org, "ada", "/web/admin/tokens", form)  # the same form, sent twice
    assert TOKEN.search(again.text).group(1) == token  # type: ignore[union-attr]
    assert len(live_tokens(org, "dan")) == 2  # the test's own, and this one
    listing = page(org, "ada", "/web/admin/tokens")
    assert token not in listing and "chat bot" in listing

    (new,) = [t.token_id for t in api.tokens.list("dan") if t.label == "chat bot"]
    key = form_key(listing)
    asked = send(org, "ada", f"/web/admin/tokens/{new}/revoke", {"form_key": key})
    assert asked.status_code == 200 and f"Revoke token {new} of dan (chat bot)?" in asked.text
    assert caller_holding(api, token).handle == "dan"
    confirmed = {"form_key": key, "confirm": "yes"}
    assert send(org, "ada", f"/web/admin/tokens/{new}/revoke", confirmed).status_code == 303
    with pytest.raises(ApiProblem):
        caller_holding(api, token)
    assert send(org, "ada", f"/web/admin/tokens/{new}/revoke", confirmed).status_code == 303

    unknown = send(org, "ada", "/web/admin/tokens", {"form_key": key, "handle": "nobody"})
    assert unknown.status_code == 404 and "nobody with handle" in unknown.text
    assert 'value="nobody"' in unknown.text
    assert send(org, "ada", "/web/admin/tokens/abc/revoke", confirmed).status_code == 404


def test_the_store_page_offers_reprices_and_retires_items_and_keeps_refused_input(
    org: Org,
) -> None:
    before = org.engine.last_position
    key = form_key(page(org, "ada", "/web/store"))
    typed = {"form_key": key, "name": " ", "price": "12", "stock": "3", "description": "Blue mug"}
    refused = send(org, "ada", "/web/store/items", typed)
    assert refused.status_code == 422 and 'value="Blue mug"' in refused.text
    assert 'value="12"' in refused.text and org.engine.last_position == before
    again = {**typed, "form_key": form_key(refused.text), "name": "Mug"}  # the page shown again
    assert send(org, "ada", "/web/store/items", again).status_code == 303
    shown = page(org, "ada", "/web/store")
    (item,) = re.findall(r'action="/web/store/items/([0-9a-f-]{36})"', shown)[:1]
    for change, value in (("price", "15"), ("retire", ""), ("reactivate", ""), ("retire", "")):
        form = {
            "form_key": form_key(page(org, "ada", "/web/store")),
            "change": change,
            "value": value,
        }
        assert send(org, "ada", f"/web/store/items/{item}", form).status_code == 303, change
    shown = page(org, "ada", "/web/store")
    assert "Mug</strong> — 15 points" in shown and ">retired<" in shown and "Offer again" in shown
