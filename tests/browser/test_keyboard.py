"""The main story by keyboard alone, in Chromium: sign in, open a challenge, submit an idea,
and as a manager decide it, with nothing but Tab, Enter, Space and typing. Every stop Tab
reaches on the way must show where the focus is (a visible outline of its own), and the
first Tab on a page reaches the link that skips to the content. The pages of the story are
checked with axe-core's rules too, in the states the demo crawl may not meet (a challenge
open for ideas, an idea waiting for a decision, the decision's confirmation)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from playwright.sync_api import expect

from domain.idea import IdeaStatus
from groundswell.http import models
from tests.browser.conftest import Served, Watched, axe_or_fail, axe_violations, check_page
from tests.http_support import challenge_terms

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MOST_STOPS = 200  # more Tabs than any page of the story has stops before the one sought

# What has the focus: its name as a person hears it (roughly: aria-label, label, text,
# value), whether Chromium draws its focus ring (:focus-visible with an outline of at least
# 2 px) and whether it is on screen.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  return {
    name: (el.getAttribute('aria-label') || label || el.innerText || el.value || '').trim(),
    tag: el.tagName.toLowerCase(),
    ring: el.matches(':focus-visible') && style.outlineStyle !== 'none'
      && parseFloat(style.outlineWidth) >= 2,
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
      && box.top < window.innerHeight && box.left < window.innerWidth,
  };
}"""


def tab_to(page: Any, name: str | re.Pattern[str]) -> None:
    """Press Tab until the focus is on what is called ``name`` (exactly, or matching the
    pattern), checking at every stop on the way that the focus can be seen."""
    stops = []
    for _ in range(MOST_STOPS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue  # out of the page and back round
        where = f"{focused['tag']} {focused['name']!r} on {page.url}"
        assert focused["ring"], f"no visible focus on {where}"
        assert focused["onScreen"], f"the focus is off screen: {where}"
        stops.append(focused["name"])
        found = focused["name"]
        if found == name if isinstance(name, str) else name.search(found):
            return
    raise AssertionError(f"Tab never reached {name!r} on {page.url}; stops: {stops}")


def press_and_load(page: Any, key: str = "Enter") -> None:
    """Press ``key`` on a link or a submit button and wait for the page it leads to."""
    with page.expect_navigation(wait_until="load"):
        page.keyboard.press(key)


def sign_in_by_keyboard(browser: Any, contexts: list[Any], served: Served, handle: str) -> Watched:
    """The sign-in page puts the focus in the token field; typing and Enter sign in."""
    context = browser.new_context(**PHONE)
    contexts.append(context)
    watched = Watched(context.new_page(), handle)
    page = watched.page
    page.goto(served.url)
    expect(page.get_by_label("Your token")).to_be_focused()
    page.keyboard.type(served.tokens[handle])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/sign-in" not in url)
    return watched


def audit(watched: Watched, axe: str) -> None:
    check_page(watched)
    assert axe_violations(watched.page, axe) == []


def test_the_main_story_by_keyboard_alone(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    axe = axe_or_fail()
    deadline = (date.today() + timedelta(days=30)).isoformat()
    terms = models.ChallengeIn(**challenge_terms(submission_deadline=deadline))
    challenge = served.engine.draft_challenge(
        "mia", pot=terms.pot, **terms.model_dump(exclude={"pot"})
    ).id
    served.engine.open_challenge("mia", challenge)

    contributor = sign_in_by_keyboard(browser, contexts, served, "cat")
    c = contributor.page
    # The first stop on a page skips to its content; following it puts the focus there.
    c.keyboard.press("Tab")
    expect(c.get_by_role("link", name="Skip to content")).to_be_focused()
    assert c.evaluate(FOCUSED)["onScreen"], "the skip link stays hidden when focused"
    c.keyboard.press("Enter")
    expect(c.locator("main")).to_be_focused()
    tab_to(c, "Challenges")
    press_and_load(c)
    tab_to(c, terms.title)
    press_and_load(c)
    expect(c.get_by_role("heading", level=1)).to_have_text(terms.title)
    audit(contributor, axe)
    tab_to(c, "Title")
    c.keyboard.type("Scan delivery notes")
    tab_to(c, re.compile(r"^What is the idea"))
    c.keyboard.type("At the dock, straight into the ERP.")
    tab_to(c, "Submit idea")
    press_and_load(c)
    expect(c.get_by_role("heading", level=1)).to_have_text("Scan delivery notes")
    audit(contributor, axe)

    manager = sign_in_by_keyboard(browser, contexts, served, "mia")
    m = manager.page
    tab_to(m, "Challenges")
    press_and_load(m)
    tab_to(m, terms.title)
    press_and_load(m)
    tab_to(m, "Scan delivery notes")
    press_and_load(m)
    expect(m.get_by_role("heading", level=1)).to_have_text("Scan delivery notes")
    audit(manager, axe)
    tab_to(m, re.compile(r"^Note or reason"))
    m.keyboard.type("Pilot at dock 2 next month.")
    tab_to(m, "Decide")
    press_and_load(m, "Space")
    expect(m.get_by_role("heading", level=1)).to_have_text("Please confirm")
    audit(manager, axe)
    tab_to(m, "Accept it")
    press_and_load(m)
    expect(m.get_by_role("heading", level=1)).to_have_text("Scan delivery notes")
    assert (
        served.engine.idea(UUID(urlsplit(m.url).path.rsplit("/", 1)[1])).status
        == IdeaStatus.ACCEPTED
    )
    assert contributor.errors + manager.errors == []
