"""The engine's processes as a supervisor runs them: the API, the relay, the projectors.

Each is the real CLI (``python -m groundswell ...``) in a session of its own, logging to a
file. The soak SIGKILLs them on purpose; a process that ends on its own is an incident:
it is written down with its exit status and last log lines, and started again as a
restart policy (docker-compose's ``restart: unless-stopped``) would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.soak.services import ROOT
from groundswell.loopback import free_port


@dataclass(frozen=True)
class Exit:
    """A process that ended without being told to."""

    service: str
    at: float  # seconds since the soak started
    status: int | None
    last_lines: str


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    down_on_purpose: bool = False
    restart_due: float | None = None
    delay: float = 1.0  # the supervisor's backoff, doubled on each exit in a row
    started_at: float = 0.0

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts + 1} at {time.strftime('%X')} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if time.monotonic() - self.started_at > 60:
            self.delay = 1.0  # it stayed up a while: the next exit is a fresh incident
        self.started_at = time.monotonic()
        self.starts += 1
        self.down_on_purpose = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as the fault: no clean-up, no goodbye to Kafka."""
        self.down_on_purpose = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (each process finishes its batch), then SIGKILL."""
        self.down_on_purpose = True
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def this_start(self) -> str:
        """What the process logged since it was last started."""
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").rsplit("\n--- start ", 1)[-1]
        return ""

    def tail(self, lines: int = 6) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Processes:
    """The three kinds of process, started from the same settings."""

    api: Service
    relay: Service
    projector: Service
    port: int
    exits: list[Exit] = field(default_factory=list)

    @classmethod
    def build(
        cls, database_url: str, servers: str, topic: str, group: str, port: int, logs: Path
    ) -> Processes:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": servers,
            "GROUNDSWELL_TOPIC": topic,
            "PYTHONUNBUFFERED": "1",
            # The soak's clients write as fast as they can: a 429 would be a refusal it
            # does not expect, so the served engine's rate limits are off, explicitly.
            "GROUNDSWELL_WRITE_LIMIT": "off",
            "GROUNDSWELL_SIGN_IN_FAILURE_LIMIT": "off",
        }
        cli = [sys.executable, "-m", "groundswell"]
        serve = [*cli, "serve", "--no-relay", "--no-projectors", "--port", str(port)]
        # A stable instance id: a restarted projector takes its partitions back at once.
        project = [*cli, "project", "all", "--group-id", group, "--instance-id", group]
        return cls(
            Service("api", serve, env, logs / "api.log"),
            Service("relay", [*cli, "relay"], env, logs / "relay.log"),
            Service("projector", project, env, logs / "projector.log"),
            port,
        )

    @property
    def services(self) -> list[Service]:
        return [self.api, self.relay, self.projector]

    def start(self) -> None:
        """Start all three and wait for the API. Before the soak begins (no clients yet, no
        supervisor running): a process that ends meanwhile is noted and started again, and
        an API that could not listen on its probed port, which another process took
        first, listens on another."""
        for service in self.services:
            service.start()
        self.wait_api(starting=True)

    def wait_api(self, timeout: float = 60.0, starting: bool = False) -> float:
        """Until /healthz answers; returns how long that took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            if starting:
                ended = not self.api.alive() and self.api.restart_due is None
                if ended and "address already in use" in self.api.this_start():
                    self.move_api()  # once per exit: supervise now sets its restart
                self.supervise(0.0)
            time.sleep(0.1)
        exits = "".join(f"\n{e.service} ended ({e.status}):\n{e.last_lines}" for e in self.exits)
        raise RuntimeError(
            f"the API did not answer /healthz within {timeout:.0f} s; its log ends:\n"
            f"{self.api.tail(20)}{exits}"
        )

    def move_api(self) -> None:
        self.port = free_port()
        argv = self.api.argv
        argv[argv.index("--port") + 1] = str(self.port)

    def supervise(self, now: float) -> None:
        """Note and restart (after a backoff) any process that ended on its own."""
        for service in self.services:
            if service.down_on_purpose or service.process is None:
                continue
            status = service.process.poll()
            if status is None:
                continue
            if service.restart_due is None:
                self.exits.append(Exit(service.name, now, status, service.tail()))
                service.restart_due = time.monotonic() + service.delay
                service.delay = min(service.delay * 2, 15.0)
            elif time.monotonic() >= service.restart_due:
                service.restart_due = None
                service.start()

    def stop(self) -> dict[str, int | None]:
        return {service.name: service.stop() for service in self.services}
