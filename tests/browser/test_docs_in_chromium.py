"""/docs renders in Chromium with every request outside the server refused (as offline):
Swagger UI from the package, started by our script under the pages' CSP, no console errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.browser.conftest import Served, Watched, screenshot


def test_the_api_docs_render_offline(browser: Any, served: Served, contexts: list[Any]) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    contexts.append(context)
    ours = urlsplit(served.url).netloc
    elsewhere: list[str] = []

    def only_ours(route: Any) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_ours)
    watched = Watched(context.new_page(), "docs")
    docs = watched.page

    docs.goto(served.url + "/docs")
    docs.wait_for_selector("#swagger-ui .opblock", timeout=20_000)

    assert docs.locator("#swagger-ui .opblock").count() > 20  # every operation listed
    assert "groundswell" in docs.locator("#swagger-ui .title").first.inner_text()
    screenshot(docs, "30-api-docs")
    assert elsewhere == []
    assert watched.errors == []
