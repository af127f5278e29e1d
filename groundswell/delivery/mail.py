"""E-mail over SMTP: the server from ``GROUNDSWELL_SMTP_URL``, messages from the templates here.

``smtp://user:password@host:587?starttls=yes`` (STARTTLS before logging in; ``starttls`` is on
by default except on loopback), ``smtps://host:465`` (TLS from the start), or plain
``smtp://127.0.0.1:PORT`` for a local server. Each message is text and HTML, links to the page
concerned, carries a ``Message-ID`` that is the same on every retry, and a one-click unsubscribe
(RFC 8058: ``List-Unsubscribe`` with an https or http URL, ``List-Unsubscribe-Post``).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape

from groundswell.delivery import unsubscribe
from groundswell.delivery.derive import KINDS
from groundswell.delivery.digests import DIGEST
from groundswell.delivery.outbox import Message

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)
# Headers kept on one line up to the limit RFC 5322 allows, so that a long unsubscribe URL is
# not folded before its "<" (which some mail clients then fail to read).
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TIMEOUT = 30.0


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand e-mail over."""

    host: str
    port: int
    tls: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError(
                "GROUNDSWELL_SMTP_URL must look like smtp://user:password@host:587 or"
                " smtps://host:465"
            )
        tls = parsed.scheme == "smtps"
        asked = parse_qs(parsed.query).get("starttls", [""])[0].lower()
        if asked and asked not in ("yes", "no", "1", "0", "true", "false", "on", "off"):
            raise ValueError(f"starttls in GROUNDSWELL_SMTP_URL must be yes or no, not {asked!r}")
        starttls = (
            (asked in ("yes", "1", "true", "on"))
            if asked
            else (not tls and parsed.hostname not in LOOPBACK)
        )
        return cls(
            host=parsed.hostname,
            port=parsed.port or (465 if tls else 587 if starttls else 25),
            tls=tls,
            starttls=starttls,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.starttls:
                smtp.starttls(context=context)
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp


@dataclass(frozen=True)
class Letterhead:
    """What every message shares: who sends it and where the pages are."""

    sender: str
    base_url: str
    secret: bytes

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2].strip(">") or "groundswell.localhost"


def page_of(notice: dict[str, Any]) -> str:
    kind, subject = notice["subject_kind"], notice["subject_id"]
    if kind == "idea":
        return f"/web/ideas/{subject}"
    if kind == "challenge":
        return f"/web/challenges/{subject}"
    return "/web/me"


def compose(message: Message, head: Letterhead) -> EmailMessage:
    """The e-mail for one outbox message: the same headers and body every time."""
    if message.kind == DIGEST:
        return compose_digest(message, head)
    notice = message.notice
    base = head.base_url.rstrip("/")
    unsubscribe_url = (
        f"{base}/v1/unsubscribe/{unsubscribe.token(head.secret, message.handle, message.kind)}"
    )
    context = {
        "text": notice["text"],
        "link": base + page_of(notice),
        "kind": message.kind,
        "about": KINDS.get(message.kind, message.kind),
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": f"{base}/web/me",
    }
    mail = _headed(message, head, notice["text"])
    mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(TEMPLATES.get_template("notice.txt").render(context))
    mail.add_alternative(TEMPLATES.get_template("notice.html").render(context), subtype="html")
    return mail


def compose_digest(message: Message, head: Letterhead) -> EmailMessage:
    """One e-mail for what was held for a period: counts per kind, then each notice linked."""
    notice = message.notice
    base = head.base_url.rstrip("/")
    items = [{**item, "link": base + page_of(item)} for item in notice["items"]]
    counts = [(KINDS.get(kind, kind), count) for kind, count in notice["counts"].items()]
    context = {
        "text": notice["text"],
        "items": items,
        "counts": counts,
        "preferences_url": f"{base}/web/me",
    }
    mail = _headed(message, head, notice["text"])
    mail.set_content(TEMPLATES.get_template("digest.txt").render(context))
    mail.add_alternative(TEMPLATES.get_template("digest.html").render(context), subtype="html")
    return mail


def _headed(message: Message, head: Letterhead, subject: str) -> EmailMessage:
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["Subject"] = subject_of(subject)
    mail["From"] = head.sender
    mail["To"] = message.address or ""
    mail["Date"] = format_datetime(datetime.fromisoformat(message.at))
    mail["Message-ID"] = f"<{message.message_id}@{head.domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Groundswell-Kind"] = message.kind
    return mail


def subject_of(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 78 else line[:77] + "…"
