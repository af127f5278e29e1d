"""/docs works without internet: every asset it loads is ours, served with the pages'
security headers, and the pages link to it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from groundswell.web.render import SECURITY
from groundswell.web.session import COOKIE
from tests.http_support import Org

# What the browser loads by itself: scripts, stylesheets, icons (not the links one follows).
LOADS = re.compile(r'<(?:script src|link rel="[a-z]+" href)="([^"]+)"')


def test_the_docs_load_only_local_assets_and_each_is_served(org: Org) -> None:
    docs = org.client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    for name, value in SECURITY.items():
        assert docs.headers[name] == value
    assert "<script>" not in docs.text  # the CSP allows no inline script

    loaded = LOADS.findall(docs.text)
    assert any(url.endswith("swagger-ui-bundle.js") for url in loaded)
    assert any(url.endswith("swagger-ui.css") for url in loaded)
    for url in loaded:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        asset = org.client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    bundle = org.client.get(next(u for u in loaded if u.endswith("swagger-ui-bundle.js")))
    assert "SwaggerUIBundle" in bundle.text and len(bundle.content) > 500_000
    assert org.client.get("/openapi.json").status_code == 200  # what the docs' script reads


def test_the_pages_link_to_the_docs(org: Org) -> None:
    for path in ("/web/sign-in", "/web/me"):
        html = org.client.get(path, headers={"Cookie": f"{COOKIE}={org.session('cat')}"}).text
        assert '<a href="/docs">API docs</a>' in html
