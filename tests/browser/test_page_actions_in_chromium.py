"""The commands that were API-only, walked on the pages in Chromium (issue 20.1): one story
per role in one browser session each, at a phone's width, so every new form is also held
to 390 px and to labelled fields. Refusals and bad input are tested without a browser in
tests/e2e/test_web_idea_actions.py."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from playwright.sync_api import expect

from groundswell.http import models
from tests.browser.conftest import Served, Watched, check_page, screenshot, sign_in
from tests.http_support import challenge_terms

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def open_challenge(served: Served) -> UUID:
    deadline = (date.today() + timedelta(days=30)).isoformat()
    terms = models.ChallengeIn(**challenge_terms(submission_deadline=deadline))
    engine = served.engine
    challenge = engine.draft_challenge("mia", pot=terms.pot, **terms.model_dump(exclude={"pot"}))
    engine.open_challenge("mia", challenge.id)  # type: ignore[arg-type]
    return challenge.id  # type: ignore[return-value]


def idea(served: Served, author: str, challenge: UUID, title: str) -> UUID:
    found = served.engine.submit_idea(author, challenge, title=title, description=f"{title}.")
    return found.id  # type: ignore[return-value]


def confirm(page: Any, button: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Please confirm")
    page.get_by_role("button", name=button, exact=True).click()


def no_errors(*pages: Watched) -> None:
    errors = [error for page in pages for error in page.errors]
    assert errors == [], errors


def test_a_contributor_edits_invites_withdraws_scores_and_chooses_how_she_is_shown(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    challenge = open_challenge(served)
    mine = idea(served, "cat", challenge, "Scan delivery notes")
    second = idea(served, "cat", challenge, "Print less")
    theirs = idea(served, "owen", challenge, "Shared printers")
    served.engine.ask_reviewer("mia", theirs, "cat")

    cat = sign_in(browser, contexts, served, "cat", **PHONE)
    c = cat.page
    c.goto(f"{served.url}/web/ideas/{mine}")
    c.get_by_text("Edit the idea").click()
    c.get_by_label("Description").fill("At the dock, straight into the ERP.")
    check_page(cat)
    screenshot(c, "42-team-edits-the-idea-phone")
    c.get_by_role("button", name="Save the edit").click()
    expect(c.locator("#idea-head .description")).to_have_text("At the dock, straight into the ERP.")
    c.get_by_label("Invite to the team").fill("dan")
    c.get_by_role("button", name="Invite", exact=True).click()
    expect(c.locator("#timeline")).to_contain_text("invited Dan Contributor to the team")

    dan = sign_in(browser, contexts, served, "dan", **PHONE)
    dan.page.goto(f"{served.url}/web/ideas/{mine}")
    dan.page.get_by_role("button", name="Join the team").click()
    expect(dan.page.locator("#idea-head .team")).to_contain_text("Dan Contributor")

    # A stale edit: Dan changed the title after Cat's page was read.
    c.reload()
    c.get_by_text("Edit the idea").click()
    served.engine.edit_idea("dan", mine, title="Scan every note", description="By Dan.")
    c.get_by_label("Title", exact=True).fill("Scan delivery notes at the dock")
    c.get_by_role("button", name="Save the edit").click()
    expect(c.locator("#problem")).to_contain_text("this was changed since version")
    expect(c.locator("#changed-since")).to_contain_text("now: Scan every note")
    expect(c.get_by_label("Title", exact=True)).to_have_value("Scan delivery notes at the dock")
    check_page(cat)

    c.goto(f"{served.url}/web/ideas/{second}")
    c.get_by_role("button", name="Withdraw this idea").click()
    confirm(c, "Withdraw it")
    expect(c.locator("#idea-head")).to_contain_text("withdrawn")

    c.goto(f"{served.url}/web/ideas/{theirs}")
    c.get_by_label("Score").select_option("4")
    c.get_by_label("Why").fill("Cheap to try.")
    c.get_by_role("button", name="Give the score").click()
    expect(c.locator("#contributions")).to_contain_text("4 / 5")

    c.goto(f"{served.url}/web/me")
    c.get_by_label("Pseudonym").fill("Blue Fox")
    c.get_by_role("button", name="Save the pseudonym").click()
    expect(c.locator("main")).to_contain_text("shown on boards as “Blue Fox”")
    c.get_by_label("Points you received").select_option("weekly")
    c.locator("#email li", has_text="Points you received").get_by_role("button").click()
    expect(c.get_by_label("Points you received")).to_have_value("weekly")
    c.get_by_label("From").fill("22:00")
    c.get_by_label("Until").fill("07:00")
    c.get_by_role("button", name="Save quiet hours").click()
    expect(c.locator("#quiet-hours")).to_contain_text("now 22:00–07:00, UTC")
    screenshot(c, "43-contributor-home-settings-phone")
    check_page(cat)
    logged = [e for e in cat.errors if "status of 409" not in e]  # the stale edit's answer
    assert logged == [], logged
    no_errors(dan)


def test_a_manager_moderates_merges_reviews_hands_over_and_awards(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    engine = served.engine
    challenge = open_challenge(served)
    original = idea(served, "cat", challenge, "Scan delivery notes")
    duplicate = idea(served, "dan", challenge, "Scan the notes at the dock")
    engine.comment("dan", original, "Rude words")
    engine.register_person("max", name="Max Manager", department="R&D", roles=["manager"])

    mia = sign_in(browser, contexts, served, "mia", **PHONE)
    m = mia.page
    m.goto(f"{served.url}/web/ideas/{duplicate}")
    m.get_by_label("A duplicate of").select_option(str(original))
    m.get_by_role("button", name="Compare and merge…").click()
    preview = m.locator("#merge-preview")
    expect(preview).to_contain_text("Scan the notes at the dock.")
    expect(preview).to_contain_text("Scan delivery notes.")
    check_page(mia)
    screenshot(m, "40-manager-merge-preview-phone")
    m.get_by_role("button", name="Merge them").click()
    expect(m.locator("#merged-into")).to_contain_text("Scan delivery notes")
    m.get_by_role("button", name="Undo the merge").click()
    confirm(m, "Undo the merge")
    expect(m.locator("#idea-head")).to_contain_text("submitted")

    m.goto(f"{served.url}/web/ideas/{original}")
    m.get_by_text("Hide…").click()
    m.get_by_label("Why hide it").fill("Not kind")
    check_page(mia)
    screenshot(m, "41-manager-idea-actions-phone")
    m.get_by_role("button", name="Hide it").click()
    confirm(m, "Hide it")
    contribution = m.locator("#contributions li", has_text="Rude words")
    expect(contribution).to_contain_text("hidden")  # the manager reads it, marked hidden
    expect(contribution).to_contain_text("Not kind")

    options = m.locator("#people-list option")
    assert "owen" in options.evaluate_all("all => all.map(o => o.value)")
    m.get_by_label("Ask someone to review it").fill("owen")
    m.get_by_role("button", name="Ask to review").click()
    expect(m.locator("main")).to_contain_text("Reviewers asked: owen")

    m.get_by_label("Note or reason").fill("Pilot at dock 2.")
    m.get_by_role("button", name="Decide").click()
    confirm(m, "Accept it")
    owners = m.locator("#owners-list option").evaluate_all("all => all.map(o => o.label)")
    assert owners == ["Owen Owner (Production)"], owners
    m.get_by_label("Core process that takes it over").fill("Logistics")
    m.get_by_label("Owner's handle").fill("owen")
    m.get_by_role("button", name="Hand over").click()
    expect(m.locator("#idea-head")).to_contain_text("owner Owen Owner")

    m.goto(f"{served.url}/web/challenges/{challenge}")
    m.get_by_label("Add a manager").fill("max")
    m.get_by_role("button", name="Add", exact=True).click()
    expect(m.locator("#challenge-head")).to_contain_text("mia, max")
    m.get_by_role("button", name="Stop submissions, review").click()
    confirm(m, "Stop submissions")
    m.get_by_label(re.compile("^1st prize")).select_option(str(original))
    m.locator("#prizes form").first.get_by_role("button", name="Award").click()
    confirm(m, "Award it")
    expect(m.locator("#leaderboard")).to_contain_text("250")  # 50 accepted + 200 prize
    check_page(mia)
    no_errors(mia)


def test_a_manager_edits_a_draft_and_an_owner_asks_then_abandons(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    engine = served.engine
    terms = models.ChallengeIn(**challenge_terms(submission_deadline="2099-12-31"))
    draft = engine.draft_challenge("mia", pot=terms.pot, **terms.model_dump(exclude={"pot"})).id
    mia = sign_in(browser, contexts, served, "mia", **PHONE)
    m = mia.page
    m.goto(f"{served.url}/web/challenges/{draft}")
    m.get_by_text("Edit the draft's terms").click()
    m.get_by_label("Title").fill("Shorter changeovers")
    m.get_by_label("Prizes").fill("300, 100")
    check_page(mia)
    m.get_by_role("button", name="Save the terms").click()
    expect(m.get_by_role("heading", level=1)).to_have_text("Shorter changeovers")
    expect(m.locator("#challenge-head")).to_contain_text("prizes 300 / 100")

    challenge = open_challenge(served)
    taken = idea(served, "cat", challenge, "Scan delivery notes")
    engine.decide_idea("mia", taken, accept=True, words="Go")
    owen = sign_in(browser, contexts, served, "owen", **PHONE)
    o = owen.page
    o.goto(f"{served.url}/web/ideas/{taken}")
    o.get_by_label("Your core process").fill("Logistics")
    o.get_by_role("button", name="Ask to take it over").click()
    expect(o.locator("#idea-head")).not_to_contain_text("owner Owen")
    m.goto(f"{served.url}/web/ideas/{taken}")
    expect(m.locator("main")).to_contain_text("Asked to take it over: owen")
    m.get_by_label("Owner's handle").fill("owen")
    m.get_by_role("button", name="Hand over").click()
    expect(m.locator("#idea-head")).to_contain_text("owner Owen Owner")

    o.goto(f"{served.url}/web/owner")
    o.get_by_text("Abandon the implementation…").click()
    o.get_by_label("Why it is abandoned").fill("The supplier closed.")
    check_page(owen)
    o.get_by_role("button", name="Abandon it").click()
    confirm(o, "Abandon it")
    expect(o).to_have_url(re.compile(r"/web/owner"))
    o.goto(f"{served.url}/web/ideas/{taken}")
    expect(o.locator("#idea-head")).to_contain_text("abandoned")
    expect(o.locator("#idea-head")).to_contain_text("The supplier closed.")
    no_errors(mia, owen)


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
