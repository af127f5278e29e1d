"""The HTTP API on PostgreSQL: sustained command rate against the no-op endpoint, then
latency at a steady rate.

    python -m bench.http [--seconds 20] [--rounds 1] [--steady-seconds 10] [--clients 32]
                         [--client-processes 1] [--contributors 64] [--challenges 8]
                         [--quick] [--timings] [--cprofile FILE]

Set-up: a PostgreSQL schema of its own (dropped afterwards) in DATABASE_URL; through the
engine (``build_engine``), a manager and ``--contributors`` people, ``--challenges``
challenges drafted and opened by the manager, two ideas in each, and one API token per
contributor (``build_tokens(...).issue``). Then the server: the app ``groundswell serve``
builds (``build_http_app``), run by ``uvicorn.run`` in a process of its own
(``bench.http_server``, since ``serve`` cannot be given a schema), on a free port.

Clients: ``--clients`` keep-alive HTTP/1.1 connections, shared out over
``--client-processes`` processes, each an asyncio loop (uvloop) with one aiohttp session
per connection (aiohttp parses HTTP in C, so the clients cost the machine little CPU);
the CPU of each party in each phase is reported (from /proc), so one can see who ran out
first. Every connection acts as one contributor (its bearer token), and every request is
checked: any answer but 2xx, or a broken connection, is an error.

Phases, one after another, on the same server and connections:

1. warm-up (``--warmup`` s of commands, not counted);
2. no-op baseline: ``GET /healthz`` in a closed loop (each connection sends its next
   request when the last is answered) for ``--seconds``;
3. commands in the same closed loop for ``--seconds``: each connection alternates
   ``POST /v1/challenges/{id}/ideas`` (challenges in turn) and
   ``POST /v1/ideas/{id}/comments`` (on the set-up ideas, in turn), each with an
   ``Idempotency-Key`` of its own. Rate = answers received inside the window / window;
   a request still open when the window ends is not counted. Ratio = command rate /
   no-op rate; target >= 60 %. With ``--rounds N`` phases 2 and 3 alternate N times and
   the best rate of each counts (as bench.relay does: the machine is shared);
4. steady rate: open loop at ``--steady-fraction`` (0.5) x the rate of phase 3 for
   ``--steady-seconds``: command i is due at t0 + i/rate, whatever became of those
   before; it waits for a free connection of its process if need be. Latency counts from
   the due time (so a client that falls behind shows up in it); the send lag and the
   service time (send to answer) are reported beside it. Target p99 < 50 ms.

A target PASSes only with zero errors. Latencies are client-side, in ms, nearest-rank.
``--timings`` has the server time each command's stages (see bench.http_server) and
prints the breakdown per command for phases 3 and 4; ``--cprofile FILE`` writes the
server's merged cProfile stats. Both slow the server: not for the headline figures.
Needs DATABASE_URL. Prints the figures, the targets and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import psycopg

from groundswell.bootstrap import build_engine, build_tokens
from groundswell.loopback import free_port
from groundswell.settings import Settings

TARGET_RATIO = 0.60
TARGET_STEADY_P99_MS = 50.0
MANAGER = "m0"
DEPARTMENTS = ["Production", "Sales", "R&D", "Finance", "HR", "Logistics", "IT", "Service"]
IDEAS_PER_CHALLENGE = 2
HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


# -- set-up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the clients need to know: where to send what, as whom."""

    host: str
    port: int
    run: str
    tokens: list[str]  # one per contributor
    challenges: list[str]
    ideas: list[str]


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped afterwards (as tests/support.py does)."""
    name = f"bench_http_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def set_up(
    settings: Settings, contributors: int, challenges: int
) -> tuple[list[str], list[str], list[str]]:
    """People, open challenges with two ideas each, a token per contributor."""
    engine = build_engine(settings)
    try:
        engine.register_person(MANAGER, name="Manager", department="IT", roles=["manager"])
        handles = [f"c{n:04d}" for n in range(contributors)]
        for n, handle in enumerate(handles):
            engine.register_person(
                handle, name=f"Contributor {n}", department=DEPARTMENTS[n % len(DEPARTMENTS)]
            )
        deadline = (date.today() + timedelta(days=365)).isoformat()
        challenge_ids: list[UUID] = []
        for k in range(challenges):
            receipt = engine.draft_challenge(
                MANAGER,
                pot=1_000_000,
                title=f"HTTP bench challenge {k}",
                question="Where do we lose time between requests?",
                sponsor="COO",
                target_departments=DEPARTMENTS[:3],
                submission_deadline=deadline,
                decision_deadline_days=30,
            )
            assert receipt.id is not None
            engine.open_challenge(MANAGER, receipt.id)
            challenge_ids.append(receipt.id)
        idea_ids: list[UUID] = []
        for k, challenge_id in enumerate(challenge_ids):
            for j in range(IDEAS_PER_CHALLENGE):
                author = handles[(k * IDEAS_PER_CHALLENGE + j) % len(handles)]
                receipt = engine.submit_idea(
                    author, challenge_id, title=f"Set-up idea {k}.{j}", description="Comment on me."
                )
                assert receipt.id is not None
                idea_ids.append(receipt.id)
    finally:
        engine.close()
    store = build_tokens(settings)
    try:
        tokens = [store.issue(handle, "bench.http")[0] for handle in handles]
    finally:
        store.close()
    return tokens, [str(c) for c in challenge_ids], [str(i) for i in idea_ids]


# -- the server, a process of its own -------------------------------------------------------


class Server:
    """``python -m bench.http_server`` in a session of its own (Ctrl-C reaches us only)."""

    def __init__(
        self, url: str, schema: str, port: int, timings: Path | None, cprofile: Path | None
    ) -> None:
        command = [sys.executable, "-m", "bench.http_server", "--schema", schema]
        command += ["--host", HOST, "--port", str(port)]
        if timings is not None:
            command += ["--timings", str(timings)]
        if cprofile is not None:
            command += ["--cprofile", str(cprofile)]
        env = {**os.environ, "DATABASE_URL": url}
        self.port = port
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}")
            with contextlib.suppress(OSError):
                url = f"http://{HOST}:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.1)
        raise SystemExit("the server did not answer /healthz within a minute")

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self) -> None:
        self.signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


# -- CPU accounting from /proc --------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU of one process (all its threads), or of one of its threads."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        with open(path) as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU of each process named postgres on this machine (server, backends, WAL writer)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/comm") as comm:
                if comm.read().strip().startswith("postgres"):
                    found[int(entry)] = cpu_seconds(int(entry))
    return found


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling or waiting for I/O (/proc/stat)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class CpuSample:
    server: float
    loop: float  # the server's main thread: uvicorn's event loop
    postgres: dict[int, float]
    machine: float
    at: float

    @classmethod
    def now(cls, server: int) -> CpuSample:
        return cls(
            cpu_seconds(server),
            cpu_seconds(server, server),
            postgres_cpu_seconds(),
            machine_busy_seconds(),
            time.monotonic(),
        )

    def postgres_since(self, before: CpuSample) -> float:
        """PostgreSQL CPU between two samples; a backend that ended meanwhile is not counted."""
        return sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in self.postgres.items())


# -- the client: aiohttp, one keep-alive connection per simulated client ------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


class HttpConnection:
    """One keep-alive connection: an aiohttp session held to a single socket."""

    def __init__(self, host: str, port: int) -> None:
        self.base = f"http://{host}:{port}"
        self.session: aiohttp.ClientSession | None = None

    async def request(self, request: Request) -> tuple[int, bytes]:
        if self.session is None:  # made inside the running loop, as aiohttp requires
            self.session = aiohttp.ClientSession(self.base, connector=aiohttp.TCPConnector(limit=1))
        async with self.session.request(
            request.method, request.path, headers=request.headers, data=request.body
        ) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        self.session = None


class Requests:
    """The requests a client sends."""

    def __init__(self, plan: Plan, client: str) -> None:
        self.plan, self.client = plan, client
        self.sent = 0

    def healthz(self) -> Request:
        return Request("GET", "/healthz", {})

    def command(self, n: int, token: str) -> tuple[str, Request]:
        """Command n: even ones submit an idea, odd ones comment on a set-up idea."""
        plan, turn = self.plan, n // 2
        if n % 2 == 0:
            kind = "idea"
            path = f"/v1/challenges/{plan.challenges[turn % len(plan.challenges)]}/ideas"
            body = json.dumps({"title": f"Idea {n}", "description": "Measured over HTTP."})
        else:
            kind = "comment"
            path = f"/v1/ideas/{plan.ideas[turn % len(plan.ideas)]}/comments"
            body = json.dumps({"body": f"Comment {n}: measured over HTTP."})
        self.sent += 1
        headers = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": f"{plan.run}-{self.client}-{self.sent}",
            "Content-Type": "application/json",
        }
        return kind, Request("POST", path, headers, body.encode())


@dataclass
class PhaseResult:
    """What one client process saw in one phase (latencies in seconds, by kind)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    service: list[float] = field(default_factory=list)  # open loop: send to answer
    lag: list[float] = field(default_factory=list)  # open loop: due to send
    statuses: Counter[int] = field(default_factory=Counter)  # 0: the connection broke
    samples: list[str] = field(default_factory=list)  # the first few errors
    cpu: float = 0.0  # this client process's CPU seconds inside the window
    scheduled: int = 0
    sent: int = 0

    def record(self, kind: str, status: int, latency: float, body: bytes) -> None:
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.latencies.setdefault(kind, []).append(latency)
        elif len(self.samples) < 3:
            self.samples.append(f"{kind}: {status} {body[:200].decode(errors='replace')}")

    def merge(self, other: PhaseResult) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.service += other.service
        self.lag += other.lag
        self.statuses.update(other.statuses)
        self.samples += other.samples[: max(0, 3 - len(self.samples))]
        self.cpu += other.cpu
        self.scheduled += other.scheduled
        self.sent += other.sent

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


async def send(connection: HttpConnection, data: Request) -> tuple[int, bytes, float]:
    """One request: the status (0: the connection broke), the body, when it was answered."""
    try:
        status, body = await connection.request(data)
    except Exception as error:
        status, body = 0, repr(error).encode()
    return status, body, time.monotonic()


async def sleep_until(at: float) -> None:
    delay = at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


class ClientProcess:
    """One process's share of the connections, running the phases the parent asks for."""

    def __init__(self, plan: Plan, index: int, first: int, count: int) -> None:
        self.plan, self.index = plan, index
        self.connections = [HttpConnection(plan.host, plan.port) for _ in range(count)]
        # Connection j (numbered across processes) acts as contributor j mod N.
        self.tokens = [plan.tokens[(first + j) % len(plan.tokens)] for j in range(count)]
        self.requests = Requests(plan, f"p{index}")

    async def closed_loop(self, kind: str, start: float, seconds: float) -> PhaseResult:
        result, end = PhaseResult(), start + seconds

        async def loop(j: int) -> None:
            n = j  # connections start at different points of the idea/comment cycle
            connection = self.connections[j]
            await sleep_until(start)
            while (sent := time.monotonic()) < end:
                if kind == "healthz":
                    what, data = "healthz", self.requests.healthz()
                else:
                    what, data = self.requests.command(n, self.tokens[j])
                    n += 1
                status, body, done = await send(connection, data)
                if done <= end:
                    result.record(what, status, done - sent, body)

        tasks = [asyncio.create_task(loop(j)) for j in range(len(self.connections))]
        await sleep_until(start)
        cpu = time.process_time()
        await sleep_until(end)
        result.cpu = time.process_time() - cpu
        await asyncio.gather(*tasks)
        return result

    async def open_loop(
        self, start: float, seconds: float, rate: float, processes: int
    ) -> PhaseResult:
        """Commands i = index, index + processes, ... each due at start + i / rate."""
        result = PhaseResult()
        idle: asyncio.Queue[int] = asyncio.Queue()
        for j in range(len(self.connections)):
            idle.put_nowait(j)

        async def one(n: int, due: float) -> None:
            j = await idle.get()
            try:
                kind, data = self.requests.command(n, self.tokens[j])
                sent = time.monotonic()
                result.sent += 1
                status, body, done = await send(self.connections[j], data)
            finally:
                idle.put_nowait(j)
            result.record(kind, status, done - due, body)
            result.lag.append(sent - due)
            result.service.append(done - sent)

        tasks = []
        commands = range(self.index, math.floor(rate * seconds), processes)
        await sleep_until(start)
        cpu = time.process_time()
        for i in commands:
            due = start + i / rate
            await sleep_until(due)
            tasks.append(asyncio.create_task(one(i, due)))
        result.scheduled = len(commands)
        await asyncio.gather(*tasks)
        result.cpu = time.process_time() - cpu
        return result


def client_main(plan: Plan, index: int, first: int, count: int, pipe: Pipe) -> None:
    """A client process: runs phases until told to stop; Ctrl-C is the parent's business."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    client = ClientProcess(plan, index, first, count)
    loop = asyncio.new_event_loop()
    try:
        while True:
            order = pipe.recv()
            if order[0] == "stop":
                return
            if order[0] == "closed":
                _, kind, start, seconds = order
                pipe.send(loop.run_until_complete(client.closed_loop(kind, start, seconds)))
            else:
                _, start, seconds, rate, processes = order
                pipe.send(
                    loop.run_until_complete(client.open_loop(start, seconds, rate, processes))
                )
    finally:
        for connection in client.connections:
            loop.run_until_complete(connection.close())
        loop.close()


class Clients:
    """The client processes; each phase starts at one moment in all of them."""

    def __init__(self, plan: Plan, connections: int, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.processes = []
        share = [connections // processes + (p < connections % processes) for p in range(processes)]
        for p in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=client_main, args=(plan, p, sum(share[:p]), share[p], theirs), daemon=True
            )
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def run(self, order: tuple[Any, ...], window: tuple[float, float], server: int) -> Phase:
        for pipe in self.pipes:
            pipe.send(order)
        start, end = window
        time.sleep(max(0.0, start - time.monotonic()))
        before = CpuSample.now(server)
        time.sleep(max(0.0, end - time.monotonic()))
        after = CpuSample.now(server)
        merged = PhaseResult()
        for pipe in self.pipes:
            merged.merge(pipe.recv())
        return Phase(merged, before, after)

    def closed(self, kind: str, seconds: float, server: int) -> Phase:
        start = time.monotonic() + 0.5
        return self.run(("closed", kind, start, seconds), (start, start + seconds), server)

    def open(self, seconds: float, rate: float, server: int) -> Phase:
        start = time.monotonic() + 0.5
        order = ("open", start, seconds, rate, len(self.pipes))
        return self.run(order, (start, start + seconds), server)

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        for process in self.processes:
            process.join(2)  # one still in a phase is not listening
            if process.is_alive():
                process.terminate()


# -- figures ------------------------------------------------------------------------------


@dataclass
class Phase:
    result: PhaseResult
    before: CpuSample
    after: CpuSample

    @property
    def seconds(self) -> float:
        return self.after.at - self.before.at

    @property
    def rate(self) -> float:
        return self.result.ok / self.seconds

    def cpu(self) -> dict[str, int]:
        """Each party's CPU in the window, in % of one core; others: the rest of the machine."""
        wall, before, after = self.seconds, self.before, self.after
        server = after.server - before.server
        postgres = after.postgres_since(before)
        machine = after.machine - before.machine
        return {
            "server": round(100 * server / wall),
            "postgres": round(100 * postgres / wall),
            "clients": round(100 * self.result.cpu / wall),
            "others": max(0, round(100 * (machine - server - postgres - self.result.cpu) / wall)),
            "cores": os.cpu_count() or 1,
        }

    def server_cpu_ms(self) -> float:
        """The server's CPU per answered request."""
        ok = self.result.ok
        return 1000 * (self.after.server - self.before.server) / ok if ok else math.nan

    def loop_cpu_ms(self) -> float:
        """The event-loop thread's share of it; the rest is the worker threads'."""
        ok = self.result.ok
        return 1000 * (self.after.loop - self.before.loop) / ok if ok else math.nan


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return float("nan")
    rank = max(1, round(q / 100 * len(values) + 0.5 - 1e-9))
    return values[min(rank, len(values)) - 1]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(v * 1000 for v in values)
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1) if ordered else float("nan"),
    }


def all_latencies(result: PhaseResult) -> list[float]:
    return [v for values in result.latencies.values() for v in values]


def _ms(s: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:>7.1f}" for name, value in s.items()) + "  ms"


def _cpu(phase: Phase) -> str:
    c = phase.cpu()
    return (
        f"CPU, % of one core (of {100 * c['cores']}): server {c['server']}, postgres "
        f"{c['postgres']}, clients {c['clients']}, anything else {c['others']}\n"
        f"                       server {phase.server_cpu_ms():.2f} ms CPU per answer "
        f"(event loop {phase.loop_cpu_ms():.2f}, worker threads "
        f"{phase.server_cpu_ms() - phase.loop_cpu_ms():.2f})"
    )


def _verdict(passed: bool, errors: int) -> str:
    if passed:
        return "PASS"
    return f"FAIL ({errors:,} errors)" if errors else "FAIL"


# -- server-side timings (--timings) --------------------------------------------------------

STAGES = [
    ("token check", 1),
    ("caller person load", 1),
    ("command run", 1),
    ("run: idempotency-key lookup", 2),
    ("run: load challenge", 2),
    ("run: load person", 2),
    ("run: load idea", 2),
    ("run: id-free check", 2),
    ("run: save", 2),
    ("save: insert + commit", 3),
    ("engine pool: get connection", 0),
]


def read_timings(path: Path, lines: int, server: Server) -> dict[str, Any]:
    """Ask the server for its figures so far (SIGUSR1) and return the new line."""
    server.signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            found = path.read_text().splitlines()
            if len(found) >= lines:
                figures: dict[str, Any] = json.loads(found[lines - 1])
                return figures
        time.sleep(0.05)
    raise SystemExit("the server wrote no timings")


def breakdown(figures: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Per command: mean wall and CPU ms of each stage, and how often it ran."""
    commands = sum(
        figures.get(f"request {k}", {}).get("calls", 0) for k in ("submit idea", "comment")
    )
    if not commands:
        return ["  (no commands timed)"], {}
    request_wall = sum(
        figures.get(f"request {k}", {}).get("wall_s", 0.0) for k in ("submit idea", "comment")
    )
    lines = [
        f"  {'stage (per command, ' + format(commands, ',') + ' commands)':<46}"
        f"{'wall ms':>9}{'CPU ms':>9}{'calls':>7}",
        f"  {'request, as uvicorn runs the app':<46}{1000 * request_wall / commands:>9.2f}"
        f"{'':>9}{1.0:>7.2f}",
    ]
    out: dict[str, Any] = {"commands": commands, "request_wall_ms": 1000 * request_wall / commands}
    for stage, depth in STAGES:
        found = figures.get(stage)
        if not found:
            continue
        wall = 1000 * found["wall_s"] / commands
        cpu = 1000 * found["cpu_s"] / commands
        calls = found["calls"] / commands
        name = "  " * depth + stage.split(": ", 1)[-1]
        if depth == 0:
            name = "  engine pool getconn (inside the stages)"
        lines.append(f"  {name:<46}{wall:>9.2f}{cpu:>9.2f}{calls:>7.2f}")
        out[stage] = {"wall_ms": round(wall, 3), "cpu_ms": round(cpu, 3), "calls": calls}
    return lines, out


# -- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0, help="each closed-loop phase")
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--steady-fraction", type=float, default=0.5)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1, help="closed-loop rounds; best counts")
    parser.add_argument("--clients", type=int, default=32, help="connections in all")
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--contributors", type=int, default=64)
    parser.add_argument("--challenges", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="3 s phases, 1 s warm-up")
    parser.add_argument("--timings", action="store_true", help="server-side stage timings")
    parser.add_argument("--cprofile", type=Path, default=None, help="server pstats file")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.steady_seconds, args.warmup = 3.0, 3.0, 1.0
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL (scripts/with-services starts PostgreSQL)")
    if args.rounds < 1:
        raise SystemExit("--rounds: at least 1")
    if not 1 <= args.client_processes <= args.clients:
        raise SystemExit("--client-processes: 1 to --clients")

    # SIGTERM, like Ctrl-C, unwinds: clients stopped, server stopped, schema dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
            timings = Path(tmp) / "timings" if args.timings else None
            with fresh_schema(url) as schema:
                settings = Settings(database_url=url, postgres_schema=schema)
                phases = measure(args, settings, timings)
    except KeyboardInterrupt:
        raise SystemExit("interrupted: server and clients stopped, schema dropped") from None
    report(args, phases)


@dataclass
class Phases:
    warm: Phase
    noop: Phase
    commands: Phase
    steady: Phase
    steady_rate: float
    noop_errors: int  # in every round, not only the best
    command_errors: int
    closed_figures: dict[str, Any] | None = None  # --timings
    steady_figures: dict[str, Any] | None = None


def measure(args: argparse.Namespace, settings: Settings, timings: Path | None) -> Phases:
    """Set up, start the server and the clients, run the phases; stop them whatever happens."""
    assert settings.database_url and settings.postgres_schema
    started = time.perf_counter()
    tokens, challenges, ideas = set_up(settings, args.contributors, args.challenges)
    set_up_seconds = time.perf_counter() - started
    server = Server(
        settings.database_url, settings.postgres_schema, free_port(), timings, args.cprofile
    )
    clients: Clients | None = None
    try:
        server.wait_ready()
        plan = Plan(HOST, server.port, uuid.uuid4().hex[:8], tokens, challenges, ideas)
        clients = Clients(plan, args.clients, args.client_processes)
        print(
            f"set-up: {args.contributors} contributors, {args.challenges} open challenges, "
            f"{len(ideas)} ideas in {set_up_seconds:.1f} s; uvicorn on port {server.port} "
            f"(pid {server.process.pid}); {args.clients} connections in "
            f"{args.client_processes} client process(es); {os.cpu_count()} CPUs"
        )

        def phase(run: Callable[[int], Phase]) -> Phase:
            done = run(server.process.pid)
            if server.process.poll() is not None:
                raise SystemExit(f"the server exited with {server.process.returncode}")
            return done

        warm = phase(partial(clients.closed, "commands", args.warmup))
        phase(partial(clients.closed, "healthz", 1.0))
        if timings is not None:
            read_timings(timings, 1, server)  # set-up and warm-up: not reported
        noops, runs = [], []
        for _ in range(args.rounds):
            noops.append(phase(partial(clients.closed, "healthz", args.seconds)))
            runs.append(phase(partial(clients.closed, "commands", args.seconds)))
        noop = max(noops, key=lambda p: p.rate)
        commands = max(runs, key=lambda p: p.rate)
        closed_figures = read_timings(timings, 2, server) if timings else None
        steady_rate = max(1.0, args.steady_fraction * commands.rate)
        steady = phase(partial(clients.open, args.steady_seconds, steady_rate))
        steady_figures = read_timings(timings, 3, server) if timings else None
        return Phases(
            warm,
            noop,
            commands,
            steady,
            steady_rate,
            sum(p.result.errors for p in noops),
            sum(p.result.errors for p in runs),
            closed_figures,
            steady_figures,
        )
    finally:
        if clients is not None:
            clients.stop()
        server.stop()


def report(args: argparse.Namespace, phases: Phases) -> None:
    warm, noop, commands, steady = phases.warm, phases.noop, phases.commands, phases.steady
    steady_rate = phases.steady_rate
    noop_latency = summary(all_latencies(noop.result))
    command_latency = summary(all_latencies(commands.result))
    by_kind = {k: summary(v) for k, v in sorted(commands.result.latencies.items())}
    steady_latency = summary(all_latencies(steady.result))
    ratio = commands.rate / noop.rate if noop.rate else 0.0
    errors = phases.noop_errors + phases.command_errors
    ratio_pass = ratio >= TARGET_RATIO and errors == 0
    steady_sent = steady.result.sent
    steady_pass = (
        steady_latency["p99"] < TARGET_STEADY_P99_MS
        and steady.result.errors == 0
        and steady_sent == steady.result.scheduled
    )
    result: dict[str, Any] = {
        "clients": args.clients,
        "client_processes": args.client_processes,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "warmup_errors": warm.result.errors,
        "noop_req_per_s": round(noop.rate, 1),
        "noop_ms": noop_latency,
        "noop_errors": phases.noop_errors,
        "noop_cpu_pct": noop.cpu(),
        "commands_per_s": round(commands.rate, 1),
        "commands": commands.result.ok,
        "command_ms": command_latency,
        "command_ms_by_kind": by_kind,
        "command_errors": phases.command_errors,
        "command_statuses": {str(k): v for k, v in sorted(commands.result.statuses.items())},
        "commands_cpu_pct": commands.cpu(),
        "server_cpu_ms_per_noop": round(noop.server_cpu_ms(), 3),
        "server_loop_cpu_ms_per_noop": round(noop.loop_cpu_ms(), 3),
        "server_cpu_ms_per_command": round(commands.server_cpu_ms(), 3),
        "server_loop_cpu_ms_per_command": round(commands.loop_cpu_ms(), 3),
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "ratio_pass": ratio_pass,
        "steady_rate": round(steady_rate, 1),
        "steady_seconds": args.steady_seconds,
        "steady_scheduled": steady.result.scheduled,
        "steady_sent": steady_sent,
        "steady_achieved_per_s": round(steady.rate, 1),
        "steady_ms": steady_latency,
        "steady_service_ms": summary(steady.result.service),
        "steady_lag_ms": summary(steady.result.lag),
        "steady_errors": steady.result.errors,
        "steady_cpu_pct": steady.cpu(),
        "target_steady_p99_ms": TARGET_STEADY_P99_MS,
        "steady_pass": steady_pass,
        "pass": ratio_pass and steady_pass,
    }
    print(f"no-op GET /healthz   : {noop.rate:>8,.0f} req/s       {_ms(noop_latency)}")
    print(f"                       {_cpu(noop)}")
    print(f"commands (closed)    : {commands.rate:>8,.0f} commands/s  {_ms(command_latency)}")
    for kind, figures in by_kind.items():
        print(
            f"  {kind:<19}: {len(commands.result.latencies[kind]):>8,} answered    {_ms(figures)}"
        )
    print(f"                       {_cpu(commands)}")
    print(
        f"errors               : no-op {phases.noop_errors:,}, commands "
        f"{phases.command_errors:,} (warm-up {warm.result.errors:,})"
    )
    print(f"ratio commands/no-op : {ratio:>8.1%}  (target >= {TARGET_RATIO:.0%})")
    print(
        f"steady (open loop)   : {steady_rate:>8,.0f} commands/s scheduled for "
        f"{args.steady_seconds:g} s; {steady_sent:,} of {steady.result.scheduled:,} sent, "
        f"{steady.result.errors:,} errors"
    )
    print(f"  due → answer       : {_ms(steady_latency)}")
    print(f"  send → answer      : {_ms(result['steady_service_ms'])}")
    print(f"  due → send (lag)   : {_ms(result['steady_lag_ms'])}")
    print(f"                       {_cpu(steady)}")
    for sample in [*noop.result.samples, *commands.result.samples, *steady.result.samples][:3]:
        print(f"  error: {sample}")
    print(f"target ratio >= {TARGET_RATIO:.0%}   : {_verdict(ratio_pass, errors)}")
    print(
        f"target p99 < {TARGET_STEADY_P99_MS:.0f} ms    : "
        f"{_verdict(steady_pass, steady.result.errors)}"
    )
    for title, timed, key in (
        ("closed loop", phases.closed_figures, "timings_closed"),
        ("steady rate", phases.steady_figures, "timings_steady"),
    ):
        if timed is not None:
            lines, numbers = breakdown(timed)
            print(f"server-side timings, {title}:")
            print("\n".join(lines))
            result[key] = numbers
    if args.cprofile is not None:
        print(f"server cProfile stats: {args.cprofile}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
