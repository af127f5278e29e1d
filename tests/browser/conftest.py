"""Browser tests: the engine served by a real uvicorn on a free port, driven by Playwright
in Debian's headless Chromium (``scripts/chromium-local``; no browser download)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_http_app, build_tokens
from groundswell.settings import Settings
from tests.http_support import PEOPLE

# The flags a root, offline, display-less machine needs (background networking off: its
# connections would be refused here, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("GROUNDSWELL_ARTIFACTS", "artifacts")) / "screenshots"


def chromium_or_fail() -> str:
    found = os.environ.get("GROUNDSWELL_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("no Chromium under CI=true; `make test` installs it (scripts/chromium-local).")
    pytest.skip("no Chromium (scripts/chromium-local installs Debian's package)")


def axe_or_fail() -> str:
    """The source of axe-core's axe.min.js (``scripts/axe-local`` fetches the npm package)."""
    found = os.environ.get("GROUNDSWELL_AXE")
    if found and Path(found).is_file():
        return Path(found).read_text(encoding="utf-8")
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"no axe-core under CI=true (GROUNDSWELL_AXE={found!r}); "
            "`make test` fetches it (scripts/axe-local)."
        )
    pytest.skip("no axe-core (scripts/axe-local fetches the npm package; set GROUNDSWELL_AXE)")


@dataclass
class Served:
    url: str
    engine: Engine
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)


def serve(settings: Settings, engine: Engine, register: bool = True) -> Iterator[Served]:
    """Serve the engine with uvicorn in a thread until the test is done."""
    if register:
        for handle, (name, department, roles) in PEOPLE.items():
            engine.register_person(handle, name=name, department=department, roles=roles)
    store = build_tokens(settings)
    try:
        handles = list(PEOPLE) if register else ["mia", "anna.kowalski", "sofia"]
        tokens = {handle: store.issue(handle, "browser test")[0] for handle in handles}
    finally:
        store.close()
    # The socket is bound here and handed to uvicorn: a port only probed for (free_port) is
    # free for another worker's process to take until uvicorn binds it.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port: int = listening.getsockname()[1]
    config = uvicorn.Config(
        build_http_app(settings, engine),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", engine, settings, tokens)
    server.should_exit = True
    thread.join(10)
    listening.close()
    engine.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    settings = Settings(data_dir=tmp_path)
    yield from serve(settings, build_engine(settings))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped, not session: Playwright's sync API keeps an event loop running in
    this thread while it is open, and later tests call asyncio.run()."""
    executable = chromium_or_fail()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page whose console errors and uncaught exceptions are collected."""

    def __init__(self, page: Any, who: str) -> None:
        self.page, self.who, self.errors = page, who, []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{who}: uncaught {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{self.who}: {message.text} at {message.location}")


@pytest.fixture
def contexts(browser: Any) -> Iterator[list[Any]]:
    """Browser contexts opened by a test, closed before its server stops (their live
    streams would otherwise hold the server's shutdown up)."""
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()


def sign_in(
    browser: Any, contexts: list[Any], served: Served, handle: str, **options: Any
) -> Watched:
    """A browser context of its own for ``handle``, signed in with the keyboard alone."""
    context = browser.new_context(**options)
    contexts.append(context)
    page = context.new_page()
    watched = Watched(page, handle)
    page.goto(served.url)
    page.get_by_label("Your token").focus()
    page.keyboard.type(served.tokens[handle])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/sign-in" not in url)
    return watched


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


UNLABELLED = """() => Array.from(document.querySelectorAll('input, textarea, select'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def check_page(watched: Watched) -> None:
    """Every field has a label; nothing is wider than the window."""
    page = watched.page
    assert page.evaluate(UNLABELLED) == [], f"fields without a label on {page.url}"
    assert page.evaluate(OVERFLOW) <= 0, f"{page.url} scrolls sideways"
    # A phone zooms out to show what is too wide, which widens window.innerWidth with it:
    # the page is held to the width the browser was given as well.
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= page.viewport_size["width"], f"{page.url} is {wide} px wide"


# axe-core's rules (WCAG 2.x A/AA and its best practices), run in the page as it is; only what
# it rates serious or critical fails a test. Each violation: rule, impact and the node's selector.
AXE_RUN = """async () => {
  const found = await axe.run(document, {resultTypes: ['violations']});
  return found.violations
    .filter(rule => rule.impact === 'serious' || rule.impact === 'critical')
    .flatMap(rule => rule.nodes.map(node => ({
      rule: rule.id, impact: rule.impact, target: node.target.join(' '),
      summary: (node.failureSummary || '').split('\\n').slice(1, 2).join('').trim(),
    })));
}"""


def axe_violations(page: Any, axe: str) -> list[str]:
    """The page's serious and critical axe-core violations, one readable line each. axe is
    evaluated rather than added as a <script>: the pages' Content-Security-Policy forbids
    inline scripts, and an evaluation over the DevTools protocol is not one."""
    if not page.evaluate("() => typeof axe === 'object'"):
        page.evaluate(axe)
    path = urlsplit(page.url).path
    return [
        f"{found['rule']} ({found['impact']}) at {found['target']} on {path}: {found['summary']}"
        for found in page.evaluate(AXE_RUN)
    ]
