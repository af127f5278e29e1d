"""`make run` shows the e-mails the demo would send: `groundswell serve --demo` with no
GROUNDSWELL_SMTP_URL starts its own SMTP sink on loopback, delivers to it, and lists what it
caught on /web/mail (admins; with --demo, managers too), against a real served process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from groundswell.loopback import free_port
from groundswell.web.session import COOKIE

TOKEN = re.compile(r"^\s+(\w+)\s+(\S+)\s+Authorization: Bearer (\S+)\s*$")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@dataclass
class Served:
    url: str
    tokens: dict[str, str]  # printed role -> token
    printed: str
    data_dir: Path

    sessions: dict[str, str] = field(default_factory=dict)

    def session(self, role: str) -> str:
        """Sign in through the form with the printed token (once per role)."""
        if role not in self.sessions:
            form = urllib.parse.urlencode({"token": self.tokens[role]}).encode()
            asked = urllib.request.Request(
                self.url + "/web/sign-in", data=form, headers={"Origin": self.url}
            )
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(asked, timeout=30)
            except urllib.error.HTTPError as answer:
                cookie = SimpleCookie(answer.headers["set-cookie"])
                self.sessions[role] = cookie[COOKIE].value
        return self.sessions[role]

    def page(self, path: str, role: str) -> tuple[int, str]:
        asked = urllib.request.Request(
            self.url + path, headers={"Cookie": f"{COOKIE}={self.session(role)}"}
        )
        try:
            with urllib.request.urlopen(asked, timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.read().decode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("made-run")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "GROUNDSWELL_SMTP_URL")
    }
    env.update(GROUNDSWELL_DATA_DIR=str(data_dir), COLUMNS="250")
    command = [sys.executable, "-m", "groundswell", "serve", "--demo", "--port", str(port)]
    child = subprocess.Popen(
        command,
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any("try: curl" in line for line in lines):
            line = child.stdout.readline()
            assert line or child.poll() is None, "serve stopped:\n" + "".join(lines)
            assert time.monotonic() < deadline, "serve did not start:\n" + "".join(lines)
            lines.append(line)
        tokens = {m[1]: m[3] for m in map(TOKEN.match, lines) if m}
        while True:  # printed before it listens
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, "serve stopped"
                time.sleep(0.2)
        yield Served(f"http://127.0.0.1:{port}", tokens, "".join(lines), data_dir)
    finally:
        child.terminate()
        child.wait(30)


def test_make_run_says_where_to_see_the_emails_it_would_send(served: Served) -> None:
    assert f"e-mail {served.url}/web/mail (admins and managers)" in served.printed
    assert re.search(r"sink on smtp://127\.0\.0\.1:\d+", served.printed)


def test_the_sink_page_lists_the_demos_emails_to_its_manager_only(served: Served) -> None:
    deadline = time.monotonic() + 90
    while True:
        status, html = served.page("/web/mail", "manager")
        assert status == 200, html
        kinds = set(re.findall(r'href="/web/mail\?kind=(ideas|points|reminders)"', html))
        if kinds == {"ideas", "points", "reminders"}:
            break  # decisions, points and reminders e-mailed
        assert time.monotonic() < deadline, "not all e-mailed to the sink:\n" + html
        time.sleep(1)
    # The demo e-mails ~1,500 messages at once: the newest 200 are listed, and each kind apart.
    for kind in ("ideas", "points", "reminders"):
        status, of_kind = served.page(f"/web/mail?kind={kind}", "manager")
        assert status == 200, of_kind
        listed = re.findall(r"<td>([a-z]+)</td>\s*<th", of_kind)
        assert listed and set(listed) == {kind}, f"only {kind} e-mails when asked for them"
        assert 'aria-current="page">' + kind in of_kind
    decided = served.page("/web/mail?kind=ideas", "manager")[1]
    assert "was accepted" in decided
    assert 'class="mail-text"' in decided and "/web/ideas/" in decided, "the text, with its link"
    assert "<h1>Caught e-mail</h1>" in html
    assert re.search(r"<td>[a-z.]+@example\.com</td>", html), "to whom"
    assert "<time datetime=" in html, "when"
    assert 'class="mail-text"' in html, "the text"
    assert 'href="/web/mail"' in html, "linked from the pages"
    # Everyone's mail is on it: not for a contributor (nor is the link).
    status, refused = served.page("/web/mail", "contributor")
    assert status == 403 and "needs the admin or manager role" in refused
    _, home = served.page("/web/me", "contributor")
    assert 'href="/web/mail"' not in home
    # Kept in a Maildir beside the store.
    assert list((served.data_dir / "mail-sink" / "new").iterdir())


def test_the_page_lists_the_newest_by_date_however_many_were_kept(tmp_path: Path) -> None:
    import mailbox
    from email.message import EmailMessage

    from groundswell.delivery.sink import caught

    box = mailbox.Maildir(tmp_path / "mail", create=True)
    for n in range(5):
        mail = EmailMessage()
        mail["Subject"] = f"Mail {n}"
        mail["Date"] = f"Mon, 02 Mar 2026 09:0{4 - n}:00 +0000"  # kept late, written early
        box.add(mail.as_bytes())
    box.add(b"Subject: no date\r\n\r\nhello\r\n")

    assert [c.subject for c in caught(tmp_path / "mail", limit=2)] == ["Mail 0", "Mail 1"]
    listed = caught(tmp_path / "mail")
    assert len(listed) == 6 and listed[-1].subject == "no date"


def test_the_tests_read_kept_mail_in_the_order_kept_even_when_the_file_times_tie(
    tmp_path: Path,
) -> None:
    """A kernel without fine-grained file times gives each message kept in one clock tick
    the same modification time, and a directory lists its files in no order: the tests'
    reader must still say which came first (tests compare the order of a person's mail)."""
    import mailbox
    from email.message import EmailMessage

    from tests.smtp_support import Smtp

    box = mailbox.Maildir(tmp_path / "mail", create=True)
    for n in range(20):
        mail = EmailMessage()
        mail["To"], mail["Subject"] = "ann@example.com", f"Mail {n}"
        box.add(mail.as_bytes())
    for kept in (tmp_path / "mail" / "new").iterdir():
        os.utime(kept, ns=(1_000_000_000, 1_000_000_000))

    found = Smtp("127.0.0.1:1", tmp_path / "mail").received("example.com")
    assert [str(m["Subject"]) for m in found] == [f"Mail {n}" for n in range(20)]
