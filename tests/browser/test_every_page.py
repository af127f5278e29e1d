"""Every page reachable by links, for every role, at a laptop's and a phone's width, in
Chromium: no console errors, no sideways scrolling, every field labelled, and no serious or
critical accessibility violation by axe-core's rules (checked once per page, at a phone's
width, during the same crawl).

A crawler per role and width starts at /web (where signing in lands) and follows the
same-origin links of each page it visits (never a form, so it changes nothing; sign-out
is a form). Pages of one kind (one URL pattern, ids replaced) are visited at most
``PER_KIND`` times, so the demo's dozens of ideas do not make it slow; every kind the
links reach is visited. The confirmation step is checked by clicking, with and without
JavaScript."""

from __future__ import annotations

import contextlib
import re
import time
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from rich.console import Console

from domain.errors import DomainError
from groundswell.bootstrap import build_engine, build_tokens
from groundswell.demo.seed import run_demo
from groundswell.settings import Settings
from tests.browser.conftest import (
    ARTIFACTS,
    Served,
    Watched,
    axe_or_fail,
    axe_violations,
    check_page,
    serve,
    sign_in,
)

WIDTHS = {
    "laptop": {"viewport": {"width": 1366, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# The demo's people for each role; the demo has no auditor or admin, so the test adds them.
ROLES = {
    "manager": "mia",
    "contributor": "anna.kowalski",
    "owner": "sofia",
    "auditor": "audra",
    "admin": "adam",
}
ADDED = {
    "audra": ("Audra Auditor", "Audit", ["auditor"]),
    "adam": ("Adam Admin", "IT", ["admin"]),
}
KINDS = {  # every kind of page some role reaches by links
    "/web/challenges",
    "/web/challenges/{id}",
    "/web/challenges/{id}/board",
    "/web/challenges/{id}/standings",
    "/web/desk",
    "/web/ideas/{id}",
    "/web/me",
    "/web/owner",
    "/web/store",
    "/web/admin/people",
    "/web/admin/people/{handle}",
    "/web/admin/tokens",
    "/web/admin/departments",
    "/web/admin/webhooks",
    "/web/admin/delivery",
}
PER_KIND = 6
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LINKS = "() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo organisation, served once for the module, with an auditor and an admin."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("crawl"))
    run_demo(settings, console=Console(quiet=True), report=False)
    engine = build_engine(settings)
    for handle, (name, department, roles) in ADDED.items():
        with contextlib.suppress(DomainError):  # a demo that has them already
            engine.register_person(handle, name=name, department=department, roles=roles)
    served = serve(settings, engine, register=False)
    found = next(served)
    store = build_tokens(settings)
    try:
        for handle in ADDED:
            found.tokens[handle] = store.issue(handle, "browser test")[0]
    finally:
        store.close()
    yield found
    next(served, None)


PERSON = re.compile(r"^/web/admin/people/[^/]+$")


def kind_of(path: str) -> str:
    return PERSON.sub("/web/admin/people/{handle}", UUID.sub("{id}", path))


def crawl(watched: Watched, base: str, axe: str | None, violations: list[str]) -> list[str]:
    """Visit every page the links reach from where signing in landed (at most
    ``PER_KIND`` of a kind), checking each (with axe-core too when its source is given,
    adding what it finds to ``violations``); the paths visited."""
    page = watched.page
    origin = urlsplit(base).netloc
    start = urlsplit(page.url).path
    queue, seen, per_kind, visited = deque([start]), {start}, {}, []
    while queue:
        path = queue.popleft()
        kind = kind_of(path)
        if per_kind.get(kind, 0) >= PER_KIND:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        answer = page.goto(base + path, wait_until="load")
        assert answer is not None and answer.ok, f"{path}: {answer and answer.status}"
        check_page(watched)
        if axe is not None:
            violations.extend(axe_violations(page, axe))
        visited.append(path)
        for href in page.evaluate(LINKS):
            parts = urlsplit(href)
            target = parts.path
            if parts.netloc != origin or not target.startswith("/web") or target in seen:
                continue
            if target.startswith(("/web/static", "/web/live", "/web/sign-")):
                continue
            if target.endswith(".csv"):  # a download, not a page
                continue
            seen.add(target)
            queue.append(target)
    return visited


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_linked_page_for_every_role(
    browser: Any, demo: Served, contexts: list[Any], width: str
) -> None:
    # axe-core's rules hardly depend on the width; once per page is enough, at the phone's.
    axe = axe_or_fail() if width == "phone" else None
    started = time.monotonic()
    kinds: set[str] = set()
    report, violations = [], []
    for role, handle in ROLES.items():
        watched = sign_in(browser, contexts, demo, handle, **WIDTHS[width])
        found: list[str] = []
        visited = crawl(watched, demo.url, axe, found)
        violations += [f"{role}: {line}" for line in found]
        assert watched.errors == [], watched.errors
        kinds |= {kind_of(path) for path in visited}
        report.append(f"{role} ({handle}): {len(visited)} pages")
    seconds = time.monotonic() - started
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = sum(int(line.split(": ")[1].split()[0]) for line in report)
    summary = f"{width}: {pages} pages in {seconds:.1f} s; " + "; ".join(report)
    (ARTIFACTS.parent / f"crawl-{width}.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    assert kinds - {"/web"} == KINDS, f"kinds of page reached: {sorted(kinds)}"  # /web redirects
    assert violations == [], "serious or critical accessibility violations:\n" + "\n".join(
        violations
    )


def test_the_sign_in_and_error_pages_fit_a_phone(
    browser: Any, demo: Served, contexts: list[Any]
) -> None:
    """And pass axe-core's rules, as the pages the crawl reaches do."""
    axe = axe_or_fail()
    context = browser.new_context(**WIDTHS["phone"])
    contexts.append(context)
    watched = Watched(context.new_page(), "visitor")
    watched.page.goto(demo.url)
    check_page(watched)
    violations = axe_violations(watched.page, axe)
    phone = sign_in(browser, contexts, demo, "anna.kowalski", **WIDTHS["phone"])
    answer = phone.page.goto(demo.url + "/web/ideas/00000000-0000-4000-8000-000000000000")
    assert answer is not None and answer.status == 404
    check_page(phone)
    violations += axe_violations(phone.page, axe)
    assert violations == [], violations


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_redeeming_asks_for_confirmation_in_the_browser(
    browser: Any, demo: Served, contexts: list[Any], javascript: bool
) -> None:
    """Cancel leaves the points; confirming spends them once. At a phone's width."""
    watched = sign_in(
        browser, contexts, demo, "anna.kowalski", java_script_enabled=javascript,
        **WIDTHS["phone"],
    )  # fmt: skip
    page = watched.page
    page.goto(demo.url + "/web/me")
    before = int(page.locator("#balance-points").inner_text())
    coffee = page.get_by_role("button", name=re.compile(r"^Redeem 20 points"))
    coffee.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Please confirm")
    expect(page.locator("#confirm-question")).to_contain_text("Redeem 20 points for")
    check_page(watched)
    if javascript:  # axe-core runs in the page: not where scripts are off
        assert axe_violations(page, axe_or_fail()) == []
    page.get_by_role("link", name="Cancel, go back").click()
    expect(page.locator("#balance-points")).to_have_text(str(before))
    page.get_by_role("button", name=re.compile(r"^Redeem 20 points")).click()
    page.get_by_role("button", name="Redeem", exact=True).click()
    expect(page.locator("#balance-points")).to_have_text(str(before - 20))
    assert watched.errors == [], watched.errors


def test_refused_forms_keep_what_was_typed_in_the_browser(
    browser: Any, served: Served, contexts: list[Any]
) -> None:
    """A refused idea and a refused hand-over come back with what was typed, and the
    hand-over's refusal names no command to run."""
    from datetime import date, timedelta

    from groundswell.http import models
    from tests.http_support import challenge_terms

    engine = served.engine
    deadline = (date.today() + timedelta(days=30)).isoformat()
    terms = models.ChallengeIn(**challenge_terms(submission_deadline=deadline))
    challenge = engine.draft_challenge("mia", pot=terms.pot, **terms.model_dump(exclude={"pot"})).id
    engine.open_challenge("mia", challenge)
    idea = engine.submit_idea("cat", challenge, title="Quick-release clamps", description="…").id
    engine.start_review("mia", idea)
    engine.decide_idea("mia", idea, accept=True, words="Go")

    contributor = sign_in(browser, contexts, served, "cat", **WIDTHS["phone"])
    c = contributor.page
    c.goto(f"{served.url}/web/challenges/{challenge}")
    c.get_by_label("Title").fill("   ")
    c.get_by_label("What is the idea").fill("Scan delivery notes at the dock")
    c.get_by_role("button", name="Submit idea").click()
    expect(c.locator("#problem")).to_contain_text("title")
    expect(c.get_by_label("What is the idea")).to_have_value("Scan delivery notes at the dock")
    check_page(contributor)
    assert axe_violations(c, axe_or_fail()) == []  # the refusal's alert and the kept form

    manager = sign_in(browser, contexts, served, "mia", **WIDTHS["phone"])
    m = manager.page
    m.goto(f"{served.url}/web/ideas/{idea}")
    m.get_by_label("Core process that takes it over").fill("Maintenance")
    m.get_by_label("Owner's handle").fill("nobody")
    m.get_by_label("Reference in their system").fill("MNT-7")
    m.get_by_role("button", name="Hand over").click()
    expect(m.locator("#problem")).to_contain_text("nobody with handle 'nobody' is registered")
    expect(m.locator("#problem")).not_to_contain_text("groundswell")
    expect(m.get_by_label("Core process that takes it over")).to_have_value("Maintenance")
    expect(m.get_by_label("Owner's handle")).to_have_value("nobody")
    expect(m.get_by_label("Reference in their system")).to_have_value("MNT-7")
    check_page(manager)
    # Chromium logs the refusal's own 4xx status as an error; nothing else may be logged.
    logged = [e for e in contributor.errors + manager.errors if "status of 4" not in e]
    assert logged == [], logged
