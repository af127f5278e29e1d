"""The servers the soak leans on and how it brings them down: a database of its own,
PostgreSQL restarts, a Kafka broker it may stop.

A fault the soak cannot inject honestly (a server it does not manage) is skipped with the
reason, never pretended.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parents[2]
KAFKA_LOCAL = ROOT / "scripts" / "kafka-local"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
DEFAULT_CLUSTER = "15/main"  # the cluster scripts/postgres-local runs


@contextlib.contextmanager
def fresh_database(url: str, keep: bool = False) -> Iterator[str]:
    """A database of its own on the server of ``url`` (the role needs CREATEDB), dropped
    afterwards. The CLI processes take no schema setting, so a schema would not do."""
    name = f"soak_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parsed = urlparse(url)
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class PostgresControl:
    """Restarts the PostgreSQL server behind DATABASE_URL, or says why it cannot.

    ``SOAK_PG_RESTART`` (a shell command) wins; else ``SOAK_PG_CLUSTER`` (VERSION/NAME,
    default 15/main) is restarted with pg_ctlcluster, but only if DATABASE_URL points at
    that cluster's port on this machine.
    """

    command: list[str] | None
    skip_reason: str | None
    describe: str

    @classmethod
    def for_url(cls, url: str, mode: str = "fast") -> PostgresControl:
        custom = os.environ.get("SOAK_PG_RESTART")
        if custom:
            return cls(["sh", "-c", custom], None, f"SOAK_PG_RESTART ({custom})")
        cluster = os.environ.get("SOAK_PG_CLUSTER", DEFAULT_CLUSTER)
        version, _, name = cluster.partition("/")
        parsed = urlparse(url)
        port = cluster_port(version, name)
        if port is None:
            return cls(None, f"no PostgreSQL cluster {cluster} here (pg_lsclusters)", cluster)
        if parsed.hostname not in LOCAL_HOSTS or (parsed.port or 5432) != port:
            reason = (
                f"DATABASE_URL is {parsed.hostname}:{parsed.port or 5432}, not cluster "
                f"{cluster} (port {port}); set SOAK_PG_CLUSTER or SOAK_PG_RESTART"
            )
            return cls(None, reason, cluster)
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", mode, version, name]
        return cls([*command, "restart"], None, f"cluster {cluster} (-m {mode})")

    def restart(self) -> None:
        assert self.command is not None, self.skip_reason
        done = subprocess.run(self.command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{shlex.join(self.command)} failed: {done.stderr.strip()}")


def cluster_port(version: str, name: str) -> int | None:
    try:
        listed = subprocess.run(
            ["pg_lsclusters", "-h"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listed.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == version and fields[1] == name:
            return int(fields[2])
    return None


class Broker:
    """A Kafka broker run by scripts/kafka-local from a state dir: one the soak may stop
    for an outage and start again on the same port and data."""

    def __init__(self, state_dir: Path | None, servers: str | None, owned: bool) -> None:
        self.state_dir, self.servers, self.owned = state_dir, servers, owned
        self.skip_reason: str | None = None
        if state_dir is None:
            self.skip_reason = (
                f"the broker at {servers} is not one scripts/kafka-local runs for us "
                "(set KAFKA_LOCAL_STATE_DIR to its state dir); it was not stopped"
            )

    @classmethod
    def from_environment(cls) -> Broker:
        """KAFKA_BOOTSTRAP_SERVERS with KAFKA_LOCAL_STATE_DIR: that broker (make soak);
        neither: a private broker in a temporary state dir, removed afterwards; servers
        alone: used, but never stopped."""
        servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        state = os.environ.get("KAFKA_LOCAL_STATE_DIR")
        if not servers:
            return cls(Path(tempfile.mkdtemp(prefix="soak-kafka-")), None, owned=True)
        broker = cls(Path(state) if state else None, servers, owned=False)
        if broker.state_dir is not None:
            try:
                running = broker._run("status")
            except RuntimeError:
                running = ""
            if not running.startswith(f"running: {servers} "):
                broker.state_dir = None
                broker.skip_reason = (
                    f"the broker at {servers} is not the one kafka-local runs from "
                    f"{state}; it was not stopped"
                )
        return broker

    def _run(self, *args: str) -> str:
        assert self.state_dir is not None
        env = {**os.environ, "KAFKA_LOCAL_STATE_DIR": str(self.state_dir)}
        done = subprocess.run(
            [str(KAFKA_LOCAL), *args], env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"kafka-local {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def start(self) -> str:
        """Start (or find) the broker; the same address after an outage."""
        servers = self._run("start")
        if self.servers and servers != self.servers:
            raise RuntimeError(f"the broker came back on {servers}, not {self.servers}")
        self.servers = servers
        return servers

    def stop(self) -> None:
        self._run("stop", "--keep-data")

    def close(self) -> None:
        """Remove a broker the soak started itself."""
        if self.owned and self.state_dir is not None:
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self._run("stop")
