"""The interactive API docs (/docs), served offline from the package.

FastAPI's own /docs loads Swagger UI from a CDN (a blank page without internet) and starts it
with an inline script (which the pages' Content-Security-Policy forbids). Here the Swagger UI
files come from the ``fastapi-offline`` package, which bundles them, and a script of ours
starts it; the page and the files are sent with the pages' security headers.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from groundswell.web.render import SECURITY, templates

SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"
ASSETS = "/docs/assets"
# Not a PageRoute: the docs are public (the API answers 401 without a token anyway).
router = APIRouter(include_in_schema=False)


class SecuredFiles(StaticFiles):
    """Static files with the pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY)
        return response


@router.get("/docs")
def api_docs(request: Request) -> HTMLResponse:
    response = templates.TemplateResponse(request, "docs.html", {"assets": ASSETS})
    response.headers.update(SECURITY)
    return response


def files() -> SecuredFiles:
    return SecuredFiles(directory=SWAGGER_UI)
