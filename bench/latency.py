"""End-to-end latency: a command accepted to the leaderboard row in PostgreSQL showing it.

    python -m bench.latency [--rate 500] [--seconds 20] [--challenges 1000] [--workers 16]
                            [--engines 1] [--command idea|grant] [--mode processes|threads]
                            [--relay-poll-ms MS]

The production path on this machine: the engine on PostgreSQL (a schema of its own,
dropped afterwards), the relay publishing its notification log to a topic of its own
(deleted afterwards), the leaderboard projection fed from that topic into PostgreSQL (a
consumer group of its own). ``--mode processes`` (default) runs the relay and the
projector each in a process of its own, as docker-compose runs the ``relay`` and
``projector`` services; ``--mode threads`` runs them beside the engine
(``Relay.start_in_thread``), where they share its interpreter lock with the commands:
that slows the commands and delays the fold, so it is not the default.

Set-up (saved in big batches straight through the domain, as bench.history does, then
published and folded before anything is timed): a manager, ``--contributors`` people,
``--challenges`` open challenges with a big pot and 10 points per helpful contribution
(and, for ``--command grant``, one comment marked helpful per command to come). Then
``rate * seconds`` commands are issued open-loop — ``--command idea`` (default): a
contributor submits an idea, ``submit_idea``, the commonest command there is, shown in the
leaderboard's department row; ``--command grant``: ``grant_reward(manager,
"helpful-contribution", comment)``, shown in the contributor's points row —
command i is due at t0 + i/rate, whatever became of the ones before. Command i goes to
challenge i mod C; ``--workers`` threads share the challenges (each challenge, and each
contributor, belongs to one worker), so no two commands race for one aggregate.
``--engines N`` issues them from N processes with ``--workers`` threads each, every one
with an engine of its own (its connections, its group committer), as several API worker
processes do in production; they send each command's times back to this process. A worker
behind schedule issues at once; one that would start a command after 1.5 x the scheduled
time stops there. Commands sent, the achieved rate and how late the commands started say
whether the engine kept up; PASS needs it to have kept up and p99 < 200 ms.
Sixteen workers by default (the engine's connection pool holds 16): an open-loop load
should not wait for its own callers. With ~7 ms per command under load, 500 commands/s
keep ~3.5 callers busy on average; with four, and at times with eight, a slow command
held up the next ones of its worker and the load generator's own queue (not the engine)
made commands start late; an API serves many more requests at once than that.

Many challenges rather than one: a grant loads the whole challenge, every grant adds an
event to it and the engine keeps no snapshots nor cache, so one challenge taking every
grant makes each command slower than the last (``--challenges 1`` shows it).

How latency is measured. A command's events are committed before its Receipt returns;
the worker then records the time and the value its row must reach: for an idea, the
(challenge|department) row's ``ideas`` count (the ideas it has submitted there); for a
grant, the (challenge|contributor) row's ``points`` (10 x its grants to that contributor). A key's
grants are made one after another by one worker, so they commit, go to one partition
and are folded in that order: the row reaching the value means this grant is in. A
poller thread reads, every ``--poll-ms``, the stored rows of the keys still waiting (one
indexed query) and the relay's recorded position. A command counts as visible at the
start of the first query that sees its value (the query's snapshot is taken then, so the
row was committed before), and as relayed at the start of the first that sees the
relay's position at or past its Receipt's position. Latency = that start - the Receipt
time: an upper bound, late by at most one poll interval plus one query; only commands
recorded before a query started can match it. Every 5 ms by default: every 2 ms the
poller alone took ~0.25 of this machine's two cores (PostgreSQL and this process), which
the system measured then lacked; 5 ms can only overstate a latency, by at most 5 ms.
One monotonic clock serves every process;
a receipt from an engine process is recorded when it reaches the poller's process, so it
can match a later query than it might have, never an earlier one.

``--relay-poll-ms`` is a what-if: it changes the relay's idle wait between batches
(``groundswell.publish.relay.POLL_SECONDS``, 20 ms), to show how much of the latency it makes.
Prints p50/p95/p99/max of the command itself, Receipt to relayed, relayed to row and
Receipt to row, commands sent, the achieved rate, the target and one JSON line.
Needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from uuid import UUID

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

import groundswell.publish.relay
from domain.base import GroundswellAggregate
from domain.challenge import Challenge
from domain.contribution import Contribution, ContributionKind
from domain.idea import Idea
from domain.person import Person
from groundswell.app.application import utc_now
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_kafka_projector, build_relay
from groundswell.publish.relay import DEFAULT_PARTITIONS, ensure_topic
from groundswell.settings import Settings
from projections.rows import key_of

TARGET_P99_MS = 200.0
CUTOFF = 1.5  # an engine that cannot keep up stops issuing at 1.5 x the scheduled time
PROJECTION = "leaderboard"
REASON = "helpful-contribution"
POINTS = 10  # the challenges' helpful-contribution points
MANAGER = "m0"
DEPARTMENTS = ["Production", "Sales", "R&D", "Finance", "HR", "Logistics", "IT", "Service"]


# -- set-up ---------------------------------------------------------------------------------


@dataclass
class Plan:
    """What command j on challenge k does, and the leaderboard row that shows it."""

    command: str = "idea"
    challenges: list[UUID] = field(default_factory=list)  # [k]
    contributions: list[list[UUID]] = field(default_factory=list)  # grant: [k][j]
    authors: list[list[str]] = field(default_factory=list)  # idea: [k][j]
    keys: list[list[str]] = field(default_factory=list)  # the row's key, [k][j]

    @property
    def table(self) -> str:
        return "departments" if self.command == "idea" else "points"

    @property
    def field(self) -> str:
        return "ideas" if self.command == "idea" else "points"

    @property
    def step(self) -> int:
        """How much one command adds to its row."""
        return 1 if self.command == "idea" else POINTS


def set_up(engine: Engine, commands: int, challenges: int, contributors: int, command: str) -> Plan:
    """People, open challenges with a big pot; for grants, one helpful comment per command.

    Challenge k's ideas or comments are by the contributors whose number is k modulo
    ``challenges``, in turn, so no contributor acts in two workers' challenges."""
    at = utc_now()
    manager = Person.register(
        handle=MANAGER, name="Manager", department="IT", roles=["manager"], actor="system", at=at
    )
    people = [
        Person.register(
            handle=f"c{n:05d}",
            name=f"Contributor {n}",
            department=DEPARTMENTS[n % len(DEPARTMENTS)],
            actor="system",
            at=at,
        )
        for n in range(contributors)
    ]
    _save(engine, [manager, *people])
    plan = Plan(command)
    per_challenge = -(-commands // challenges)
    pending: list[GroundswellAggregate] = []
    for k in range(challenges):
        challenge = Challenge.draft(
            uuid.uuid4(),
            pot=1_000_000_000,
            actor=MANAGER,
            at=at,
            title=f"Latency challenge {k}",
            question="Where do we lose time?",
            sponsor="COO",
            target_departments=DEPARTMENTS[:3],
            submission_deadline="2099-12-31",
            decision_deadline_days=30,
            accepted_idea_points=50,
            implemented_idea_points=200,
            helpful_contribution_points=POINTS,
            prize_points=[500, 300],
        )
        challenge.open(actor=MANAGER, at=at)
        group = people[k::challenges]
        plan.challenges.append(challenge.id)
        if command == "idea":
            pending.append(challenge)
            authors = [group[j % len(group)] for j in range(per_challenge)]
            plan.authors.append([a.handle for a in authors])
            plan.keys.append([f"{key_of(challenge.id)}|{a.department}" for a in authors])
            continue
        idea = Idea.submit(
            uuid.uuid4(), challenge, group[0], title="Cut waiting", description="...", at=at
        )
        pending += [challenge, idea]
        ids, keys = [], []
        for j in range(per_challenge):
            author = group[j % len(group)]
            comment = Contribution.add(
                uuid.uuid4(), ContributionKind.COMMENT, idea, challenge, author, body="Yes!", at=at
            )
            comment.mark_helpful(challenge, actor=MANAGER, at=at)
            pending.append(comment)
            ids.append(comment.id)
            keys.append(f"{key_of(challenge.id)}|{author.handle}")
        plan.contributions.append(ids)
        plan.keys.append(keys)
        if len(pending) >= 1_000:
            _save(engine, pending)
            pending = []
    _save(engine, pending)
    return plan


def _save(engine: Engine, aggregates: list[GroundswellAggregate]) -> None:
    if aggregates:
        engine.save(*aggregates)


# -- relay and projector, as threads or processes ----------------------------------------


def relay_process(settings: Settings, stop: Any, poll: float | None) -> None:
    """The relay in a process of its own, with an engine of its own."""
    if poll is not None:
        groundswell.publish.relay.POLL_SECONDS = poll
    engine = build_engine(settings)
    relay = build_relay(engine, settings)
    try:
        relay.run_forever(stop)
    finally:
        relay.close()
        engine.close()


def projector_process(settings: Settings, group: str, stop: Any) -> None:
    projector = build_kafka_projector(settings, PROJECTION, group_id=group)
    try:
        projector.run(until=lambda _: stop.is_set())
    finally:
        projector.store.close()


class Pipeline:
    """The relay and the leaderboard projector, started and stopped together."""

    def __init__(self, engine: Engine, settings: Settings, mode: str, poll: float | None):
        self.mode = mode
        group = f"bench-latency-{uuid.uuid4().hex[:8]}"
        if mode == "threads":
            if poll is not None:
                groundswell.publish.relay.POLL_SECONDS = poll
            self.relay = build_relay(engine, settings)
            self.projector = build_kafka_projector(settings, PROJECTION, group_id=group)
            self.relay.start_in_thread()
            self.thread = threading.Thread(target=self.projector.run, daemon=True)
            self.thread.start()
        else:
            context = multiprocessing.get_context("spawn")
            self.stopping = context.Event()
            self.processes = [
                context.Process(target=relay_process, args=(settings, self.stopping, poll)),
                context.Process(target=projector_process, args=(settings, group, self.stopping)),
            ]
            for process in self.processes:
                process.start()

    def alive(self) -> bool:
        if self.mode == "threads":
            return self.relay.error is None and self.thread.is_alive()
        return all(p.is_alive() for p in self.processes)

    def stop(self) -> None:
        if self.mode == "threads":
            self.projector.stop()
            self.thread.join(10)
            self.projector.store.close()
            self.relay.close()
        else:
            self.stopping.set()
            for process in self.processes:
                process.join(15)
                if process.is_alive():
                    process.terminate()


def wait_caught_up(
    url: str, schema: str, servers: str, topic: str, last: int, pipeline: Pipeline
) -> float:
    """Seconds until the relay published up to ``last`` and the projection folded it all."""
    started = time.perf_counter()
    deadline = time.monotonic() + 120
    with psycopg.connect(url, options=f"-c search_path={schema}", autocommit=True) as conn:

        def position() -> int:
            with contextlib.suppress(psycopg.errors.UndefinedTable):
                row = conn.execute(
                    "SELECT position FROM relay_positions WHERE relay = %s", (topic,)
                ).fetchone()
                return int(row[0]) if row else 0
            return 0

        while position() < last:
            if time.monotonic() > deadline or not pipeline.alive():
                raise SystemExit("the relay did not publish the set-up in time")
            time.sleep(0.1)
        ends = sum(end_offsets(servers, topic).values())
        while True:
            stored = conn.execute(
                "SELECT coalesce(sum(next_offset), 0) FROM projection_offsets "
                "WHERE projection = %s AND topic = %s",
                (PROJECTION, topic),
            ).fetchone()
            if stored and stored[0] >= ends:
                return time.perf_counter() - started
            if time.monotonic() > deadline or not pipeline.alive():
                raise SystemExit("the projection did not fold the set-up in time")
            time.sleep(0.1)


def end_offsets(servers: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=servers)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        found = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        consumer.close()


# -- the measured run ---------------------------------------------------------------------


class Tracker:
    """Times per command, and the poller that sees commands published and folded."""

    def __init__(
        self, commands: int, url: str, schema: str, topic: str, poll: float, plan: Plan
    ) -> None:
        self._table, self._field = plan.table, plan.field
        nan = float("nan")
        self.due = [nan] * commands
        self.started = [nan] * commands
        self.receipt = [nan] * commands
        self.published = [nan] * commands
        self.visible = [nan] * commands
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[tuple[int, float, int]]] = defaultdict(deque)
        self._unpublished: deque[tuple[int, float, int]] = deque()  # (position, receipt, i)
        self._open = 0
        self._url, self._schema, self._topic, self._poll = url, schema, topic, poll
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-poller", daemon=True)
        self.polls = 0
        self.error: BaseException | None = None

    def accepted(
        self, i: int, key: str, expected: int, position: int, times: tuple[float, float, float]
    ) -> None:
        """Command ``i`` was accepted: its (due, started, receipt) times, the value its row
        must reach and its Receipt's position."""
        self.due[i], self.started[i], at = times
        self.receipt[i] = at
        with self._lock:
            self._waiting[key].append((expected, at, i))
            self._unpublished.append((position, at, i))
            self._open += 1

    def failed(self, message: str) -> None:
        self.failures.append(message)

    @property
    def open(self) -> int:
        return self._open

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(10)

    def _run(self) -> None:
        options = f"-c search_path={self._schema}"
        try:
            with psycopg.connect(self._url, options=options, autocommit=True) as conn:
                self._poll_until_stopped(conn)
        except BaseException as error:
            self.error = error

    def _poll_until_stopped(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stopping.is_set():
            with self._lock:
                keys = [k for k, waiting in self._waiting.items() if waiting]
            if not keys:
                time.sleep(self._poll)
                continue
            at = time.monotonic()
            row = conn.execute(
                "SELECT position FROM relay_positions WHERE relay = %s", (self._topic,)
            ).fetchone()
            relayed = int(row[0]) if row else 0
            points = dict(
                conn.execute(
                    "SELECT key, (value->>%s)::bigint FROM projection_rows "
                    "WHERE projection = %s AND tbl = %s AND key = ANY(%s)",
                    (self._field, PROJECTION, self._table, keys),
                ).fetchall()
            )
            self.polls += 1
            with self._lock:
                unpublished = self._unpublished
                while unpublished and unpublished[0][0] <= relayed and unpublished[0][1] <= at:
                    self.published[unpublished.popleft()[2]] = at
                # Receipts may be recorded out of position order (several workers).
                for position, receipt, i in list(unpublished):
                    if position <= relayed and receipt <= at:
                        self.published[i] = at
                        unpublished.remove((position, receipt, i))
                for key, value in points.items():
                    waiting = self._waiting[key]
                    while waiting and waiting[0][0] <= value and waiting[0][1] <= at:
                        self.visible[waiting.popleft()[2]] = at
                        self._open -= 1
            time.sleep(self._poll)


class Sink(Protocol):
    """Where a worker reports: the tracker itself, or a queue to it (``QueueSink``)."""

    def accepted(
        self, i: int, key: str, expected: int, position: int, times: tuple[float, float, float]
    ) -> None: ...

    def failed(self, message: str) -> None: ...


def issue(
    engine: Engine,
    plan: Plan,
    sink: Sink,
    worker: int,
    workers: int,
    commands: int,
    rate: float,
    t0: float,
    cutoff: float,
) -> None:
    """Worker ``worker``'s share of the schedule: the challenges k with k % workers == it.
    A worker so far behind that it would start a command after ``cutoff`` stops there."""
    challenges = len(plan.challenges)
    done: dict[str, int] = defaultdict(int)
    for i in range(commands):
        k = i % challenges
        if k % workers != worker:
            continue
        due = t0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        started = time.monotonic()
        if started > cutoff:
            return
        j = i // challenges
        try:
            if plan.command == "idea":
                receipt = engine.submit_idea(
                    plan.authors[k][j], plan.challenges[k], title=f"Idea {i}", description="..."
                )
            else:
                receipt = engine.grant_reward(MANAGER, REASON, plan.contributions[k][j])
        except Exception as error:
            sink.failed(f"command {i}: {error!r}")
            continue
        at = time.monotonic()
        key = plan.keys[k][j]
        done[key] += 1
        sink.accepted(i, key, done[key] * plan.step, receipt.position or 0, (due, started, at))


def issue_in_threads(
    engine: Engine, plan: Plan, sink: Sink, first: int, workers: int, total: int, args: Schedule
) -> None:
    """Workers ``first`` .. ``first + workers - 1`` of ``total``, each a thread, on ``engine``."""
    threads = [
        threading.Thread(target=issue, args=(engine, plan, sink, w, total, *args), daemon=True)
        for w in range(first, first + workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# -- several engine processes ----------------------------------------------------------------

Schedule = tuple[int, float, float, float]  # commands, rate, t0, cutoff


class QueueSink:
    """A worker's reports, sent to the tracker in the main process. Times are taken where
    the command runs: ``time.monotonic`` is the machine's one monotonic clock, shared by
    every process, so they compare with the poller's."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def accepted(
        self, i: int, key: str, expected: int, position: int, times: tuple[float, float, float]
    ) -> None:
        self.queue.put((i, key, expected, position, times))

    def failed(self, message: str) -> None:
        self.queue.put(message)


def engine_process(
    settings: Settings, plan: Plan, first: int, workers: int, total: int, start: Any, out: Any
) -> None:
    """An engine of its own (its own connections and group committer), as each API worker
    process has in production, issuing workers ``first`` .. of ``total``."""
    engine = build_engine(settings)
    try:
        out.put("ready")
        schedule: Schedule = start.get()
        issue_in_threads(engine, plan, QueueSink(out), first, workers, total, schedule)
    finally:
        engine.close()
        out.put(None)


def issue_from_processes(
    settings: Settings,
    plan: Plan,
    tracker: Tracker,
    engines: int,
    workers: int,
    commands: int,
    rate: float,
    seconds: float,
) -> float:
    """``engines`` processes with ``workers`` threads each; their reports go to ``tracker``
    as they come. The schedule starts (t0, returned) once every engine is ready."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Queue(), context.Queue()
    total = engines * workers
    processes = [
        context.Process(
            target=engine_process,
            args=(settings, plan, e * workers, workers, total, start, out),
            daemon=True,
        )
        for e in range(engines)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        if out.get(timeout=60) != "ready":
            raise SystemExit("an engine process did not start")
    t0 = time.monotonic() + 0.1
    for _ in processes:
        start.put((commands, rate, t0, t0 + seconds * CUTOFF))
    finished = 0
    while finished < engines:
        report = out.get()
        if report is None:
            finished += 1
        elif isinstance(report, str):
            tracker.failed(report)
        else:
            tracker.accepted(*report)
    for process in processes:
        process.join(15)
    return t0


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
        "p95": round(percentile(ordered, 95), 1),
        "p99": round(percentile(ordered, 99), 1),
        "max": round(ordered[-1], 1) if ordered else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="commands per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--challenges", type=int, default=1_000)
    parser.add_argument("--contributors", type=int, default=2_000)
    parser.add_argument(
        "--workers", type=int, default=16, help="threads issuing commands, in each engine"
    )
    parser.add_argument(
        "--engines",
        type=int,
        default=1,
        help="engine processes issuing commands, each with its own connections and group "
        "committer, as API worker processes have (1: in this process)",
    )
    parser.add_argument(
        "--command",
        choices=["idea", "grant"],
        default="idea",
        help="submit ideas (default) or grant helpful-contribution rewards",
    )
    parser.add_argument("--mode", choices=["processes", "threads"], default="processes")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="how often rows are read")
    parser.add_argument(
        "--relay-poll-ms",
        type=float,
        default=None,
        help="what-if: the relay's idle wait between batches (production: "
        f"{groundswell.publish.relay.POLL_SECONDS * 1000:.0f} ms)",
    )
    parser.add_argument("--drain", type=float, default=20.0, help="seconds to wait for the rest")
    args = parser.parse_args()
    url, servers = os.environ.get("DATABASE_URL"), os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not url or not servers:
        raise SystemExit("set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS (see scripts/)")
    if not 1 <= args.workers <= 16:
        raise SystemExit("--workers: 1 to 16 (the engine's connection pool holds 16)")
    if args.engines < 1 or args.engines * args.workers > args.challenges:
        raise SystemExit("--engines: at least 1, with --engines x --workers <= --challenges")
    if args.contributors < args.challenges:
        raise SystemExit("--contributors must be at least --challenges")
    commands = max(1, round(args.rate * args.seconds))
    workers = min(args.workers, args.challenges)
    relay_poll = None if args.relay_poll_ms is None else args.relay_poll_ms / 1000

    run = uuid.uuid4().hex[:8]
    schema, topic = f"bench_latency_{run}", f"bench.latency.{run}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    settings = Settings(
        database_url=url, postgres_schema=schema, kafka_bootstrap_servers=servers, kafka_topic=topic
    )
    engine = build_engine(settings)
    pipeline: Pipeline | None = None
    tracker: Tracker | None = None
    try:
        started = time.perf_counter()
        plan = set_up(engine, commands, args.challenges, args.contributors, args.command)
        stored = engine.last_position
        set_up_seconds = time.perf_counter() - started
        ensure_topic(servers, topic, DEFAULT_PARTITIONS)
        pipeline = Pipeline(engine, replace(settings), args.mode, relay_poll)
        caught_up = wait_caught_up(url, schema, servers, topic, stored, pipeline)
        print(
            f"set-up: {stored:,} events stored in {set_up_seconds:.1f} s, published and "
            f"folded in {caught_up:.1f} s; {args.challenges} challenges, "
            f"{args.contributors} contributors, {args.mode}; commands from {args.engines} "
            f"engine process(es) x {workers} worker thread(s)"
        )

        tracker = Tracker(commands, url, schema, topic, args.poll_ms / 1000, plan)
        tracker.start()
        if args.engines == 1:
            t0 = time.monotonic() + 0.1
            schedule = (commands, args.rate, t0, t0 + args.seconds * CUTOFF)
            issue_in_threads(engine, plan, tracker, 0, workers, workers, schedule)
        else:
            t0 = issue_from_processes(
                settings, plan, tracker, args.engines, workers, commands, args.rate, args.seconds
            )
        deadline = time.monotonic() + args.drain
        while tracker.open and time.monotonic() < deadline and pipeline.alive():
            time.sleep(0.05)
        tracker.stop()
    finally:
        if pipeline is not None:
            pipeline.stop()
        engine.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        with contextlib.suppress(Exception):
            admin = KafkaAdminClient(bootstrap_servers=servers)
            admin.delete_topics([topic])
            admin.close()
    assert tracker is not None
    report(args, tracker, commands, workers, t0)


def report(
    args: argparse.Namespace,
    tracker: Tracker,
    commands: int,
    workers: int,
    t0: float,
) -> None:
    if tracker.error is not None:
        raise SystemExit(f"the poller failed: {tracker.error!r}")
    done = [i for i in range(commands) if tracker.receipt[i] == tracker.receipt[i]]
    seen = [i for i in done if tracker.visible[i] == tracker.visible[i]]
    sent = len(done)
    last_receipt = max((tracker.receipt[i] for i in done), default=t0)
    achieved = sent / (last_receipt - t0) if sent else 0.0
    lateness = sorted(tracker.started[i] - tracker.due[i] for i in done)
    behind = sent < commands or percentile(lateness, 99) > 0.05  # p99 start >50 ms late
    latency = summary([tracker.visible[i] - tracker.receipt[i] for i in seen])
    relayed = [i for i in seen if tracker.published[i] == tracker.published[i]]
    to_relay = summary([tracker.published[i] - tracker.receipt[i] for i in relayed])
    to_row = summary([max(0.0, tracker.visible[i] - tracker.published[i]) for i in relayed])
    service = summary([tracker.receipt[i] - tracker.started[i] for i in done])
    under = len(seen) == sent and latency["p99"] < TARGET_P99_MS
    passed = under and not behind
    relay_poll = (
        groundswell.publish.relay.POLL_SECONDS * 1000
        if args.relay_poll_ms is None
        else args.relay_poll_ms
    )
    result = {
        "command": args.command,
        "mode": args.mode,
        "challenges": args.challenges,
        "engines": args.engines,
        "workers": workers,
        "relay_poll_ms": relay_poll,
        "target_rate": args.rate,
        "commands": commands,
        "commands_sent": sent,
        "failed": len(tracker.failures),
        "not_sent": commands - sent - len(tracker.failures),
        "unseen": sent - len(seen),
        "achieved_rate": round(achieved, 1),
        "kept_up": not behind,
        "schedule_lag_p99_ms": round(percentile(lateness, 99) * 1000, 1),
        "command_ms": service,
        "latency_ms": latency,
        "receipt_to_relayed_ms": to_relay,
        "relayed_to_row_ms": to_row,
        "polls": tracker.polls,
        "target_p99_ms": TARGET_P99_MS,
        "p99_under_target": under,
        "pass": passed,
    }
    cut = commands - sent - len(tracker.failures)
    print(
        f"commands sent        : {sent:,} of {commands:,} ({len(tracker.failures)} failed"
        + (f", {cut:,} not sent by {CUTOFF:g} x the scheduled time)" if cut else ")")
    )
    print(
        f"achieved rate        : {achieved:,.0f}/s (target {args.rate:,.0f}/s; "
        + (
            f"the engine fell behind: p99 start {result['schedule_lag_p99_ms']:.0f} ms late)"
            if behind
            else "kept up)"
        )
    )
    print(f"command (engine)     : {_ms(service)}")
    print(f"receipt → relayed    : {_ms(to_relay)}")
    print(f"relayed → row        : {_ms(to_row)}")
    print(f"receipt → row        : {_ms(latency)}  ({len(seen):,} seen)")
    verdict = "PASS" if passed else "FAIL"
    if under and behind:
        verdict += f" (p99 under target, but at {achieved:,.0f}/s, not {args.rate:,.0f}/s)"
    print(f"target p99 < {TARGET_P99_MS:.0f} ms  : {verdict}; relay idle poll {relay_poll:.0f} ms")
    for failure in tracker.failures[:3]:
        print(f"  {failure}")
    print(json.dumps(result))


def _ms(s: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:>7.1f}" for name, value in s.items()) + "  ms"


if __name__ == "__main__":
    main()
