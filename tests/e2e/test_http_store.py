"""The reward store over HTTP and on the pages (issue 16.7): the catalogue is the domain's,
an item is redeemed by id at its current price, and administrators settle redemptions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_http_stories import accepted, do, open_challenge, read, refused
from tests.e2e.test_web_pages import KEY, page, send
from tests.http_support import Org


def rich_cat(org: Org) -> None:
    """cat holds 150 points."""
    challenge = open_challenge(org, accepted_idea_points=150)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})


def offer(org: Org, name: str, price: int, **more: Any) -> str:
    item: str = do(org, "ada", "/v1/store/items", {"name": name, "price": price, **more}, 201)["id"]
    return item


def test_free_form_redemption_at_a_price_of_ones_own_is_refused(org: Org) -> None:
    """The defect: {"points": 1, "item": "Extra day off"} redeemed a 500-point item for 1."""
    rich_cat(org)
    day_off = offer(org, "Extra day off", 500)
    position = org.engine.last_position
    old = org.post("cat", "/v1/me/redemptions", {"points": 1, "item": "Extra day off"})
    assert refused(old, 422)["field"] in {"item_id", "item"}
    cheap = refused(org.post("cat", "/v1/me/redemptions", {"item_id": day_off, "points": 1}), 409)
    assert cheap["code"] == "price-changed" and "500 points, not 1" in cheap["detail"]
    assert org.engine.last_position == position
    assert read(org, "cat", "/v1/me")["balance"] == 150


@pytest.mark.parametrize("points", ["150", True, 150.0, " 150 ", 1e2])
def test_an_offered_price_must_be_a_whole_number_not_text_or_a_flag(
    org: Org, points: object
) -> None:
    rich_cat(org)
    lunch = offer(org, "Team lunch", 150)
    position = org.engine.last_position
    refused(org.post("cat", "/v1/me/redemptions", {"item_id": lunch, "points": points}), 422)
    assert org.engine.last_position == position


def test_only_admins_keep_the_store_and_settle(org: Org) -> None:
    rich_cat(org)
    refused(org.post("mia", "/v1/store/items", {"name": "Mug", "price": 5}), 403)
    mug = offer(org, "Mug", 5, stock=1)
    redemption = do(org, "cat", "/v1/me/redemptions", {"item_id": mug, "points": 5}, 201)["id"]
    for handle in ("cat", "mia"):
        refused(org.post(handle, f"/v1/redemptions/{redemption}/fulfil"), 403)
        refused(org.post(handle, f"/v1/store/items/{mug}/retire"), 403)
        refused(org.get(handle, "/v1/redemptions"), 403)


def test_a_redemption_is_requested_then_fulfilled_or_cancelled_with_its_points_back(
    org: Org,
) -> None:
    rich_cat(org)
    lunch = offer(org, "Team lunch", 50, stock=2)
    first = do(org, "cat", "/v1/me/redemptions", {"item_id": lunch}, 201)
    second = do(org, "cat", "/v1/me/redemptions", {"item_id": lunch, "points": 50}, 201)
    sold_out = refused(org.post("cat", "/v1/me/redemptions", {"item_id": lunch}), 409)
    assert sold_out["code"] == "not-available" and "out of stock" in sold_out["detail"]
    assert read(org, "cat", "/v1/me")["balance"] == 50

    pending = read(org, "ada", "/v1/redemptions", status="requested", at_least=second["position"])
    assert {r["redemption_id"] for r in pending["items"]} == {first["id"], second["id"]}
    do(org, "ada", f"/v1/redemptions/{first['id']}/fulfil")
    cancelled = do(org, "ada", f"/v1/redemptions/{second['id']}/cancel", {"reason": "Closed."})
    again = refused(org.post("ada", f"/v1/redemptions/{second['id']}/fulfil"), 409)
    assert "cancelled" in again["detail"]

    mine = read(org, "cat", "/v1/me/redemptions", at_least=cancelled["position"])["items"]
    assert {(r["redemption_id"], r["status"], r["points"]) for r in mine} == {
        (first["id"], "fulfilled", 50),
        (second["id"], "cancelled", 50),
    }
    assert read(org, "cat", "/v1/me")["balance"] == 100
    entries = read(org, "cat", "/v1/me/ledger")["entries"]["items"]
    assert ("cancelled redemption", 50) in [(e["kind"], e["points"]) for e in entries]
    items = read(org, "cat", "/v1/store/items")["items"]
    assert [(i["name"], i["stock"]) for i in items] == [("Team lunch", 1)]
    assert read(org, "mia", "/v1/treasury")["redeemed"] == 50


def test_retired_items_leave_the_store(org: Org) -> None:
    rich_cat(org)
    mug = offer(org, "Mug", 5)
    last = do(org, "ada", f"/v1/store/items/{mug}/retire")
    assert read(org, "cat", "/v1/store/items", at_least=last["position"])["items"] == []
    assert refused(org.post("cat", "/v1/me/redemptions", {"item_id": mug}), 409)["code"] == (
        "not-available"
    )
    shown = read(org, "ada", "/v1/store/items", retired="true")["items"]
    assert [(i["name"], i["active"]) for i in shown] == [("Mug", False)]


def test_the_admin_store_page_settles_what_people_redeemed(org: Org) -> None:
    rich_cat(org)
    lunch = offer(org, "Team lunch", 50)
    redemption = do(org, "cat", "/v1/me/redemptions", {"item_id": lunch}, 201)["id"]
    page(org, "cat", "/web/store", 403)
    shown = page(org, "ada", "/web/store")
    assert "Redemptions to settle" in shown and "cat: Team lunch" in shown
    key = KEY.findall(shown)[1]  # the second form: cancel
    form = {"form_key": key, "handle": "cat", "outcome": "cancel", "reason": "Closed today."}
    assert send(org, "ada", f"/web/store/redemptions/{redemption}", form).status_code == 303
    assert "Nothing waits to be settled." in page(org, "ada", "/web/store")
    home = page(org, "cat", "/web/me")
    assert "cancelled" in home and "points returned: Closed today." in home
    assert '<strong id="balance-points">150</strong>' in home
