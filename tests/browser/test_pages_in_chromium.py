"""The pages in a real browser: a challenge from launch to reward, seen live by the manager
and the contributor in two browser contexts; the demo organisation's pages with their
charts; a phone's width. Screenshots of every page go to artifacts/screenshots."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from rich.console import Console

from groundswell.bootstrap import build_engine
from groundswell.demo.seed import run_demo
from groundswell.settings import Settings
from tests.browser.conftest import Served, Watched, check_page, screenshot, serve, sign_in

LAPTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LIVE = 15_000  # ms: a page must update by itself within this


def no_errors(*pages: Watched) -> None:
    errors = [error for page in pages for error in page.errors]
    assert errors == [], errors


def stays(page: Any) -> None:
    """Mark the document, so that a later ``still_there`` proves it was never reloaded."""
    page.evaluate("window.__stayed = true")


def still_there(page: Any) -> None:
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"


def test_a_challenge_from_launch_to_reward_seen_live(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    manager = sign_in(browser, contexts, served, "mia", **LAPTOP)
    m = manager.page
    expect(m).to_have_url(re.compile(r"/web/desk$"))  # managers start at their desk
    check_page(manager)
    m.get_by_role("link", name="Challenges", exact=True).click()
    expect(m).to_have_url(re.compile(r"/web/challenges$"))

    # The manager launches a challenge.
    deadline = (date.today() + timedelta(days=30)).isoformat()
    m.get_by_label("Title").fill("Less paper in the office")
    m.get_by_label("The question people answer").fill("Where do we print what nobody reads?")
    m.get_by_label("Sponsor").fill("COO")
    m.get_by_label("Departments asked to take part").fill("Sales, Finance, Production")
    m.get_by_label("Ideas until").fill(deadline)
    m.get_by_role("button", name="Launch").click()
    expect(m.get_by_role("heading", level=1)).to_have_text("Less paper in the office")
    expect(m.locator("#challenge-head")).to_contain_text("Open for ideas")
    check_page(manager)
    screenshot(m, "01-manager-challenge-launched")
    stays(m)

    # A contributor, in a browser context of their own, submits an idea.
    contributor = sign_in(browser, contexts, served, "cat", **LAPTOP)
    c = contributor.page
    expect(c).to_have_url(re.compile(r"/web/me$"))
    c.get_by_role("link", name="Challenges", exact=True).click()
    screenshot(c, "02-contributor-challenges")
    c.get_by_role("link", name="Less paper in the office").click()
    c.get_by_label("Title").fill("Scan delivery notes")
    c.get_by_label("What is the idea").fill("At the dock, straight into the ERP.")
    c.get_by_role("button", name="Submit idea").click()
    expect(c.get_by_role("heading", level=1)).to_have_text("Scan delivery notes")
    expect(c.locator("#timeline")).to_contain_text("Submitted by Cat Contributor (Sales)")
    check_page(contributor)
    screenshot(c, "03-contributor-idea-submitted")

    # The manager's page shows it without a reload: the idea, the funnel, the breadth.
    expect(m.locator("#ideas")).to_contain_text("Scan delivery notes", timeout=LIVE)
    expect(m.locator("#breadth")).to_contain_text("1 of 3", timeout=LIVE)
    expect(m.locator("#funnel tbody tr").first).to_contain_text("1")
    still_there(m)
    screenshot(m, "04-manager-sees-the-idea-live")

    # The contributor watches their home while the manager decides.
    c.get_by_role("link", name="My home", exact=True).click()
    expect(c.locator("#balance-points")).to_have_text("0")
    expect(c.locator("#my-ideas")).to_contain_text("submitted")
    stays(c)

    m.locator("#ideas").get_by_role("link", name="Scan delivery notes").click()
    m.get_by_label("Note or reason").fill("Pilot at dock 2 next month.")
    m.get_by_role("button", name="Decide").click()
    expect(m.locator("#confirm-question")).to_contain_text("Accept this idea")
    m.get_by_role("button", name="Accept it").click()
    expect(m.locator("#timeline")).to_contain_text("Accepted by Mia Manager")
    expect(m.locator("#timeline")).to_contain_text("50 points granted for the accepted idea")
    check_page(manager)
    screenshot(m, "05-manager-decided")

    expect(c.locator("#balance-points")).to_have_text("50", timeout=LIVE)
    expect(c.locator("#notifications")).to_contain_text(
        "“Scan delivery notes” was accepted: Pilot at dock 2 next month", timeout=LIVE
    )
    expect(c.locator("#notifications")).to_contain_text("You received 50 points")
    expect(c.locator("#my-ideas")).to_contain_text("accepted")
    still_there(c)
    screenshot(c, "06-contributor-home-rewarded-live")

    # Hand-over: the owner sees it under "Handed to me" and reports progress.
    m.get_by_label("Core process that takes it over").fill("Logistics")
    m.get_by_label("Owner's handle").fill("owen")
    m.get_by_role("button", name="Hand over").click()
    expect(m.locator("#idea-head")).to_contain_text("owner Owen Owner")
    owner = sign_in(browser, contexts, served, "owen", **LAPTOP)
    o = owner.page
    o.get_by_role("link", name="Handed to me", exact=True).click()
    expect(o.locator("#owned")).to_contain_text("Scan delivery notes")
    o.get_by_label("Progress to report").fill("Scanners ordered.")
    o.get_by_role("button", name="Report progress").click()
    expect(o.locator("#owned")).to_contain_text("Scanners ordered.")
    check_page(owner)
    screenshot(o, "07-owner-handed-to-me")

    no_errors(manager, contributor, owner)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Served]:
    settings = Settings(data_dir=tmp_path)
    run_demo(settings, console=Console(quiet=True), report=False)
    yield from serve(settings, build_engine(settings), register=False)


def test_the_demo_organisation_in_the_browser(
    browser: Any, demo: Served, contexts: list[Any]
) -> None:
    """What `make run` shows: the demo's challenges, each with its charts."""
    visitor = browser.new_context(**LAPTOP)
    contexts.append(visitor)
    first = visitor.new_page()
    first.goto(demo.url)  # the printed URL: the sign-in page
    expect(first.get_by_label("Your token")).to_be_focused()
    screenshot(first, "00-sign-in")
    manager = sign_in(browser, contexts, demo, "mia", **LAPTOP)
    m = manager.page
    expect(m).to_have_url(re.compile(r"/web/desk$"))
    check_page(manager)
    screenshot(m, "09-demo-desk")
    m.get_by_role("link", name="Challenges", exact=True).click()
    screenshot(m, "10-demo-challenges")
    expect(m.locator("#desk")).to_contain_text("waited past the decision deadline")  # her desk
    titles = m.locator(".cards h3 a").all_inner_texts()
    assert len(titles) == 3, titles
    assert m.locator(".cards figure svg").count() == 3  # each card with its funnel
    for n, title in enumerate(titles, start=1):
        m.locator(".cards").get_by_role("link", name=title).click()
        for chart in ("#funnel", "#breadth"):
            expect(m.locator(f"{chart} figure svg")).to_be_visible()
        expect(m.locator("#pot")).to_contain_text("funded")
        expect(m.locator("#follow-up")).to_contain_text("Median time to a decision")
        assert m.locator("#leaderboard tbody tr").count() > 0
        check_page(manager)
        screenshot(m, f"1{n}-demo-challenge-{n}")
        m.go_back()
    m.locator("#main .cards a").first.click()
    m.locator("#ideas a").first.click()
    expect(m.locator("#timeline li").first).to_contain_text("Submitted by")
    screenshot(m, "14-demo-idea")

    contributor = sign_in(browser, contexts, demo, "anna.kowalski", **LAPTOP)
    expect(contributor.page.locator("#balance-points")).not_to_have_text("0")
    check_page(contributor)
    screenshot(contributor.page, "15-demo-contributor-home")

    owner = sign_in(browser, contexts, demo, "sofia", **LAPTOP)
    expect(owner.page).to_have_url(re.compile(r"/web/owner$"))  # where an owner starts
    owner.page.get_by_role("link", name="Handed to me").click()
    expect(owner.page).to_have_url(re.compile(r"/web/owner$"))
    assert owner.page.locator("#owned article").count() > 0
    screenshot(owner.page, "16-demo-owner")

    phone = sign_in(browser, contexts, demo, "anna.kowalski", **PHONE)
    check_page(phone)
    screenshot(phone.page, "17-demo-contributor-home-phone")
    phone.page.get_by_role("link", name="Challenges", exact=True).click()
    phone.page.locator(".cards a").first.click()
    check_page(phone)
    screenshot(phone.page, "18-demo-challenge-phone")

    no_errors(manager, contributor, owner, phone)
