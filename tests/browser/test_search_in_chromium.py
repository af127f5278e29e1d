"""Search in a real browser: the box in every page's header leads to ranked hits with the
matches marked (no script runs from indexed text), and typing a title into the submit form
brings up the challenge's similar ideas. On a phone's width, by keyboard."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Served, check_page, screenshot, sign_in
from tests.http_support import challenge_terms

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
ATTACK = "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script>"


def test_the_search_box_and_similar_ideas(
    browser: Any, contexts: list[Any], served: Served
) -> None:
    e = served.engine
    cid = e.draft_challenge(
        "mia", **challenge_terms(title="Changeover clamps", submission_deadline="2099-12-31")
    ).id
    e.open_challenge("mia", cid)
    idea = e.submit_idea(
        "dan", cid, title=f"Quick-release clamps {ATTACK}", description="Clamps save minutes."
    ).id
    watched = sign_in(browser, contexts, served, "cat", **PHONE)
    page = watched.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.get_by_label("Search challenges, ideas and comments").focus()
    page.keyboard.type("clamps")
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/search?q=clamps")
    hits = page.locator("ol.hits > li")
    expect(hits).to_have_count(2)
    expect(hits.first.locator("mark").first).to_have_text("clamps")
    assert page.title() != "owned" and dialogs == []
    expect(page.locator("ol.hits")).to_contain_text("<script>")  # shown as text
    check_page(watched)
    screenshot(page, "search-phone")

    page.goto(f"{served.url}/web/challenges/{cid}")
    page.get_by_label("Title").focus()
    page.keyboard.type("release the clamp")
    similar = page.locator("#similar-ideas li a")
    expect(similar).to_have_count(1, timeout=10_000)
    expect(similar).to_have_attribute("href", f"/web/ideas/{idea}")
    assert page.title() != "owned" and dialogs == [] and watched.errors == []
    # The similar ideas fit the phone (the challenge's own idea list is another matter).
    assert page.locator("#similar-ideas").evaluate("e => e.scrollWidth <= e.clientWidth")
