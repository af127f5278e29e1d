"""Web pages for managers, contributors, owners and auditors, served beside the API.

Server-rendered HTML (Jinja2) over the same reads and commands the JSON API uses, so a page
can never show or do more than the API allows its reader. Charts are SVG drawn on the
server (pygal); one small script keeps pages live from a server-sent event stream. No
build step: the templates and static files ship inside the package.

May import http (the pages call the API's route functions) and what http may import; never
cli.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

HERE = Path(__file__).parent


def install(app: FastAPI) -> None:
    """Serve the pages under /web, their static files, the API docs (/docs), and send / to
    the pages."""
    from groundswell.web import (
        actions,
        admin,
        admin_delivery,
        board,
        challenge_actions,
        company,
        desk,
        docs,
        exports,
        idea_actions,
        live,
        mail,
        me_actions,
        pages,
        search,
        standings,
        store_actions,
    )

    # Static files with the pages' security headers too (nosniff matters most for them).
    app.mount("/web/static", docs.SecuredFiles(directory=HERE / "static"), name="web-static")
    app.mount(docs.ASSETS, docs.files(), name="docs-assets")
    for module in (
        pages,
        company,
        actions,
        idea_actions,
        challenge_actions,
        me_actions,
        store_actions,
        live,
        docs,
        desk,
        mail,
        admin,
        admin_delivery,
        exports,
        board,
        standings,
        search,
    ):
        app.include_router(module.router)
