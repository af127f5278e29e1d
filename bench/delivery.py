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
HTTP connection for the webhooks (the same bodies; signed beforehand). The deliverer runs as
configured (``LANES`` connections side by side, each person's e-mails and each subject's
webhooks in order through one), and once more with one lane, whose ratio is the deliverer's
own cost per message (its claim, composing or signing, and recording). The three take turns
over ten slices of the messages, so that a machine shared with other work slows all alike.
Target: the deliverer at >= 0.7 of each bare loop. Last, 200 webhooks to a receiver that
answers after 20 ms, as one across a network does, with one lane and with ``LANES``.
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
from groundswell.delivery.deliverer import LANES, Deliverer
from groundswell.delivery.derive import EMAIL, WEBHOOK, Deriver, message_id
from groundswell.delivery.mail import Letterhead, SmtpServer, compose, page_of
from groundswell.delivery.outbox import PENDING, SENT, Message, SQLiteOutbox, stamp

TARGET_RATIO = 0.7
FAR_SECONDS, FAR_MESSAGES = 0.02, 200  # a receiver 20 ms away
Prepare = Callable[[slice], None] | None
SLICES = 10
SENDER = "Groundswell <ideas@groundswell.example>"
BASE = "http://127.0.0.1:8000"


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as receivers in the field do
    delay = 0.0  # seconds before answering: a receiver across a network

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.delay:
            time.sleep(self.delay)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def serve_hooks(delay: float) -> None:
    Hook.delay = delay
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
    n: int, contestants: list[tuple[Callable[[slice], None], Prepare]]
) -> tuple[list[float], list[float]]:
    """Seconds each contestant took over the same n messages, and the CPU seconds this
    process spent meanwhile, in slices taken in turn (the order rotating from slice to
    slice), so that what else the machine does during the run weighs on all alike; a
    contestant's ``prepare`` (untimed) readies its slice."""
    seconds, cpu = [0.0] * len(contestants), [0.0] * len(contestants)
    step = -(-n // SLICES)
    for number, start in enumerate(range(0, n, step)):
        part = slice(start, start + step)
        turn = number % len(contestants)
        for which in [*range(turn, len(contestants)), *range(turn)]:
            send, prepare = contestants[which]
            if prepare is not None:
                prepare(part)
            began, began_cpu = time.perf_counter(), time.process_time()
            send(part)
            seconds[which] += time.perf_counter() - began
            cpu[which] += time.process_time() - began_cpu
    return seconds, cpu


def all_sent(outbox: SQLiteOutbox, sent: list[Message]) -> None:
    done = {m.message_id for m in outbox.messages(state=SENT)}
    assert all(m.message_id in done for m in sent), "not all sent"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--serve-hooks", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hooks is not None:
        serve_hooks(args.serve_hooks)
        return
    n = args.messages
    work = Path(tempfile.mkdtemp(prefix="groundswell-bench-delivery-"))
    sink, smtp_at = started(
        [sys.executable, "-m", "groundswell.delivery.sink", "--maildir", str(work / "mail")]
    )
    receiver, hook_port = started([sys.executable, "-m", "bench.delivery", "--serve-hooks", "0"])
    far, far_port = started(
        [sys.executable, "-m", "bench.delivery", "--serve-hooks", str(FAR_SECONDS)]
    )
    try:
        result = run(n, work, smtp_at, int(hook_port))
        result |= far_away(work, int(far_port))
    finally:
        for child in (sink, receiver, far):
            child.terminate()
            child.wait(30)
    print(json.dumps(result))


def far_away(work: Path, port: int, n: int = FAR_MESSAGES) -> dict[str, object]:
    """Webhooks to a receiver that answers after ``FAR_SECONDS``, as one across a network
    does: the round trip sets the pace, one lane against ``LANES``."""
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    engine = build_engine(Settings(data_dir=work / "far-store", database_url=None))
    outbox = SQLiteOutbox(work / "far.sqlite")
    head = Letterhead(SENDER, BASE, outbox.secret())
    now = datetime.now(tz=UTC)
    at = stamp(now)
    url = f"http://127.0.0.1:{port}/hook"
    outbox.add_endpoint(webhooks.Endpoint("far", url, "cloudevents", [], "whsec_" + "A" * 32, at))
    server = SmtpServer.from_url("smtp://127.0.0.1:1")  # no e-mail in this part
    rates = {}
    for lanes in (1, LANES):
        outbox.add(messages(n, f"{WEBHOOK}:far", at), 0)
        deliverer = Deliverer(
            outbox, Deriver(engine, outbox, lambda: now), server, head, lambda: now, lanes=lanes
        )
        began = time.perf_counter()
        sent = deliverer.drain(10_000_000)
        rates[lanes] = sent / (time.perf_counter() - began)
        assert sent == n, f"{sent} of {n} sent"
    outbox.close()
    engine.close()
    print(
        f"webhooks to a receiver answering after {FAR_SECONDS * 1000:.0f} ms ({n} messages):"
        f" one lane {rates[1]:,.0f}/s, {LANES} lanes {rates[LANES]:,.0f}/s"
    )
    return {"far_one_lane_per_s": round(rates[1]), "far_lanes_per_s": round(rates[LANES])}


def run(n: int, work: Path, smtp_at: str, hook_port: int) -> dict[str, object]:
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    engine = build_engine(Settings(data_dir=work / "store", database_url=None))
    outbox = SQLiteOutbox(work / "delivery.sqlite")
    head = Letterhead(SENDER, BASE, outbox.secret())
    now = datetime.now(tz=UTC)
    at = stamp(now)
    server = SmtpServer.from_url(f"smtp://{smtp_at}")

    def drain(lanes: int) -> Callable[[slice], None]:
        def drained(part: slice) -> None:
            deriver = Deriver(engine, outbox, lambda: now)
            Deliverer(outbox, deriver, server, head, lambda: now, lanes=lanes).drain(10_000_000)

        return drained

    def added(batch: list[Message]) -> Callable[[slice], None]:
        return lambda part: outbox.add(batch[part], 0)

    # E-mail: the bare loop sends the same messages, composed beforehand. Each deliverer's
    # slice is added to the outbox untimed, as derived from the log (the serial deliverer's
    # are copies with ids of their own).
    mails, serial_mails = messages(n, EMAIL, at), messages(n, EMAIL, at)
    raw = [(m.address or "", compose(m, head)) for m in mails]
    host, port = smtp_at.rsplit(":", 1)

    def bare_smtp(part: slice) -> None:
        with smtplib.SMTP(host, int(port)) as bare:
            for to, data in raw[part]:
                bare.sendmail(SENDER, [to], data)

    smtp_s, smtp_cpu = alternated(
        n,
        [
            (bare_smtp, None),
            (drain(LANES), added(mails)),
            (drain(1), added(serial_mails)),
        ],
    )
    all_sent(outbox, mails + serial_mails)

    # Webhooks: the same, against a receiver answering 204.
    endpoint = webhooks.Endpoint(
        "bench", f"http://127.0.0.1:{hook_port}/hook", "cloudevents", [], webhooks.new_secret(), at
    )
    outbox.add_endpoint(endpoint)
    hooks, serial_hooks = (messages(n, f"{WEBHOOK}:bench", at) for _ in range(2))
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

    http_s, http_cpu = alternated(
        n,
        [
            (bare_http, None),
            (drain(LANES), added(hooks)),
            (drain(1), added(serial_hooks)),
        ],
    )
    all_sent(outbox, hooks + serial_hooks)
    outbox.close()
    engine.close()

    rates = {
        "deliverer_email_per_s": n / smtp_s[1],
        "deliverer_email_one_lane_per_s": n / smtp_s[2],
        "bare_smtplib_per_s": n / smtp_s[0],
        "deliverer_webhooks_per_s": n / http_s[1],
        "deliverer_webhooks_one_lane_per_s": n / http_s[2],
        "bare_http_per_s": n / http_s[0],
    }
    ratios = {
        "email_ratio": smtp_s[0] / smtp_s[1],
        "email_one_lane_ratio": smtp_s[0] / smtp_s[2],
        "webhook_ratio": http_s[0] / http_s[1],
        "webhook_one_lane_ratio": http_s[0] / http_s[2],
    }
    # The sender's own CPU per message (this process; the servers run in their own): what
    # the machine's other work does not stretch.
    cpu_us = {
        f"{key}_{who}_cpu_us": spent[which] / n * 1e6
        for key, spent in (("email", smtp_cpu), ("webhook", http_cpu))
        for which, who in enumerate(("bare", "deliverer", "one_lane"))
    }
    for label, key, bare in (("e-mail", "email", "smtplib"), ("webhooks", "webhook", "http")):
        name = "webhooks" if key == "webhook" else key
        print(
            f"{label:9}: deliverer ({LANES} lanes) {rates[f'deliverer_{name}_per_s']:>7,.0f}/s"
            f"  one lane {rates[f'deliverer_{name}_one_lane_per_s']:>7,.0f}/s"
            f"  bare {bare} loop {rates[f'bare_{bare}_per_s']:>7,.0f}/s"
            f"  ratio {ratios[f'{key}_ratio']:.2f} (one lane {ratios[f'{key}_one_lane_ratio']:.2f};"
            f" target >= {TARGET_RATIO})"
        )
        print(
            f"{'':9}  CPU per message in the sender: bare {cpu_us[f'{key}_bare_cpu_us']:.0f} µs,"
            f" deliverer {cpu_us[f'{key}_deliverer_cpu_us']:.0f} µs,"
            f" one lane {cpu_us[f'{key}_one_lane_cpu_us']:.0f} µs"
        )
    return {
        "messages": n,
        "lanes": LANES,
        **{k: round(v) for k, v in rates.items()},
        **{k: round(v, 3) for k, v in ratios.items()},
        **{k: round(v) for k, v in cpu_us.items()},
        "target_ratio": TARGET_RATIO,
        "pass": ratios["email_ratio"] >= TARGET_RATIO and ratios["webhook_ratio"] >= TARGET_RATIO,
    }


if __name__ == "__main__":
    main()
