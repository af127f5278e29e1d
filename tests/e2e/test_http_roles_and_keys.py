"""Over HTTP and the pages: roles count at the moment of the command (issue 16, items 1-4),
and an Idempotency-Key answers its first answer, refusals included, whatever changed since."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.e2e.test_http_stories import accepted, do, open_challenge, put
from tests.e2e.test_web_pages import cookie, form_key, page, send
from tests.http_support import Org, challenge_terms
from tests.support import store_item

PROBLEM = "application/problem+json"


def refused(response: Any, status: int, *mentions: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    for mention in mentions:
        assert mention in problem["detail"], problem
    return problem


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def earn(org: Org, handle: str, challenge: str) -> None:
    """``handle`` earns the accepted-idea reward (50 points) on an idea of theirs."""
    idea = accepted(org, handle, challenge, f"An idea of {handle}'s")
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})


# -- 1. taking the manager role away ends management --------------------------------------


def test_a_manager_who_lost_the_role_manages_nothing_over_http(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Tool carts per line")
    put(org, "ada", "/v1/people/mia/roles", {"roles": ["contributor"]})
    position = org.engine.last_position

    for path, body in (
        (f"/v1/challenges/{challenge}/pot", {"points": 100}),
        (f"/v1/challenges/{challenge}/review", None),
        ("/v1/rewards", {"reason": "idea-accepted", "subject_id": idea}),
        (f"/v1/ideas/{idea}/take-over", {"core_process": "Line 3", "owner": "owen"}),
        ("/v1/challenges", challenge_terms()),
    ):
        problem = refused(org.post("mia", path, body), 403, "needs the manager role")
        assert problem["code"] == "not-permitted"
    assert org.engine.last_position == position
    assert "mia" in org.engine.challenge(UUID(challenge)).managers  # still named, manages nothing


# -- 2. take-over: the managers decide, and reassign ---------------------------------------


def test_an_owner_asks_to_take_over_and_a_manager_hands_over_then_reassigns(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Tool carts per line")

    do(org, "owen", f"/v1/ideas/{idea}/take-over", {"core_process": "Line 3"})
    asked = org.get("mia", f"/v1/ideas/{idea}").json()
    assert (asked["status"], asked["owner"], asked["take_over_asked_by"]) == (
        "accepted",
        None,
        ["owen"],
    )
    refused(org.post("owen", f"/v1/ideas/{idea}/progress", {"note": "Mine?"}), 409, "nobody")

    do(org, "mia", f"/v1/ideas/{idea}/take-over", {"core_process": "", "owner": "owen"})
    handed = org.get("mia", f"/v1/ideas/{idea}").json()
    assert (handed["status"], handed["owner"], handed["core_process"]) == (
        "in implementation",
        "owen",
        "Line 3",
    )

    refused(org.post("owen", f"/v1/ideas/{idea}/owner", {"handle": "ada"}), 403, "managers")
    do(org, "mia", f"/v1/ideas/{idea}/owner", {"handle": "ada"})
    assert org.get("mia", f"/v1/ideas/{idea}").json()["owner"] == "ada"
    refused(org.post("owen", f"/v1/ideas/{idea}/progress", {"note": "Still?"}), 403, "ada")


# -- 3. auditors never write, on the pages as in the API -----------------------------------


def test_an_auditor_redeems_nothing_and_reports_no_progress_on_the_pages(org: Org) -> None:
    challenge = open_challenge(org)
    earn(org, "owen", challenge)  # owen earns points and owns an implementation ...
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", f"/v1/ideas/{idea}/take-over", {"core_process": "Line 3", "owner": "owen"})
    put(org, "ada", "/v1/people/owen/roles", {"roles": ["auditor"]})  # ... then audits
    pen = str(store_item(org.engine, "Pen", 40))
    position = org.engine.last_position

    redeemed = send(
        org,
        "owen",
        "/web/me/redeem",
        {"form_key": "ab" * 8, "item_id": pen, "points": "40", "confirm": "yes"},
    )
    reported = send(
        org, "owen", f"/web/ideas/{idea}/progress", {"form_key": "cd" * 8, "note": "Parts in."}
    )
    for answer in (redeemed, reported):
        assert answer.status_code == 403 and "auditor" in answer.text, answer.text
    for path, body in (
        ("/v1/me/redemptions", {"item_id": pen}),
        (f"/v1/ideas/{idea}/progress", {"note": "Parts in."}),
    ):
        refused(org.post("owen", path, body), 403, "auditor")
    assert org.engine.last_position == position
    assert org.engine.person("owen").balance == 50


# -- 4. the first answer stands ------------------------------------------------------------


def test_a_retry_answers_the_first_receipt_after_the_caller_lost_the_role(org: Org) -> None:
    first = org.post("mia", "/v1/challenges", challenge_terms(), **keyed("draft-1"))
    assert first.status_code == 201, first.text
    put(org, "ada", "/v1/people/mia/roles", {"roles": ["contributor"]})
    position = org.engine.last_position

    again = org.post("mia", "/v1/challenges", challenge_terms(), **keyed("draft-1"))

    assert (again.status_code, again.json()) == (201, first.json())
    assert org.engine.last_position == position
    refused(org.post("mia", "/v1/challenges", challenge_terms(), **keyed("draft-2")), 403)


def test_a_refused_redemption_retried_with_its_key_stays_refused(org: Org) -> None:
    challenge = open_challenge(org)
    redemption = {"item_id": str(store_item(org.engine, "Pen", 5))}
    first = org.post("cat", "/v1/me/redemptions", redemption, **keyed("pen-1"))
    problem = refused(first, 409, "holds 0 points")
    earn(org, "cat", challenge)  # now cat could pay for it
    position = org.engine.last_position

    again = org.post("cat", "/v1/me/redemptions", redemption, **keyed("pen-1"))

    assert refused(again, 409) == problem
    assert again.headers["content-type"] == PROBLEM
    assert org.engine.last_position == position
    assert org.engine.person("cat").balance == 50
    # The same key with another request is still a misuse, not the kept refusal.
    other = org.post("cat", "/v1/me/redemptions", {**redemption, "points": 6}, **keyed("pen-1"))
    assert refused(other, 422)["code"] == "idempotency-key-reused"
    # A new key is a new attempt.
    assert org.post("cat", "/v1/me/redemptions", redemption, **keyed("pen-2")).status_code == 201


def test_a_kept_refusal_is_its_callers_alone(org: Org) -> None:
    challenge = open_challenge(org)
    earn(org, "dan", challenge)
    redemption = {"item_id": str(store_item(org.engine, "Pen", 5))}
    refused(org.post("cat", "/v1/me/redemptions", redemption, **keyed("shared")), 409)

    answer = org.post("dan", "/v1/me/redemptions", redemption, **keyed("shared"))

    assert answer.status_code == 201, answer.text
    assert org.engine.person("dan").balance == 45


def test_a_kept_stale_edit_answers_the_same_current_version(org: Org) -> None:
    draft = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    headers = {**org.auth("mia"), "If-Match": '"0"', **keyed("edit-1")}
    path = f"/v1/challenges/{draft}"
    first = org.client.patch(path, json={"title": "Quicker"}, headers=headers)
    assert first.status_code == 409 and first.json()["code"] == "stale-version"
    current = org.client.get(path, headers=org.auth("mia")).headers["ETag"]
    edited = org.client.patch(
        path, json={"sponsor": "CFO"}, headers={**org.auth("mia"), "If-Match": current}
    )
    assert edited.status_code == 200, edited.text

    again = org.client.patch(path, json={"title": "Quicker"}, headers=headers)

    assert (again.status_code, again.json()) == (409, first.json())
    assert again.headers["ETag"] == first.headers["ETag"]


def test_a_form_refused_once_stays_refused_when_sent_again(org: Org) -> None:
    """The pages' forms keep their refusals under the form's key too."""
    challenge = open_challenge(org)
    pen = str(store_item(org.engine, "Pen", 40))
    form = {"form_key": "ef" * 8, "item_id": pen, "points": "40", "confirm": "yes"}
    assert send(org, "cat", "/web/me/redeem", form).status_code == 409
    earn(org, "cat", challenge)
    position = org.engine.last_position

    assert send(org, "cat", "/web/me/redeem", form).status_code == 409
    assert org.engine.last_position == position
    assert org.client.get("/web/me", headers=cookie(org, "cat")).status_code == 200


# -- the pages offer what the rules allow ----------------------------------------------------


def test_a_manager_reassigns_the_owner_and_discards_a_draft_on_the_pages(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "owen", f"/v1/ideas/{idea}/take-over", {"core_process": "Line 3"})
    asked = page(org, "mia", f"/web/ideas/{idea}")
    assert "Asked to take it over: owen" in asked
    handed = send(
        org, "mia", f"/web/ideas/{idea}/hand-over",
        {"form_key": form_key(asked), "core_process": "", "owner": "owen"},
    )  # fmt: skip
    assert handed.status_code == 303, handed.text
    owned = page(org, "mia", f"/web/ideas/{idea}")
    assert "Reassign" in owned and 'for="reassign-owner"' in owned
    moved = send(
        org, "mia", f"/web/ideas/{idea}/reassign", {"form_key": form_key(owned), "owner": "ada"}
    )
    assert moved.status_code == 303, moved.text
    assert org.engine.idea(UUID(idea)).owner == "ada"

    draft = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    drafted = page(org, "mia", f"/web/challenges/{draft}")
    assert "Discard the draft, return its pot" in drafted
    discarded = send(
        org, "mia", f"/web/challenges/{draft}/stage",
        {"form_key": form_key(drafted), "to": "archive", "confirm": "yes"},
    )  # fmt: skip
    assert discarded.status_code == 303, discarded.text
    assert org.engine.challenge(UUID(draft)).stage.value == "archived"
    assert org.engine.challenge(UUID(draft)).pot == 0
