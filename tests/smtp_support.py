"""A real SMTP server on loopback for the e-mail tests (groundswell.delivery.sink, aiosmtpd).

``shared_smtp()`` is the one scripts/with-services started (GROUNDSWELL_TEST_SMTP and
GROUNDSWELL_TEST_MAILDIR); tests tell their messages apart by a recipient domain of their own.
``OwnSmtp`` starts a server process for one test, which it may stop and start again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Smtp:
    address: str
    maildir: Path

    @property
    def url(self) -> str:
        return f"smtp://{self.address}"

    def received(self, domain: str | None = None) -> list[EmailMessage]:
        """Every message kept so far (sent to ``domain``, when given), oldest first."""
        kept = self.maildir / "new"
        if not kept.exists():
            return []
        found = []
        for path in kept.iterdir():
            parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(parsed, EmailMessage)
            found.append((arrival(path), parsed))
        found.sort(key=lambda pair: pair[0])
        mails = [mail for _, mail in found]
        return [m for m in mails if domain is None or str(m["To"]).endswith("@" + domain)]


# The name Python's mailbox.Maildir gives a kept message: its time to the microsecond, the
# process, and that process's count of messages so far.
MAILDIR_NAME = re.compile(r"^(\d+)\.M(\d+)P\d+Q(\d+)\.")


def arrival(path: Path) -> tuple[int, ...]:
    """When the sink kept the message at ``path``, to sort by. Its modification time alone
    may tie: a kernel without fine-grained file times gives every file written in one
    clock tick (up to 10 ms) the same, and directories list in no order. The sink writes
    one message at a time, so the time and count in the name settle a tie."""
    named = MAILDIR_NAME.match(path.name)
    return (path.stat().st_mtime_ns, *(int(part) for part in (named.groups() if named else ())))


def shared_smtp() -> Smtp:
    """The SMTP server scripts/with-services started: skipped without one, failed under CI."""
    address, maildir = (
        os.environ.get("GROUNDSWELL_TEST_SMTP"),
        os.environ.get("GROUNDSWELL_TEST_MAILDIR"),
    )
    if address and maildir:
        return Smtp(address, Path(maildir))
    if os.environ.get("CI") == "true":
        pytest.fail(
            "GROUNDSWELL_TEST_SMTP is not set under CI=true; run through scripts/with-services."
        )
    pytest.skip("GROUNDSWELL_TEST_SMTP not set (scripts/with-services starts scripts/smtp-local)")


def own_domain() -> str:
    """A recipient domain no other test uses, to find this test's messages on a shared server."""
    return f"t{uuid.uuid4().hex[:10]}.example.com"


class OwnSmtp:
    """An SMTP server process of this test's own, on a port that stays the same across restarts."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.port = 0
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Smtp:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "groundswell.delivery.sink",
                "--maildir",
                str(self.maildir),
                "--port",
                str(self.port),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None
        address = self.process.stdout.readline().strip()
        assert address, "the SMTP sink did not start"
        self.port = int(address.rpartition(":")[2])
        return Smtp(address, self.maildir)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        time.sleep(0.05)
