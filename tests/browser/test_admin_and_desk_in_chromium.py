"""Stories in Chromium, at a phone's width: an administrator adds a person and issues and
revokes their token; an administrator registers and removes a webhook by keyboard; a manager
lands on her desk and decides an idea there."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from domain.idea import IdeaStatus
from groundswell.http import models
from tests.browser.conftest import Served, axe_or_fail, axe_violations, check_page, sign_in
from tests.browser.test_every_page import WIDTHS
from tests.http_support import challenge_terms


def api_tokens(served: Served) -> Any:
    from groundswell.bootstrap import build_tokens

    return build_tokens(served.settings)


def test_an_administrator_adds_a_person_and_issues_and_revokes_a_token(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    admin = sign_in(browser, contexts, served, "ada", **WIDTHS["phone"])
    a = admin.page
    a.get_by_role("link", name="People", exact=True).click()
    a.get_by_label("Handle (how they sign and are named)").fill("eve")
    a.get_by_label("Name", exact=True).fill("Eve Engineer")
    a.get_by_label("Department", exact=True).last.fill("Maintenance")
    a.get_by_label("E-mail (optional: notifications are e-mailed to it)").fill("eve@example.org")
    a.get_by_label("owner", exact=True).check()
    a.get_by_role("button", name="Add the person").click()
    expect(a.get_by_role("heading", level=1)).to_contain_text("Eve Engineer")
    check_page(admin)
    assert sorted(served.engine.person("eve").roles) == ["contributor", "owner"]

    a.get_by_role("link", name="Tokens", exact=True).first.click()
    a.get_by_label("Whose token (handle)").fill("eve")
    a.get_by_label("What it is for (optional)").fill("laptop")
    a.get_by_role("button", name="Issue the token").click()
    expect(a.locator("#issued")).to_contain_text("Shown once")
    token = a.get_by_label("The token").input_value()
    check_page(admin)
    store = api_tokens(served)
    try:
        assert store.holder(token) == "eve"
        a.goto(served.url + "/web/admin/tokens")  # never shown again
        expect(a.locator("#issued")).to_have_count(0)
        (issued,) = [t.token_id for t in store.list("eve")]
        a.get_by_role("button", name=f"Revoke token {issued} of eve").click()
        expect(a.locator("#confirm-question")).to_contain_text(f"Revoke token {issued} of eve")
        a.get_by_role("button", name="Revoke it").click()
        expect(a.locator("#live-tokens")).not_to_contain_text(issued)
        assert store.holder(token) is None
    finally:
        store.close()
    assert admin.errors == [], admin.errors


def test_an_administrator_registers_a_webhook_by_keyboard_and_removes_it(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    axe = axe_or_fail()
    admin = sign_in(browser, contexts, served, "ada", **WIDTHS["phone"])
    a = admin.page
    a.get_by_role("link", name="Webhooks", exact=True).first.click()
    address = a.get_by_label("Address (https; http only to this machine)")
    address.focus()
    a.keyboard.type("http://example.com/hook")
    a.keyboard.press("Enter")
    expect(a.locator("#problem")).to_contain_text("https only")
    expect(address).to_have_value("http://example.com/hook")
    assert axe_violations(a, axe) == []  # the refusal's alert and the kept form

    address.fill("")
    address.focus()
    a.keyboard.type("https://hooks.example.com/ideas")
    a.get_by_label("ideas: ", exact=False).first.focus()
    a.keyboard.press("Space")
    a.get_by_role("button", name="Register the webhook").focus()
    a.keyboard.press("Enter")
    expect(a.locator("#made")).to_contain_text("Shown once")
    secret = a.get_by_label("The signing secret").input_value()
    assert secret.startswith("whsec_")
    check_page(admin)
    assert axe_violations(a, axe) == []
    a.goto(served.url + "/web/admin/webhooks")  # never shown again
    expect(a.locator("#made")).to_have_count(0)
    expect(a.locator("#endpoints")).to_contain_text("https://hooks.example.com/ideas · ideas")
    a.get_by_role("button", name=re.compile(r"^Remove webhook ")).focus()
    a.keyboard.press("Enter")
    expect(a.locator("#confirm-question")).to_contain_text("Remove webhook")
    a.get_by_role("button", name="Remove it").click()
    expect(a.locator("#endpoints")).to_contain_text("No webhook registered.")
    logged = [e for e in admin.errors if "status of 4" not in e]  # the refusal's own 422
    assert logged == [], logged


def test_a_manager_lands_on_her_desk_and_decides_there(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    engine = served.engine
    deadline = (date.today() + timedelta(days=30)).isoformat()
    terms = models.ChallengeIn(**challenge_terms(submission_deadline=deadline))
    challenge = engine.draft_challenge("mia", pot=terms.pot, **terms.model_dump(exclude={"pot"})).id
    engine.open_challenge("mia", challenge)
    idea = engine.submit_idea("cat", challenge, title="Quick-release clamps", description="…").id

    manager = sign_in(browser, contexts, served, "mia", **WIDTHS["phone"])
    m = manager.page
    expect(m).to_have_url(re.compile(r"/web/desk$"))
    expect(m.locator("#desk")).to_contain_text("Quick-release clamps")
    check_page(manager)
    m.get_by_label("Note, or the reason not to take it forward").fill("Order ten.")
    m.get_by_role("button", name="Accept “Quick-release clamps”").click()
    expect(m.locator("#confirm-question")).to_contain_text("Accept “Quick-release clamps”?")
    m.get_by_role("button", name="Accept it").click()
    expect(m).to_have_url(re.compile(r"/web/desk(\?at_least=\d+)?$"))
    expect(m.locator("#desk")).to_contain_text("Nothing waits on you.")
    assert engine.idea(idea).status == IdeaStatus.ACCEPTED
    assert manager.errors == [], manager.errors
