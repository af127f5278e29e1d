"""The user stories over HTTP, as a client does them, and what each party then sees."""

from __future__ import annotations

from typing import Any

from groundswell.bootstrap import build_tokens
from tests.http_support import Org, challenge_terms

PROBLEM = "application/problem+json"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def do(org: Org, handle: str, path: str, body: Any = None, status: int = 200) -> Any:
    return ok(org.post(handle, path, body), status)


def read(org: Org, handle: str, path: str, **params: Any) -> Any:
    return ok(org.get(handle, path, **params))


def refused(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    return problem


def open_challenge(org: Org, **terms: Any) -> str:
    challenge = do(org, "mia", "/v1/challenges", challenge_terms(**terms), 201)["id"]
    do(org, "mia", f"/v1/challenges/{challenge}/open")
    return challenge


def submit(org: Org, handle: str, challenge: str, title: str) -> str:
    body = {"title": title, "description": f"{title}, in detail."}
    return do(org, handle, f"/v1/challenges/{challenge}/ideas", body, 201)["id"]


def accepted(org: Org, handle: str, challenge: str, title: str, note: str = "Go") -> str:
    idea = submit(org, handle, challenge, title)
    do(org, "mia", f"/v1/ideas/{idea}/review")
    do(org, "mia", f"/v1/ideas/{idea}/accept", {"note": note})
    return idea


def join_team(org: Org, idea: str, inviter: str, *members: str) -> None:
    for member in members:
        do(org, inviter, f"/v1/ideas/{idea}/invitations", {"handle": member})
        do(org, member, f"/v1/ideas/{idea}/join")


def put(org: Org, handle: str, path: str, body: Any) -> Any:
    return org.client.put(path, json=body, headers=org.auth(handle))


def granting(org: Org, reason: str, subject: str) -> Any:
    return org.post("mia", "/v1/rewards", {"reason": reason, "subject_id": subject})


def grant(org: Org, reason: str, subject: str) -> Any:
    return ok(granting(org, reason, subject))


def inbox(org: Org, handle: str, subject: str) -> list[str]:
    items = read(org, handle, "/v1/me/notifications")["items"]
    return [n["text"] for n in items if n["subject_id"] == subject]


def heard(org: Org, handle: str, subject: str, news: str) -> bool:
    return any(text.startswith(news) for text in inbox(org, handle, subject))


def my_idea(org: Org, handle: str, idea: str) -> dict[str, Any]:
    (found,) = [i for i in read(org, handle, "/v1/me/ideas")["items"] if i["idea_id"] == idea]
    return found


def ledger(org: Org, handle: str) -> tuple[int, list[tuple[str, int, str | None, str | None]]]:
    found = read(org, handle, "/v1/me/ledger")
    entries = [
        (e["kind"], e["points"], e["reason"], e["subject_id"]) for e in found["entries"]["items"]
    ]
    return found["balance"], entries


def test_ideas_are_decided_and_everyone_involved_hears_the_decision(org: Org) -> None:
    challenge = do(org, "mia", "/v1/challenges", challenge_terms(pot=1500), 201)["id"]
    refused(org.get("cat", f"/v1/challenges/{challenge}"), 404)  # a draft is the manager's
    do(org, "mia", f"/v1/challenges/{challenge}/pot", {"points": 500})
    do(org, "mia", f"/v1/challenges/{challenge}/open")
    seen = read(org, "cat", f"/v1/challenges/{challenge}")
    assert (seen["stage"], seen["funded"], seen["pot"]) == ("open", 2000, 2000)

    cutting = submit(org, "cat", challenge, "Tool carts per line")  # Sales
    budget = submit(org, "dan", challenge, "Buy a second press")  # Finance
    join_team(org, cutting, "cat", "owen")
    do(org, "dan", f"/v1/ideas/{cutting}/comments", {"body": "We tried this in 2019."}, 201)
    do(org, "dan", f"/v1/ideas/{cutting}/endorsements", None, 201)
    link = {"body": "Mine builds on this.", "linked_idea_id": budget}
    do(org, "dan", f"/v1/ideas/{cutting}/build-ons", link, 201)
    do(org, "cat", f"/v1/ideas/{budget}/comments", {"body": "Who pays?"}, 201)
    do(org, "owen", f"/v1/ideas/{budget}/endorsements", None, 201)
    do(org, "mia", f"/v1/ideas/{cutting}/reviewers", {"handle": "ada"})
    assert "You were asked to review “Tool carts per line”." in inbox(org, "ada", cutting)
    do(org, "ada", f"/v1/ideas/{cutting}/review-scores", {"score": 4}, 201)
    for idea in (cutting, budget):
        do(org, "mia", f"/v1/ideas/{idea}/review")
    do(org, "mia", f"/v1/ideas/{cutting}/accept", {"note": "Pilot it on line 3."})
    reason = "Needs a budget we do not have this year."
    do(org, "mia", f"/v1/ideas/{budget}/reject", {"reason": reason})

    for handle in ("cat", "owen", "dan", "ada"):  # author, team, commenter and endorser, reviewer
        assert heard(org, handle, cutting, "“Tool carts per line” was accepted"), handle
    for handle in ("dan", "cat", "owen"):  # author, commenter, endorser
        assert f"“Buy a second press” was rejected: {reason.rstrip('.')}." in inbox(
            org, handle, budget
        ), handle
    assert inbox(org, "mia", cutting) == inbox(org, "mia", budget) == []  # she decided
    for handle in ("cat", "owen"):
        mine = my_idea(org, handle, cutting)
        assert mine["status"] == "accepted"
        assert mine["decision"]["outcome"] == "accepted" and mine["decision"]["by"] == "mia"
        assert mine["decision"]["reason"] == "Pilot it on line 3."
    rejected = my_idea(org, "dan", budget)
    assert rejected["status"] == "rejected"
    assert (rejected["decision"]["outcome"], rejected["decision"]["reason"]) == ("rejected", reason)
    shown = read(org, "dan", f"/v1/ideas/{budget}")
    assert (shown["status"], shown["decision_reason"]) == ("rejected", reason)


def test_the_acceptance_note_reaches_everyone_involved(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Tool carts per line")
    do(org, "dan", f"/v1/ideas/{idea}/comments", {"body": "Which carts?"}, 201)
    do(org, "mia", f"/v1/ideas/{idea}/review")
    do(org, "mia", f"/v1/ideas/{idea}/accept", {"note": "Pilot it on line 3."})
    assert my_idea(org, "cat", idea)["decision"]["reason"] == "Pilot it on line 3."
    for handle in ("cat", "dan"):
        assert "“Tool carts per line” was accepted: Pilot it on line 3." in inbox(org, handle, idea)


def test_a_team_shares_the_reward_and_the_boards_show_it(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Tool carts per line")
    join_team(org, idea, "cat", "dan", "owen")
    assert read(org, "mia", f"/v1/ideas/{idea}")["team"] == ["cat", "dan", "owen"]
    assert ok(put(org, "cat", "/v1/me/pseudonym", {"pseudonym": "Night Owl"}))["events"] == 1
    do(org, "mia", f"/v1/ideas/{idea}/review")
    do(org, "mia", f"/v1/ideas/{idea}/accept", {"note": "Good."})
    before = read(org, "mia", f"/v1/pots/{challenge}")

    grant(org, "idea-accepted", idea)  # 50 points in three: largest remainder, ties by handle

    for handle, share in (("cat", 17), ("dan", 17), ("owen", 16)):
        balance, entries = ledger(org, handle)
        assert balance == share
        assert entries == [("split share", share, "idea-accepted", idea)]
        assert f"You received {share} points for the accepted idea." in inbox(org, handle, idea)
    after = read(org, "mia", f"/v1/pots/{challenge}")
    assert after["granted"] - before["granted"] == 50
    assert before["remaining"] - after["remaining"] == 50 and after["remaining"] == 1950
    board = read(org, "dan", "/v1/leaderboard", challenge=challenge)["items"]
    assert [(s["shown_as"], s["points"], s["handle"]) for s in board] == [
        ("Night Owl", 17, None),
        ("Dan Contributor", 17, None),
        ("Owen Owner", 16, None),
    ]
    board = read(org, "mia", "/v1/leaderboard", challenge=challenge)["items"]
    assert [(s["shown_as"], s["handle"], s["department"]) for s in board] == [
        ("Night Owl", "cat", "Sales"),
        ("Dan Contributor", "dan", "Finance"),
        ("Owen Owner", "owen", "Production"),
    ]
    position = org.engine.last_position
    problem = refused(granting(org, "idea-accepted", idea), 409)  # paid once per person and idea
    assert problem["code"] == "already-rewarded" and org.engine.last_position == position


def test_an_accepted_idea_is_handed_over_implemented_and_rewarded(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Tool carts per line")
    submit(org, "dan", challenge, "Buy a second press")
    handover = {"core_process": "Line changeover", "external_ref": "CHG-1042", "owner": "owen"}
    do(org, "mia", f"/v1/ideas/{idea}/take-over", handover)
    refused(org.post("cat", f"/v1/ideas/{idea}/implemented", {"impact": "Done"}), 403)
    do(org, "owen", f"/v1/ideas/{idea}/progress", {"note": "Pilot on line 3"})
    do(org, "owen", f"/v1/ideas/{idea}/implemented", {"impact": "Changeover 14 min shorter"})

    shown = read(org, "cat", f"/v1/ideas/{idea}")
    assert (shown["status"], shown["owner"], shown["core_process"], shown["external_ref"]) == (
        "implemented", "owen", "Line changeover", "CHG-1042",
    )  # fmt: skip
    assert shown["progress"] == ["Pilot on line 3"]
    assert shown["impact"] == "Changeover 14 min shorter"
    funnel = read(org, "mia", "/v1/funnel", challenge=challenge)
    assert [(s["step"], s["ideas"]) for s in funnel["funnel"]] == [
        ("submitted", 2),
        ("reviewed", 1),
        ("accepted", 1),
        ("in implementation", 1),
        ("implemented", 1),
    ]
    (row,) = [i for i in funnel["ideas"]["items"] if i["idea_id"] == idea]
    assert (row["stage"], row["owner"], row["impact"]) == (
        "implemented", "owen", "Changeover 14 min shorter",
    )  # fmt: skip
    assert row["reached"][-2:] == ["in implementation", "implemented"]
    assert "“Tool carts per line” was implemented: Changeover 14 min shorter." in inbox(
        org, "cat", idea
    )

    grant(org, "idea-accepted", idea)
    grant(org, "idea-implemented", idea)
    balance, entries = ledger(org, "cat")
    assert balance == 150
    assert sorted(entries) == [
        ("grant", 50, "idea-accepted", idea),
        ("grant", 100, "idea-implemented", idea),
    ]
    assert read(org, "owen", "/v1/me/ledger")["balance"] == 0  # the owner is not the team


def test_helpful_contributions_and_prizes_are_paid_and_redeemed_within_the_balance(
    org: Org,
) -> None:
    challenge = open_challenge(org)
    carts = accepted(org, "cat", challenge, "Tool carts per line")
    press = accepted(org, "dan", challenge, "Buy a second press")
    comment = do(org, "owen", f"/v1/ideas/{carts}/comments", {"body": "Use the old racks."}, 201)
    do(org, "mia", f"/v1/contributions/{comment['id']}/helpful")
    assert read(org, "owen", "/v1/me/contributions")["items"][0]["helpful"] is True
    grant(org, "helpful-contribution", comment["id"])
    assert ledger(org, "owen") == (10, [("grant", 10, "helpful-contribution", comment["id"])])

    do(org, "mia", f"/v1/challenges/{challenge}/review")
    do(org, "mia", f"/v1/challenges/{challenge}/close")
    assert read(org, "cat", f"/v1/challenges/{challenge}")["stage"] == "closed"
    grant(org, "prize-1", carts)
    grant(org, "prize-2", press)
    position = org.engine.last_position
    assert refused(granting(org, "prize-1", press), 409)["code"] == "already-rewarded"
    assert org.engine.last_position == position
    assert read(org, "cat", "/v1/me/ledger")["balance"] == 200
    assert read(org, "dan", "/v1/me/ledger")["balance"] == 100
    pot = read(org, "mia", f"/v1/pots/{challenge}")
    assert (pot["granted"], pot["remaining"]) == (310, 1690)

    lunch = do(org, "ada", "/v1/store/items", {"name": "Team lunch", "price": 150}, 201)["id"]
    bike = do(org, "ada", "/v1/store/items", {"name": "Bike", "price": 51, "stock": 1}, 201)["id"]
    receipt = do(org, "cat", "/v1/me/redemptions", {"item_id": lunch, "points": 150}, 201)
    balance, entries = ledger(org, "cat")
    assert balance == 50 and ("redemption", -150) in [(e[0], e[1]) for e in entries]
    assert read(org, "mia", "/v1/treasury", at_least=receipt["position"])["redeemed"] == 150
    position = org.engine.last_position
    problem = refused(org.post("cat", "/v1/me/redemptions", {"item_id": bike}), 409)
    assert problem["field"] == "points" and "50" in problem["detail"]
    assert org.engine.last_position == position
    assert read(org, "cat", "/v1/me")["balance"] == 50


def test_ideas_left_undecided_past_the_deadline_are_follow_up_debt(org: Org) -> None:
    challenge = open_challenge(org, decision_deadline_days=14)
    refused(org.get("cat", "/v1/follow-up"), 403)
    idea = submit(org, "cat", challenge, "Tool carts per line")
    decided = accepted(org, "dan", challenge, "Buy a second press")

    org.clock.advance(days=10)  # within the deadline: nothing is owed yet
    assert read(org, "mia", "/v1/follow-up", challenge=challenge)["debt"]["items"] == []

    org.clock.advance(days=10)
    found = read(org, "mia", "/v1/follow-up", challenge=challenge)
    (item,) = found["debt"]["items"]
    assert item["id"] == idea and (item["kind"], item["author"]) == ("idea", "cat")
    assert item["desk"] == ["mia"] and found["by_manager"] == {"mia": 1}
    assert 19.9 < item["waited_days"] < 20.1 and 5.9 < item["overdue_days"] < 6.1
    assert decided not in str(found["debt"])
    assert read(org, "aud", "/v1/follow-up", manager="mia")["debt"]["total"] == 1
    refused(org.get("dan", "/v1/follow-up", manager="mia"), 403)
    funnel = read(org, "mia", "/v1/funnel", challenge=challenge, stage="submitted")
    assert [(i["idea_id"], i["days_in_stage"]) for i in funnel["ideas"]["items"]] == [(idea, 20.0)]


def test_breadth_shows_which_targeted_departments_take_part(org: Org) -> None:
    challenge = open_challenge(org, target_departments=["Production", "Sales"])
    idea = submit(org, "cat", challenge, "Tool carts per line")  # Sales
    do(org, "dan", f"/v1/ideas/{idea}/comments", {"body": "What does it cost?"}, 201)  # Finance
    do(org, "dan", f"/v1/ideas/{idea}/endorsements", None, 201)
    found = read(org, "cat", f"/v1/breadth/{challenge}")
    assert found["targeted"] == ["Production", "Sales"]
    assert found["taking_part"] == ["Finance", "Sales"]
    assert found["targeted_taking_part"] == ["Sales"]
    assert found["contributors_per_department"] == {"Finance": 1, "Sales": 1}
    assert found["contributors"] == 2 and found["small_circle_warning"] is False
    missing = "00000000-0000-4000-8000-000000000000"
    refused(org.get("cat", f"/v1/breadth/{missing}"), 404)


def test_an_admin_registers_a_person_who_then_takes_part(org: Org) -> None:
    challenge = open_challenge(org)
    person = {"handle": "eve", "name": "Eve Engineer", "department": "Logistics"}
    position = org.engine.last_position
    refused(org.post("mia", "/v1/people", person), 403)
    assert org.engine.last_position == position
    do(org, "ada", "/v1/people", person, 201)
    position = org.engine.last_position
    refused(org.post("ada", "/v1/people", person), 409)  # the handle is taken
    assert org.engine.last_position == position
    shown = read(org, "mia", "/v1/people/eve")
    assert (shown["name"], shown["department"], shown["roles"]) == (
        "Eve Engineer", "Logistics", ["contributor"],
    )  # fmt: skip

    store = build_tokens(org.settings)
    try:
        org.tokens["eve"] = store.issue("eve", "test")[0]
    finally:
        store.close()
    me = read(org, "eve", "/v1/me")
    assert (me["handle"], me["balance"], me["roles"]) == ("eve", 0, ["contributor"])
    idea = submit(org, "eve", challenge, "Label the racks")
    assert my_idea(org, "eve", idea)["department"] == "Logistics"
    refused(org.post("eve", "/v1/challenges", challenge_terms()), 403)

    roles = {"roles": ["contributor", "manager"]}
    refused(put(org, "mia", "/v1/people/eve/roles", roles), 403)
    ok(put(org, "ada", "/v1/people/eve/roles", roles))
    assert read(org, "eve", "/v1/me")["roles"] == ["contributor", "manager"]
    drafted = do(org, "eve", "/v1/challenges", challenge_terms(title="Her own"), 201)
    assert read(org, "eve", f"/v1/challenges/{drafted['id']}")["managers"] == ["eve"]
