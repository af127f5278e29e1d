"""The caught-mail page: what the local SMTP sink of `groundswell serve` received.

Only when the server runs without ``GROUNDSWELL_SMTP_URL`` on the embedded store (as
``make run`` does) does it start a sink and deliver to it: then nothing leaves the machine,
and this page shows each e-mail the engine would have sent. Everyone's mail is on it, so
it is for administrators; with ``--demo`` also for managers, since the demo prints a
manager's token and no administrator's, and its people and addresses are made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from domain.person import Role
from groundswell.delivery.sink import caught_of, heads, kinds_caught
from groundswell.http.auth import Caller
from groundswell.http.problems import ApiProblem
from groundswell.web.render import PageRoute, page
from groundswell.web.session import Reader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PATH = "/web/mail"


@dataclass(frozen=True)
class MailSinkPage:
    """Where the sink keeps its mail, its address, and who may read it."""

    maildir: Path
    smtp_url: str
    readers: tuple[Role, ...] = (Role.ADMIN,)

    def readable_by(self, caller: Caller) -> bool:
        return any(caller.has(role) for role in self.readers)


def sink_of(request: Request) -> MailSinkPage | None:
    found = getattr(request.app.state, "mail_sink", None)
    return found if isinstance(found, MailSinkPage) else None


@router.get(PATH)
def mail_page(request: Request, caller: Reader) -> HTMLResponse:
    sink = sink_of(request)
    if sink is None:
        raise ApiProblem(
            404,
            "not-found",
            "no local mail sink runs here: e-mail goes to GROUNDSWELL_SMTP_URL.",
        )
    if not sink.readable_by(caller):
        roles = " or ".join(role.value for role in sink.readers)
        raise ApiProblem(403, "not-permitted", f"{caller.handle} needs the {roles} role.")
    # ?kind=points: the newest of one kind (the demo alone e-mails ~1,500 messages at once).
    kind = request.query_params.get("kind") or None
    found = heads(sink.maildir)
    return page(
        request,
        "mail.html",
        caller,
        mails=caught_of(found, sink.maildir, kind=kind),
        kinds=kinds_caught(found),
        total=len(found),
        kind=kind,
        sink=sink,
    )
