"""Deliver N e-mails to a local SMTP server and N webhooks to a local receiver, against a bare
smtplib loop and a bare HTTP client loop over the same messages, in the same run.

    python -m bench.delivery [--messages 10000]

The SMTP server is the project's sink (aiosmtpd, ``groundswell.delivery.sink``) and the
receiver a small threaded ``http.server`` answering 204 (HTTP/1.1, keeping connections
alive), each in its own process on loopback. The deliverer's path is the whole of it: derive,
claim a batch from the outbox (SQLite), compose (templates, headers, unsubscribe token) or
sign (Standard Webhooks), send, and record each attempt and state. The bare loops send the
very same messages, composed and serialised beforehand, over one connection: ``sendmail``
per message on one SMTP connection (the same bytes the deliverer sends), and one keep-alive
HTTP connection for the webhooks (the same bodies; signed beforehand). Target: the deliverer
at >= 0.7 of each bare loop.
"""

from __future__ import annotations

import argparse
import http.client
import json
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from uuid import uuid4

from groundswell.delivery import webhooks
from groundswell.delivery.deliverer import Deliverer
from groundswell.delivery.derive import EMAIL, WEBHOOK, Deriver, message_id
from groundswell.delivery.mail import Letterhead, SmtpServer, compose, page_of
from groundswell.delivery.outbox import PENDING, SENT, Message, SQLiteOutbox, stamp

TARGET_RATIO = 0.7
SENDER = "Groundswell <ideas@groundswell.example>"
BASE = "http://127.0.0.1:8000"


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as receivers in the field do

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve_hooks() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def started(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    return child, child.stdout.readline().strip()


def messages(count: int, channel: str, at: str) -> list[Message]:
    made = []
    for n in range(count):
        event_id = str(uuid4())
        handle = f"person{n % 500}"
        notice = {
            "to": [handle],
            "at": at,
            "event_id": event_id,
            "subject_kind": "idea",
            "subject_id": str(uuid4()),
            "challenge_id": str(uuid4()),
            "text": f"“Quick-release clamps no. {n}” was accepted: Worth a pilot on line 3.",
            "points": None,
        }
        recipient = handle if channel == EMAIL else channel
        address = f"{handle}@example.com" if channel == EMAIL else "hook"
        made.append(
            Message(
                message_id(event_id, handle, channel), channel, recipient, address, event_id,
                "ideas", at, notice, PENDING, 0, at, None, None,
            )
        )  # fmt: skip
    return made


def timed_drain(deliverer: Deliverer, outbox: SQLiteOutbox, count: int) -> float:
    began = time.perf_counter()
    deliverer.drain(rounds=10_000_000)
    seconds = time.perf_counter() - began
    sent = len(outbox.messages(state=SENT))
    assert sent >= count, f"only {sent} of {count} sent"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--serve-hooks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hooks:
        serve_hooks()
        return
    n = args.messages
    work = Path(tempfile.mkdtemp(prefix="groundswell-bench-delivery-"))
    sink, smtp_at = started(
        [sys.executable, "-m", "groundswell.delivery.sink", "--maildir", str(work / "mail")]
    )
    receiver, hook_port = started([sys.executable, "-m", "bench.delivery", "--serve-hooks"])
    try:
        result = run(n, work, smtp_at, int(hook_port))
    finally:
        for child in (sink, receiver):
            child.terminate()
            child.wait(30)
    print(json.dumps(result))


def run(n: int, work: Path, smtp_at: str, hook_port: int) -> dict[str, object]:
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    engine = build_engine(Settings(data_dir=work / "store", database_url=None))
    outbox = SQLiteOutbox(work / "delivery.sqlite")
    head = Letterhead(SENDER, BASE, outbox.secret())
    now = datetime.now(tz=UTC)
    at = stamp(now)
    server = SmtpServer.from_url(f"smtp://{smtp_at}")

    def deliverer() -> Deliverer:
        return Deliverer(outbox, Deriver(engine, outbox, lambda: now), server, head, lambda: now)

    # E-mail: the bare loop first, over the same messages composed beforehand.
    mails = messages(n, EMAIL, at)
    raw = [(m.address or "", compose(m, head)) for m in mails]
    host, port = smtp_at.rsplit(":", 1)
    began = time.perf_counter()
    with smtplib.SMTP(host, int(port)) as bare:
        for to, data in raw:
            bare.sendmail(SENDER, [to], data)
    bare_smtp_s = time.perf_counter() - began
    outbox.add(mails, 0)
    deliver_smtp_s = timed_drain(deliverer(), outbox, n)

    # Webhooks: the same, against a receiver answering 204.
    endpoint = webhooks.Endpoint(
        "bench", f"http://127.0.0.1:{hook_port}/hook", "cloudevents", [], webhooks.new_secret(), at
    )
    outbox.add_endpoint(endpoint)
    hooks = messages(n, f"{WEBHOOK}:bench", at)
    requests = []
    for m in hooks:
        body = webhooks.payload(endpoint, m, BASE, BASE + page_of(m.notice))
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        stamped = int(time.time())
        requests.append(
            (
                data,
                {
                    "Content-Type": "application/cloudevents+json",
                    "User-Agent": "groundswell-webhooks",
                    "webhook-id": m.message_id,
                    "webhook-timestamp": str(stamped),
                    "webhook-signature": webhooks.signature(
                        endpoint.secret, m.message_id, stamped, data
                    ),
                },
            )
        )
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", hook_port, timeout=10)
    for data, headers in requests:
        connection.request("POST", "/hook", body=data, headers=headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 204
    connection.close()
    bare_http_s = time.perf_counter() - began
    outbox.add(hooks, 0)
    deliver_http_s = timed_drain(deliverer(), outbox, 2 * n)
    outbox.close()
    engine.close()

    rates = {
        "deliverer_email_per_s": n / deliver_smtp_s,
        "bare_smtplib_per_s": n / bare_smtp_s,
        "deliverer_webhooks_per_s": n / deliver_http_s,
        "bare_http_per_s": n / bare_http_s,
    }
    email_ratio = rates["deliverer_email_per_s"] / rates["bare_smtplib_per_s"]
    hook_ratio = rates["deliverer_webhooks_per_s"] / rates["bare_http_per_s"]
    print(
        f"e-mail   : deliverer {rates['deliverer_email_per_s']:>8,.0f}/s  bare smtplib "
        f"{rates['bare_smtplib_per_s']:>8,.0f}/s  ratio {email_ratio:.2f} "
        f"(target >= {TARGET_RATIO})"
    )
    print(
        f"webhooks : deliverer {rates['deliverer_webhooks_per_s']:>8,.0f}/s  bare http.client "
        f"{rates['bare_http_per_s']:>8,.0f}/s  ratio {hook_ratio:.2f} (target >= {TARGET_RATIO})"
    )
    return {
        "messages": n,
        **{k: round(v) for k, v in rates.items()},
        "email_ratio": round(email_ratio, 3),
        "webhook_ratio": round(hook_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "pass": email_ratio >= TARGET_RATIO and hook_ratio >= TARGET_RATIO,
    }


if __name__ == "__main__":
    main()
