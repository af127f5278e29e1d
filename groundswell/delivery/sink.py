"""A local SMTP server that keeps what it receives: for tests, and to see the demo's e-mails.

``python -m groundswell.delivery.sink --maildir DIR [--host 127.0.0.1] [--port 0]`` serves SMTP
(aiosmtpd) and stores each message it accepts in the Maildir ``DIR``; it prints ``HOST:PORT`` on
one line once it accepts connections. ``groundswell serve`` on the embedded store without
``GROUNDSWELL_SMTP_URL`` starts one in its own process (``LocalSink``) and delivers to it, so
the e-mails the engine would send can be read on a page (``caught``). While a file named ``refuse``
exists in ``DIR`` it answers every message with ``451`` (try again later), so tests can make
the server fail without stopping it; while a file named ``hold`` holding a number N exists, a
message past the N-th this server kept waits for its answer until the file is gone (a sender
caught in the middle of sending); a recipient named ``unknown@…`` is refused for good (550).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import mailbox
import os
import re
import signal
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from groundswell.loopback import free_port


class Keeper:
    """aiosmtpd handler: keep each message in the Maildir, or refuse for now."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.box = mailbox.Maildir(maildir, create=True)
        self.lock = threading.Lock()
        self.kept = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower().startswith("unknown@"):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (self.maildir / "refuse").exists():
            return "451 4.3.0 refusing for now (a test asked for it)"
        while self._held():
            await asyncio.sleep(0.01)
        data = envelope.original_content or envelope.content
        with self.lock:
            self.box.add(data if isinstance(data, bytes) else data.encode())
            self.kept += 1
        return "250 2.0.0 kept"

    def _held(self) -> bool:
        try:
            return self.kept >= int((self.maildir / "hold").read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return False


@dataclass(frozen=True)
class Caught:
    """One e-mail the sink kept, as the page lists it."""

    subject: str
    to: str
    at: datetime | None
    kind: str
    text: str


class LocalSink:
    """An SMTP server on a free loopback port in this process, keeping mail in ``maildir``."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        self.maildir = maildir
        self.host = host
        self._controller = Controller(Keeper(maildir), hostname=host, port=free_port(host))
        self._controller.start()
        self.port = int(self._controller.port)

    @property
    def smtp_url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def stop(self) -> None:
        self._controller.stop()


def caught(maildir: Path, limit: int = 200, kind: str | None = None) -> list[Caught]:
    """The ``limit`` newest e-mails kept in ``maildir`` (by their Date; of ``kind`` when
    given), newest first. Only their Date and kind lines are read to choose them, and only
    those are parsed: the demo's history alone is e-mailed as ~1,500 messages, and parsing
    them all made the page take longer than a browser waits."""
    return caught_of(heads(maildir), maildir, limit, kind)


def kinds_caught(found: list[Head]) -> dict[str, int]:
    """How many e-mails of each kind were kept, by kind."""
    return dict(sorted(Counter(head.kind for head in found).items()))


def caught_of(
    found: list[Head], maildir: Path, limit: int = 200, kind: str | None = None
) -> list[Caught]:
    """The newest of the messages ``found`` (``heads``), parsed."""
    if not maildir.exists():
        return []
    box = mailbox.Maildir(maildir, create=False)
    parse = BytesParser(policy=policy.default)
    chosen = [head for head in found if kind is None or head.kind == kind]
    found_mail: list[Caught] = []
    for key in [head.key for head in heapq.nlargest(limit, chosen)]:
        try:
            with box.get_file(key) as raw:
                mail = parse.parsebytes(raw.read())
        except (FileNotFoundError, KeyError):
            continue  # removed meanwhile
        assert isinstance(mail, EmailMessage)
        body = mail.get_body(("plain",))
        try:
            at: datetime | None = parsedate_to_datetime(str(mail["Date"]))
        except (TypeError, ValueError):
            at = None
        found_mail.append(
            Caught(
                subject=str(mail["Subject"] or ""),
                to=str(mail["To"] or ""),
                at=at,
                kind=str(mail["X-Groundswell-Kind"] or ""),
                text=body.get_content() if isinstance(body, EmailMessage) else "",
            )
        )
    found_mail.sort(key=lambda c: c.at.timestamp() if c.at else 0.0, reverse=True)
    return found_mail[:limit]


DATE_LINE = re.compile(rb"^Date: *([^\r\n]+)", re.MULTILINE | re.IGNORECASE)
KIND_LINE = re.compile(rb"^X-Groundswell-Kind: *([^\r\n]+)", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Head:
    """What is read of a kept message to choose it: when it was dated, its key, its kind."""

    when: float
    key: str
    kind: str


def heads(maildir: Path) -> list[Head]:
    """Every kept message's Date and kind, read from its head only."""
    found: list[Head] = []
    for folder in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError), os.scandir(maildir / folder) as files:
            for entry in files:
                try:
                    with open(entry.path, "rb") as kept:
                        head = kept.read(4096).split(b"\r\n\r\n")[0].split(b"\n\n")[0]
                except FileNotFoundError:
                    continue  # read meanwhile
                dated, kind = DATE_LINE.search(head), KIND_LINE.search(head)
                try:
                    when = parsedate_to_datetime(dated[1].decode()).timestamp() if dated else 0.0
                except (TypeError, ValueError):
                    when = 0.0
                named = kind[1].decode(errors="replace").strip() if kind else ""
                found.append(Head(when, entry.name.split(":")[0], named))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maildir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    from aiosmtpd.controller import Controller

    controller = Controller(
        Keeper(args.maildir), hostname=args.host, port=args.port or free_port(args.host)
    )
    controller.start()
    print(f"{args.host}:{controller.port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
