"""Web pages for managers, contributors, owners and auditors, served beside the API.

Server-rendered HTML (Jinja2) over the same reads and commands the JSON API uses, so a page
can never show or do more than the API allows its reader. Charts are SVG drawn on the
server (pygal); one small script keeps pages live from a server-sent event stream. No
build step: the templates and static files ship inside the package.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).parent


def install(app: FastAPI) -> None:
    """Serve the pages under /web, their static files, and send / to them."""
    from groundswell.web import actions, desk, live, pages

    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")
    for module in (pages, actions, live, desk):
        app.include_router(module.router)
