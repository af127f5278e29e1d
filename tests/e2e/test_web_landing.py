"""Where each role lands, over HTTP without a browser: a manager's desk with each thing
waiting decided or answered inline, an owner's handed-over ideas with progress due dates,
a contributor's home calling for ideas to the challenges still taking them."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.idea import IdeaStatus
from tests.e2e.test_web_pages import cookie, form_key, page, send
from tests.http_support import Org, challenge_terms


def challenge(org: Org, title: str, days: int = 30, open_it: bool = True) -> str:
    deadline = (org.clock.now.date() + timedelta(days=days)).isoformat()
    terms = challenge_terms(title=title, submission_deadline=deadline)
    found = org.post("mia", "/v1/challenges", terms).json()["id"]
    if open_it:
        org.post("mia", f"/v1/challenges/{found}/open")
    return str(found)


def desk_story(org: Org) -> tuple[UUID, UUID]:
    """cat's two ideas in mia's challenge wait on mia's decision; dan asked on one of them
    (waiting on cat's answer); twenty days later all of it is overdue."""
    found = UUID(challenge(org, "Less scrap"))
    carts = org.engine.submit_idea("cat", found, title="Carts", description="d").id
    jigs = org.engine.submit_idea("cat", found, title="Jigs", description="d").id
    org.engine.comment("dan", carts, "Which carts?")
    org.clock.advance(days=20)
    return carts, jigs


def test_each_role_lands_on_its_own_first_page(org: Org) -> None:
    where = {
        handle: org.client.get("/web", headers=cookie(org, handle), follow_redirects=False)
        for handle in ("ada", "mia", "owen", "cat", "aud")
    }
    landed = {handle: answer.headers["location"] for handle, answer in where.items()}
    assert landed == {
        "ada": "/web/desk", "mia": "/web/desk", "owen": "/web/owner", "cat": "/web/me",
        "aud": "/web/challenges",
    }  # fmt: skip


def test_a_manager_decides_from_the_desk_after_confirming(org: Org) -> None:
    carts, jigs = desk_story(org)
    desk = page(org, "mia", "/web/desk")
    assert f'action="/web/desk/ideas/{carts}/decide"' in desk and "2 waiting, 2 overdue" in desk
    before = org.engine.last_position
    form = {"form_key": form_key(desk), "decision": "accept", "words": "Order ten."}
    asked = send(org, "mia", f"/web/desk/ideas/{carts}/decide", form)
    assert asked.status_code == 200 and "Accept “Carts”?" in asked.text
    assert 'href="/web/desk"' in asked.text  # Cancel goes back to the desk
    assert org.engine.last_position == before
    decided = send(org, "mia", f"/web/desk/ideas/{carts}/decide", {**form, "confirm": "yes"})
    assert decided.status_code == 303 and decided.headers["location"].startswith("/web/desk")
    assert org.engine.idea(carts).status == IdeaStatus.ACCEPTED
    after = page(org, "mia", decided.headers["location"])
    assert "1 waiting, 1 overdue" in after and f"/web/desk/ideas/{carts}/" not in after

    # Not forward without a reason: said at once on the desk, nothing written, nothing asked.
    before = org.engine.last_position
    form = {"form_key": form_key(after), "decision": "reject", "words": " "}
    refused = send(org, "mia", f"/web/desk/ideas/{jigs}/decide", form)
    assert refused.status_code == 422 and "reason" in refused.text
    assert "My desk" in refused.text and org.engine.last_position == before
    # Someone who does not manage the challenge is refused, with nothing written.
    form = {"form_key": form_key(after), "decision": "accept", "words": "", "confirm": "yes"}
    assert send(org, "dan", f"/web/desk/ideas/{jigs}/decide", form).status_code == 403
    assert org.engine.idea(jigs).status == IdeaStatus.SUBMITTED


def test_a_team_answers_a_question_from_the_desk(org: Org) -> None:
    carts, _ = desk_story(org)
    desk = page(org, "cat", "/web/desk")
    assert f'action="/web/desk/ideas/{carts}/answer"' in desk and "Which carts?" in desk
    empty = send(
        org, "cat", f"/web/desk/ideas/{carts}/answer", {"form_key": form_key(desk), "body": ""}
    )
    assert empty.status_code == 422
    answered = send(
        org, "cat", f"/web/desk/ideas/{carts}/answer",
        {"form_key": form_key(desk), "body": "The blue ones."},
    )  # fmt: skip
    assert answered.status_code == 303
    assert "Nothing waits on you." in page(org, "cat", answered.headers["location"])
    said = org.get("cat", f"/v1/ideas/{carts}/contributions").json()["items"]
    assert [c["body"] for c in said if c["author"] == "cat"] == ["The blue ones."]


def test_an_owner_lands_on_what_is_handed_over_with_the_next_progress_due(org: Org) -> None:
    found = UUID(challenge(org, "Less scrap"))
    idea = org.engine.submit_idea("cat", found, title="Carts", description="d").id
    org.engine.decide_idea("mia", idea, accept=True, words="Go")
    org.engine.take_over_idea("mia", idea, core_process="Logistics", owner="owen")
    shown = page(org, "owen", "/web/owner")
    assert "Next progress report due" in shown and "overdue" not in shown
    org.clock.advance(days=90)
    late = page(org, "owen", "/web/owner")
    assert "days overdue" in late


def test_a_contributor_is_called_to_submit_to_each_challenge_taking_ideas(org: Org) -> None:
    taking = challenge(org, "Less scrap", days=10)
    closing = challenge(org, "Quieter shop floor", days=1)
    challenge(org, "Not yet open", open_it=False)
    home = page(org, "cat", "/web/me")
    assert f'href="/web/challenges/{taking}#submit-title"' in home
    assert "Submit an idea to “Less scrap”" in home and closing in home
    assert "Not yet open" not in home
    org.clock.advance(days=3)  # the second one's last day has passed
    later = page(org, "cat", "/web/me")
    assert taking in later and closing not in later
    assert "Open for your ideas" not in page(org, "aud", "/web/me")
