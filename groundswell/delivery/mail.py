"""E-mail over SMTP: the server from ``GROUNDSWELL_SMTP_URL``, messages from the templates here.

``smtp://user:password@host:587?starttls=yes`` (STARTTLS before logging in; ``starttls`` is on
by default except on loopback), ``smtps://host:465`` (TLS from the start), or plain
``smtp://127.0.0.1:PORT`` for a local server. Each message is text and HTML, links to the page
concerned, carries a ``Message-ID`` that is the same on every retry, and a one-click unsubscribe
(RFC 8058: ``List-Unsubscribe`` with an https or http URL, ``List-Unsubscribe-Post``).
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape

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
        smtp: smtplib.SMTP
        if self.tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=tls_context())
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.starttls:
                smtp.starttls(context=tls_context())
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp


@cache
def tls_context() -> ssl.SSLContext:
    """Made once: loading the system's certificates takes longer than sending a message."""
    return ssl.create_default_context()


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


def compose(message: Message, head: Letterhead) -> bytes:
    """The e-mail for one outbox message as it goes over the wire: the same bytes every time
    (a retry sends exactly what the first try sent)."""
    headers, text, html = _parts(message, head)
    return wire(headers, text, html, boundary_of(message)) or _with_email_package(
        headers, text, html
    )


def _parts(message: Message, head: Letterhead) -> tuple[list[tuple[str, str]], str, str]:
    """The headers, the text and the HTML of one message (a notice, or a digest)."""
    notice = message.notice
    base = head.base_url.rstrip("/")
    headers = [
        ("Subject", subject_of(notice["text"])),
        ("From", head.sender),
        ("To", message.address or ""),
        ("Date", format_datetime(datetime.fromisoformat(message.at))),
        ("Message-ID", f"<{message.message_id}@{head.domain}>"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Groundswell-Kind", message.kind),
    ]
    if message.kind == DIGEST:
        # One e-mail for what was held for a period: counts per kind, then each notice linked.
        context: dict[str, Any] = {
            "text": notice["text"],
            "items": [{**item, "link": base + page_of(item)} for item in notice["items"]],
            "counts": [(KINDS.get(kind, kind), n) for kind, n in notice["counts"].items()],
            "preferences_url": f"{base}/web/me",
        }
        return (
            headers,
            template("digest.txt").render(context),
            template("digest.html").render(context),
        )
    token = unsubscribe.token(head.secret, message.handle, message.kind)
    unsubscribe_url = f"{base}/v1/unsubscribe/{token}"
    context = {
        "text": notice["text"],
        "link": base + page_of(notice),
        "kind": message.kind,
        "about": KINDS.get(message.kind, message.kind),
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": f"{base}/web/me",
    }
    headers.append(("List-Unsubscribe", f"<{unsubscribe_url}>"))
    headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return headers, template("notice.txt").render(context), template("notice.html").render(context)


@cache
def template(name: str) -> Template:
    """A template, compiled once per process (the environment would stat its file each time)."""
    return TEMPLATES.get_template(name)


def boundary_of(message: Message) -> str:
    return "groundswell-" + message.message_id.replace("-", "")


# Headers whose value is free text, which may be written as RFC 2047 encoded words.
UNSTRUCTURED = {"Subject"}
WORD_BYTES = 45  # 60 base64 characters: an encoded word of at most 75 (RFC 2047)
LINE_BYTES = 998  # RFC 5322's limit on a line


def wire(headers: list[tuple[str, str]], text: str, html: str, boundary: str) -> bytes | None:
    """The multipart/alternative e-mail, written directly; None when something in it needs
    the ``email`` package's care (a non-ASCII address, a line too long for 8bit, a body that
    contains the boundary). The ``email`` package takes ~3 ms per message (it parses every
    header it is given back into a tree, then folds it again); this takes a few dozen µs
    and is checked against it (tests/unit/test_mail_wire.py)."""
    lines = []
    for name, value in headers:
        if "\r" in value or "\n" in value:
            return None
        if not value.isascii():
            if name not in UNSTRUCTURED:
                return None
            value = encoded_words(value)
        elif len(name) + 2 + len(value) > LINE_BYTES:
            return None
        lines.append(f"{name}: {value}")
    parts = []
    for subtype, body in (("plain", text), ("html", html)):
        encoded = _body(body)
        if encoded is None or boundary.encode() in encoded:
            return None
        cte = "7bit" if encoded.isascii() else "8bit"
        parts.append(
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode()
            + encoded
        )
    lines.append("MIME-Version: 1.0")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    between = f"\r\n--{boundary}\r\n".encode()
    return (
        head
        + f"--{boundary}\r\n".encode()
        + between.join(parts)
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _body(text: str) -> bytes | None:
    """UTF-8 lines ending in CRLF, or None if a line is too long to send unencoded."""
    lines = text.encode().splitlines()
    if any(len(line) > LINE_BYTES for line in lines) or any(b"\0" in line for line in lines):
        return None
    return b"\r\n".join(lines) + b"\r\n"


def encoded_words(value: str) -> str:
    """Free text as RFC 2047 encoded words (UTF-8, base64), each under 76 characters, folded
    one to a line (a reader joins adjacent words without the space between them)."""
    words, chunk, size = [], [], 0
    for char in value:
        n = len(char.encode())
        if size + n > WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += n
    words.append("".join(chunk))
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word.encode()).decode()}?=" for word in words)


def _with_email_package(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """The same e-mail built by the ``email`` package, which encodes whatever it is given."""
    mail = EmailMessage(policy=MAIL_POLICY)
    for name, value in headers:
        mail[name] = value
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail.as_bytes()


def subject_of(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 78 else line[:77] + "…"
