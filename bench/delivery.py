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
HTTP connection for the webhooks (the same bodies; signed beforehand). The two take turns
over ten slices of the messages, so that a machine shared with other work slows both alike.
Target: the deliverer at >= 0.7 of each bare loop.
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
from collections.abc import Callable
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
SLICES = 10
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


def alternated(
    n: int,
    bare: Callable[[slice], None],
    deliver: Callable[[slice], None],
    prepare: Callable[[slice], None],
) -> tuple[float, float]:
    """Seconds for the bare loop and for the deliverer over the same n messages, in slices
    taken in turn (bare first, then deliverer first), so that what else the machine does
    during the run weighs on both alike; ``prepare`` (untimed) readies a slice."""
    seconds = [0.0, 0.0]
    step = -(-n // SLICES)
    for number, start in enumerate(range(0, n, step)):
        part = slice(start, start + step)
        prepare(part)
        order = [(0, bare), (1, deliver)]
        for which, send in order if number % 2 == 0 else order[::-1]:
            began = time.perf_counter()
            send(part)
            seconds[which] += time.perf_counter() - began
    return seconds[0], seconds[1]


def all_sent(outbox: SQLiteOutbox, sent: list[Message]) -> None:
    done = {m.message_id for m in outbox.messages(state=SENT)}
    assert all(m.message_id in done for m in sent), "not all sent"


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

    # E-mail: the bare loop sends the same messages, composed beforehand.
    mails = messages(n, EMAIL, at)
    raw = [(m.address or "", compose(m, head)) for m in mails]
    host, port = smtp_at.rsplit(":", 1)

    def bare_smtp(part: slice) -> None:
        with smtplib.SMTP(host, int(port)) as bare:
            for to, data in raw[part]:
                bare.sendmail(SENDER, [to], data)

    def drain(part: slice) -> None:
        deliverer().drain(rounds=10_000_000)

    # Each slice is added to the outbox untimed, as derived from the log; the bare loops'
    # messages were composed untimed too.
    bare_smtp_s, deliver_smtp_s = alternated(
        n, bare_smtp, drain, lambda part: outbox.add(mails[part], 0)
    )
    all_sent(outbox, mails)

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

    def bare_http(part: slice) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", hook_port, timeout=10)
        for data, headers in requests[part]:
            connection.request("POST", "/hook", body=data, headers=headers)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 204
        connection.close()

    bare_http_s, deliver_http_s = alternated(
        n, bare_http, drain, lambda part: outbox.add(hooks[part], 0)
    )
    all_sent(outbox, hooks)
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
