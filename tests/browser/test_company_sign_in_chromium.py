"""Company sign-in through a real Keycloak in Chromium (issue 21, items 1–3): a person who
was never in groundswell signs in on Keycloak's own login page, lands on their home with
the department Keycloak holds, submits an idea, and signs out, here and at Keycloak.
The sign-in round trip's time is printed (run with -s to see it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from groundswell.bootstrap import build_engine
from groundswell.identity.settings import OidcSettings
from groundswell.settings import Settings
from groundswell.web.session import COOKIE
from tests.browser.conftest import Served, Watched, screenshot, serve
from tests.oidc_support import PASSWORD, oidc_env, shared_keycloak


@pytest.fixture
def company(tmp_path: Path) -> Iterator[Served]:
    keycloak = shared_keycloak()
    settings = Settings(data_dir=tmp_path, oidc=OidcSettings.from_environment(oidc_env(keycloak)))
    engine = build_engine(settings)
    yield from serve(settings, engine)


def test_a_new_person_signs_in_at_keycloak_acts_and_signs_out(
    browser: Any, contexts: list[Any], company: Served
) -> None:
    from playwright.sync_api import expect

    engine = company.engine
    deadline = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    challenge = engine.draft_challenge(
        "mia", title="Fewer meetings", question="Which meeting can go?", sponsor="COO",
        target_departments=["marketing"], submission_deadline=deadline,
        decision_deadline_days=14,
    ).id  # fmt: skip
    assert challenge is not None
    engine.open_challenge("mia", challenge)
    before = engine.last_position

    context = browser.new_context()
    contexts.append(context)
    watched = Watched(context.new_page(), "dana")
    page = watched.page
    page.goto(company.url)  # the sign-in page
    started = time.monotonic()
    page.get_by_role("link", name="Sign in with your company account").click()
    page.wait_for_selector("#username")  # Keycloak's own login page
    at_keycloak = time.monotonic()
    assert page.url.startswith(company.settings.oidc.issuer)  # type: ignore[union-attr]
    page.fill("#username", "dana")
    page.fill("#password", PASSWORD)
    submitted = time.monotonic()
    page.click("#kc-login")
    page.wait_for_url(f"{company.url}/web/me")
    landed = time.monotonic()
    print(
        f"\ncompany sign-in round trip: {landed - started:.2f} s "
        f"(to Keycloak's page {at_keycloak - started:.2f} s, "
        f"login to home {landed - submitted:.2f} s)"
    )
    screenshot(page, "company-sign-in-home")
    # Registered by the sign-in itself, with the department Keycloak holds.
    dana = engine.person("dana")
    assert (dana.department, dana.roles, dana.email) == (
        "marketing", ["contributor"], "dana@example.com"
    )  # fmt: skip
    expect(page.locator(".who")).to_contain_text("dana · marketing")
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # She acts: an idea for the open challenge.
    page.get_by_role("link", name="Challenges", exact=True).click()
    page.get_by_role("link", name="Fewer meetings").click()
    page.get_by_label("Title").fill("Stand-ups standing up")
    page.get_by_label("What is the idea").fill("Ten minutes, no chairs.")
    page.get_by_role("button", name="Submit idea").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stand-ups standing up")
    assert engine.last_position > before

    # Signing out ends the session here and at Keycloak, and comes back to our sign-in page.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{company.url}/web/sign-in")
    sessions = context.request.get(
        f"{company.url}/web/me", headers={"Cookie": f"{COOKIE}={cookie['value']}"},
        max_redirects=0,
    )  # fmt: skip
    assert sessions.status == 303 and "/web/sign-in" in sessions.headers["location"]
    page.get_by_role("link", name="Sign in with your company account").click()
    page.wait_for_selector("#username")  # Keycloak asks again: its session ended too

    # Nora's Keycloak account has no department: a page says so, and nothing is written.
    before = engine.last_position
    page.fill("#username", "nora")
    page.fill("#password", PASSWORD)
    page.click("#kc-login")
    expect(page.locator("main")).to_contain_text("your company account has no department")
    assert engine.last_position == before
    assert not any(c["name"] == COOKIE for c in context.cookies())
    assert watched.errors == [] or all("403" in e for e in watched.errors), watched.errors
