"""The faults, at random moments, one after another, and how long each took to heal.

Kinds: SIGKILL the relay, the projector or the API (each started again at once, as a
supervisor would), stop the Kafka broker for 20 s then start it, restart PostgreSQL.
Recovered means: a probe command sent after the fault was cleared is acknowledged, and
every projection has consumed it (the relay published it; each projection's stored
offsets reach the relay's recorded ones). Measured from the moment of the fault.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from bench.soak.clients import Client
from bench.soak.processes import Processes
from bench.soak.services import Broker, PostgresControl
from projections.catalog import PROJECTION_NAMES

KINDS = ("kill relay", "kill projector", "kill API", "Kafka down 20 s", "restart PostgreSQL")
OUTAGE_SECONDS = 20.0
RECOVERY_TIMEOUT = 120.0


@dataclass
class Fault:
    kind: str
    at: float = 0.0  # seconds since the soak started
    cleared: float | None = None  # restarted / back, seconds after ``at``
    recovered: float | None = None  # probe acknowledged and consumed, seconds after ``at``
    skipped: str | None = None
    error: str | None = None


def plan(rounds: int, rng: random.Random) -> list[Fault]:
    """Every kind once per round, in a random order within each round."""
    faults = []
    for _ in range(rounds):
        kinds = list(KINDS)
        rng.shuffle(kinds)
        faults += [Fault(kind) for kind in kinds]
    return faults


def covered(url: str, topic: str, position: int) -> dict[int, int] | None:
    """The relay's recorded offsets once it has published ``position``, else None."""
    with psycopg.connect(url, connect_timeout=3) as conn:
        found = conn.execute(
            "SELECT position FROM relay_positions WHERE relay = %s", (topic,)
        ).fetchone()
        if found is None or found[0] < position:
            return None
        rows = conn.execute(
            "SELECT partition, next_offset FROM relay_offsets WHERE relay = %s", (topic,)
        ).fetchall()
        return dict(rows)


def consumed(url: str, topic: str, needed: dict[int, int]) -> bool:
    """Whether every projection's stored offsets reach ``needed`` in every partition."""
    with psycopg.connect(url, connect_timeout=3) as conn:
        rows = conn.execute(
            "SELECT projection, partition, next_offset FROM projection_offsets WHERE topic = %s",
            (topic,),
        ).fetchall()
    stored = {(name, partition): offset for name, partition, offset in rows}
    return all(
        stored.get((name, partition), 0) >= offset
        for name in PROJECTION_NAMES
        for partition, offset in needed.items()
    )


async def wait_consumed(url: str, topic: str, position: int, timeout: float) -> bool:
    """Until every projection has consumed ``position`` (the relay's offsets read once it
    published it, so a steady load does not keep moving the goal)."""
    deadline = time.monotonic() + timeout
    needed: dict[int, int] | None = None
    while time.monotonic() < deadline:
        try:
            if needed is None:
                needed = await asyncio.to_thread(covered, url, topic, position)
            if needed is not None and await asyncio.to_thread(consumed, url, topic, needed):
                return True
        except psycopg.OperationalError:
            pass  # PostgreSQL restarting: ask again
        await asyncio.sleep(0.2)
    return False


class Injector:
    """Injects the planned faults between random pauses while the load runs."""

    def __init__(
        self,
        processes: Processes,
        broker: Broker,
        postgres: PostgresControl,
        prober: Client,
        url: str,
        topic: str,
        clock: Callable[[], float],
    ) -> None:
        self.processes, self.broker, self.postgres = processes, broker, postgres
        self.prober, self.url, self.topic, self.clock = prober, url, topic, clock
        self.probes = 0

    async def run(self, faults: list[Fault], gaps: list[float]) -> None:
        for fault, gap in zip(faults, gaps, strict=True):
            await asyncio.sleep(gap)
            await self.inject(fault)

    async def inject(self, fault: Fault) -> None:
        skipped = {
            "Kafka down 20 s": self.broker.skip_reason,
            "restart PostgreSQL": self.postgres.skip_reason,
        }.get(fault.kind)
        fault.at = self.clock()
        if skipped:
            fault.skipped = skipped
            return
        started = time.monotonic()
        try:
            await self._do(fault.kind)
        except Exception as error:  # a fault that could not be injected: say so, go on
            fault.error = f"{type(error).__name__}: {error}"
            return
        fault.cleared = time.monotonic() - started
        if await self._probe():
            fault.recovered = time.monotonic() - started

    async def _do(self, kind: str) -> None:
        p = self.processes
        if kind.startswith("kill"):
            service = {"kill relay": p.relay, "kill projector": p.projector, "kill API": p.api}[
                kind
            ]
            service.kill()
            service.start()
            if service is p.api:
                await asyncio.to_thread(p.wait_api)
        elif kind == "Kafka down 20 s":
            await asyncio.to_thread(self.broker.stop)
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(self.broker.start)
        else:
            await asyncio.to_thread(self.postgres.restart)

    async def _probe(self) -> bool:
        """A command after the fault, acknowledged and then consumed by every projection."""
        self.probes += 1
        body = {"pseudonym": f"Probe {self.probes}"}
        command = await self.prober.command("probe", "PUT", "/v1/me/pseudonym", body)
        if command.outcome != "acknowledged" or command.receipt is None:
            return False
        position = int(command.receipt.get("position") or 0)
        return await wait_consumed(self.url, self.topic, position, RECOVERY_TIMEOUT)
