"""A local SMTP server that keeps what it receives: for tests, and to see the demo's e-mails.

``python -m groundswell.delivery.sink --maildir DIR [--host 127.0.0.1] [--port 0]`` serves SMTP
(aiosmtpd, a development dependency) and stores each message it accepts in the Maildir ``DIR``;
it prints ``HOST:PORT`` on one line once it accepts connections. While a file named ``refuse``
exists in ``DIR`` it answers every message with ``451`` (try again later), so tests can make
the server fail without stopping it; a recipient named ``unknown@…`` is refused for good (550).
"""

from __future__ import annotations

import argparse
import mailbox
import signal
import sys
import threading
from pathlib import Path
from typing import Any


class Keeper:
    """aiosmtpd handler: keep each message in the Maildir, or refuse for now."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.box = mailbox.Maildir(maildir, create=True)
        self.lock = threading.Lock()

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
        data = envelope.original_content or envelope.content
        with self.lock:
            self.box.add(data if isinstance(data, bytes) else data.encode())
        return "250 2.0.0 kept"


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


def free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
