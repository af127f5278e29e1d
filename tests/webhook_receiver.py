"""A real HTTP receiver on loopback for the webhook tests, run as its own process.

``python -m tests.webhook_receiver DIR SECRET`` prints ``127.0.0.1:PORT`` once it listens. Each
POST is checked with the ``standardwebhooks`` library (not groundswell's code) and appended to
``DIR/received.jsonl`` (headers, body, whether the signature held). What it answers is what
``DIR/mode`` says: ``ok`` (204, the default), ``fail`` (500), ``gone`` (410), ``redirect`` (302),
``huge`` (200 with 1 MB), or ``hang`` (answers nothing for 30 s).
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
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                verifier.verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            with (directory / "received.jsonl").open("a") as log:
                record = {"headers": headers, "body": body.decode(), "verified": verified}
                log.write(json.dumps(record) + "\n")
            mode_file = directory / "mode"
            mode = mode_file.read_text().strip() if mode_file.exists() else "ok"
            if not verified:
                self.send_response(400)
                self.end_headers()
            elif mode == "hang":
                time.sleep(30)
            elif mode == "redirect":
                self.send_response(302)
                self.send_header("Location", "https://example.com/elsewhere")
                self.end_headers()
            elif mode == "huge":
                self.send_response(200)
                self.send_header("Content-Length", str(1 << 20))
                self.end_headers()
                self.wfile.write(b"x" * (1 << 20))
            else:
                self.send_response({"fail": 500, "gone": 410}.get(mode, 204))
                self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
