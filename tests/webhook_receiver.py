"""A real HTTP receiver on loopback for the webhook tests, run as its own process.

``python -m tests.webhook_receiver DIR SECRET`` prints ``127.0.0.1:PORT`` once it listens. Each
POST is checked with the ``standardwebhooks`` library (not groundswell's code) and appended to
``DIR/received.jsonl`` (headers, body, whether the signature held, the sender's port). It
speaks HTTP/1.1 and keeps connections alive, as receivers in the field do. What it answers is
what ``DIR/mode`` says: ``ok`` (204, the default), ``fail`` (500), ``gone`` (410), ``redirect``
(302), ``huge`` (200 with 1 MB), ``hang`` (answers nothing for 30 s), or ``drop`` (204, then
closes the connection without saying so, as a server closing idle connections does).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> int:
    directory, secret = Path(sys.argv[1]), sys.argv[2]
    directory.mkdir(parents=True, exist_ok=True)
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verifier.verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            with (directory / "received.jsonl").open("a") as log:
                record = {
                    "headers": headers,
                    "body": body.decode(),
                    "verified": verified,
                    "port": self.client_address[1],
                }
                log.write(json.dumps(record) + "\n")
            mode_file = directory / "mode"
            mode = mode_file.read_text().strip() if mode_file.exists() else "ok"
            if not verified:
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "hang":
                time.sleep(30)
                self.close_connection = True
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "https://example.com/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 20))
                self.end_headers()
                self.wfile.write(b"x" * (1 << 20))
            else:
                status = {"fail": 500, "gone": 410}.get(mode, 204)
                self.send_response(status)
                if status != 204:
                    self.send_header("Content-Length", "0")
                self.end_headers()
                self.close_connection = mode == "drop"

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
