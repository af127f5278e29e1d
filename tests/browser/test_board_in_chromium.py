"""The board in Chromium (issue 20.5): a manager moves an idea to its next stage with the
keyboard alone, through the confirmation, at a phone's width; the idea lands in the next
column and its history is the API's command's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from groundswell.http import models
from tests.browser.conftest import Served, check_page, sign_in
from tests.http_support import challenge_terms

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_a_manager_moves_an_idea_on_the_board_by_keyboard(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    engine = served.engine
    deadline = (date.today() + timedelta(days=30)).isoformat()
    terms = models.ChallengeIn(**challenge_terms(submission_deadline=deadline))
    challenge = engine.draft_challenge("mia", pot=terms.pot, **terms.model_dump(exclude={"pot"})).id
    engine.open_challenge("mia", challenge)
    idea = engine.submit_idea("cat", challenge, title="Quick-release clamps", description="…").id
    assert idea is not None

    manager = sign_in(browser, contexts, served, "mia", **PHONE)
    m = manager.page
    m.goto(f"{served.url}/web/challenges/{challenge}")
    m.get_by_role("link", name="The ideas as a board, by stage").focus()
    m.keyboard.press("Enter")
    expect(m.get_by_role("heading", level=1)).to_contain_text("the ideas by stage")
    check_page(manager)
    move = m.get_by_role("button", name="Move “Quick-release clamps” to under review")
    move.focus()
    m.keyboard.press("Enter")
    expect(m.get_by_role("heading", level=1)).to_have_text("Please confirm")
    m.get_by_role("button", name="Move to under review").focus()
    m.keyboard.press("Enter")
    column = m.locator("#column-under-review")
    expect(column).to_contain_text("Quick-release clamps")
    expect(m.locator("#column-submitted")).not_to_contain_text("Quick-release clamps")
    expect(
        column.get_by_role("button", name="Move “Quick-release clamps” to accepted")
    ).to_be_visible()
    check_page(manager)
    assert engine.idea(idea).status.value == "under review"
    assert manager.errors == [], manager.errors

    contributor = sign_in(browser, contexts, served, "cat", **PHONE)
    contributor.page.goto(f"{served.url}/web/challenges/{challenge}/board")
    expect(contributor.page.locator("#column-under-review")).to_contain_text("Quick-release clamps")
    expect(contributor.page.get_by_role("button", name="Move")).to_have_count(0)
