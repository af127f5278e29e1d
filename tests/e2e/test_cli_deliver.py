"""`groundswell deliver` and `groundswell delivery log` as a user runs them: real processes,
a real SMTP server on loopback, and a deliverer killed with SIGKILL in the middle of sending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from groundswell.bootstrap import build_engine
from groundswell.delivery.bootstrap import build_outbox
from groundswell.delivery.outbox import SENT
from groundswell.settings import Settings
from tests.scenario import AUTHOR, TEAMMATE, Scenario
from tests.smtp_support import OwnSmtp, Smtp, own_domain, shared_smtp
from tests.support import SteppingClock

ROOT = Path(__file__).resolve().parents[2]


def groundswell(data_dir: Path, smtp: Smtp | None, *args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GROUNDSWELL_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)
    env.pop("GROUNDSWELL_SMTP_URL", None)
    if smtp is not None:
        env["GROUNDSWELL_SMTP_URL"] = smtp.url
    return [sys.executable, "-m", "groundswell", *args], env  # type: ignore[return-value]


def run(data_dir: Path, smtp: Smtp | None, *args: str) -> subprocess.CompletedProcess[str]:
    command, env = groundswell(data_dir, smtp, *args)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def history(data_dir: Path, ideas: int) -> str:
    """``ideas`` rejected ideas, each told to its author and teammate: 2 × ``ideas`` e-mails."""
    engine = build_engine(Settings(data_dir=data_dir), clock=SteppingClock())
    story = Scenario(engine).with_cast()
    domain = own_domain()
    for handle in (AUTHOR, TEAMMATE):
        engine.change_email(handle, f"{handle}@{domain}")
    challenge = story.challenge()
    for n in range(ideas):
        story.idea(challenge, "rejected", title=f"Idea {n}", team=(TEAMMATE,))
    engine.close()
    return domain


def test_deliver_once_sends_what_is_due_and_the_log_shows_it(tmp_path: Path) -> None:
    smtp = shared_smtp()
    domain = history(tmp_path, 3)

    done = run(tmp_path, smtp, "deliver", "--once")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deliver: sent 6 e-mails"
    assert len(smtp.received(domain)) == 6
    log = run(tmp_path, None, "delivery", "log", "--person", AUTHOR, "--json")
    rows = [json.loads(line) for line in log.stdout.splitlines()]
    assert [r["state"] for r in rows] == [SENT] * 3
    assert all(r["tries"][0]["ok"] for r in rows)
    again = run(tmp_path, smtp, "deliver", "--once")
    assert again.stdout.strip() == "deliver: sent 0 e-mails"


def test_deliver_without_an_smtp_server_says_how_to_set_one(tmp_path: Path) -> None:
    refused = run(tmp_path, None, "deliver", "--once")
    assert refused.returncode != 0
    assert "GROUNDSWELL_SMTP_URL" in refused.stdout + refused.stderr


def test_a_deliverer_killed_under_load_loses_nothing_and_resends_at_most_its_claims(
    tmp_path: Path,
) -> None:
    # The server holds every message after its 30th, so the deliverer is killed with a batch
    # claimed and one message in flight, however fast or loaded the machine is.
    own = OwnSmtp(tmp_path / "mail")
    smtp = own.start()
    (tmp_path / "mail" / "hold").write_text("30")
    domain = history(tmp_path, 100)
    batch = 10
    command, env = groundswell(tmp_path, smtp, "deliver", "--batch", str(batch), "--lease", "2")
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(smtp.received(domain)) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the 31st message is waiting for the server's answer
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    at_kill = len(smtp.received(domain))
    assert at_kill == 30, "killed in the middle of sending"
    (tmp_path / "mail" / "hold").unlink()

    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        outbox = build_outbox(Settings(data_dir=tmp_path))
        deadline = time.monotonic() + 60
        while len(outbox.messages(state=SENT)) < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        sent = outbox.messages(state=SENT)
        outbox.close()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
        own.stop()

    assert len(sent) == 200, "every message was sent"
    mails = smtp.received(domain)
    ids = [str(m["Message-ID"]) for m in mails]
    assert {f"<{m.message_id}@localhost>" for m in sent} == set(ids), "none lost"
    assert len(ids) - len(set(ids)) <= batch, "resent at most what was claimed when killed"


def test_webhooks_are_registered_listed_and_refused_with_a_reason(tmp_path: Path) -> None:
    refused = run(tmp_path, None, "delivery", "webhook-add", "http://hooks.example.com/x")
    assert refused.returncode == 1
    assert "https only" in refused.stderr and "hooks.example.com is not loopback" in refused.stderr

    added = run(
        tmp_path,
        None,
        "delivery",
        "webhook-add",
        "https://hooks.example.com/x",
        "--type",
        "slack",
        "--kind",
        "ideas",
    )
    assert added.returncode == 0, added.stderr
    assert "secret (shown once): whsec_" in added.stdout
    listed = run(tmp_path, None, "delivery", "webhooks")
    assert "slack" in listed.stdout and "https://hooks.example.com/x  (ideas)" in listed.stdout
    assert "whsec_" not in listed.stdout

    missing = run(tmp_path, None, "delivery", "redeliver", "no-such-message")
    assert missing.returncode == 1 and "no parked message" in missing.stderr


def test_people_get_an_address_on_the_command_line(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        None,
        "people",
        "add",
        "dan",
        "--name",
        "Dan",
        "--department",
        "IT",
        "--email",
        "Dan@Example.org",
    )
    assert added.returncode == 0, added.stderr
    assert "Dan@example.org" in run(tmp_path, None, "people", "show", "dan").stdout

    refused = run(tmp_path, None, "people", "email", "dan", "dan@")
    assert refused.returncode == 1 and "is not an e-mail address" in refused.stderr
    cleared = run(tmp_path, None, "people", "email", "dan", "--clear")
    assert cleared.returncode == 0, cleared.stderr
    engine = build_engine(Settings(data_dir=tmp_path))
    assert engine.person("dan").email is None
    engine.close()
