"""One soak, start to verdict: set up, load and faults, drain, catch up, check."""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.soak import checks, workload
from bench.soak.clients import Client, Ledger
from bench.soak.faults import OUTAGE_SECONDS, RECOVERY_TIMEOUT, Fault, Injector, plan
from bench.soak.faults import wait_consumed as pipeline_caught_up
from bench.soak.processes import Exit, Processes
from bench.soak.services import Broker, PostgresControl, fresh_database
from groundswell.bootstrap import build_engine, build_tokens
from groundswell.loopback import free_port
from groundswell.settings import Settings
from tests.histories import stored_events

MANAGERS = ("m1", "m2")
OWNER = "o1"
PROBER = "prober"


@dataclass(frozen=True)
class Config:
    seconds: float = 300.0
    contributors: int = 6
    rounds: int = 0  # 0: one round of every fault per 150 s of load, at least one
    seed: int | None = None
    patience: float = 180.0  # a client gives up on a command after this long
    pg_mode: str = "fast"  # pg_ctlcluster's shutdown mode for the restart
    keep_database: bool = False
    logs: Path | None = None


@dataclass
class Result:
    config: Config
    seed: int
    logs: Path
    topic: str = ""
    postgres: str = ""
    broker: str = ""
    seconds: float = 0.0
    ledger: Ledger = field(default_factory=Ledger)
    faults: list[Fault] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    caught_up: bool = False
    commands: checks.CommandCheck = field(default_factory=checks.CommandCheck)
    topic_check: checks.TopicCheck = field(default_factory=checks.TopicCheck)
    projections: list[checks.ProjectionCheck] = field(default_factory=list)
    invariants: dict[str, str | None] = field(default_factory=dict)
    chain: tuple[bool, str] = (False, "not run")

    @property
    def lost(self) -> int:
        return (
            len(self.commands.lost) + len(self.commands.missing_events) + self.topic_check.missing
        )

    @property
    def doubled(self) -> int:
        return self.commands.doubled + len(self.commands.refused_but_written)

    @property
    def passed(self) -> bool:
        return (
            self.lost == 0
            and self.doubled == 0
            and self.caught_up
            and self.topic_check.unknown == 0
            and not self.topic_check.out_of_order
            and not self.topic_check.split
            and bool(self.projections)
            and all(p.identical for p in self.projections)
            and bool(self.invariants)
            and all(v is None for v in self.invariants.values())
            and self.chain[0]
            and not any(f.error for f in self.faults)
            and all(f.skipped or f.recovered is not None for f in self.faults)
        )


def set_up(url: str, contributors: int) -> tuple[dict[str, str], int]:
    """People and a token each, through the engine (as an administrator would)."""
    engine = build_engine(Settings(database_url=url))
    try:
        for handle in MANAGERS:
            engine.register_person(handle, name=handle.upper(), department="R&D", roles=["manager"])
        engine.register_person(OWNER, name="Owner", department="Production", roles=["owner"])
        handles = [f"c{n:02d}" for n in range(contributors)]
        for n, handle in enumerate([*handles, PROBER]):
            department = workload.DEPARTMENTS[n % len(workload.DEPARTMENTS)]
            engine.register_person(handle, name=f"Contributor {n}", department=department)
        engine.offer_item("Team lunch", price=10, item_id=workload.TEAM_LUNCH)
        position = engine.last_position
    finally:
        engine.close()
    tokens = build_tokens(Settings(database_url=url))
    try:
        issued = {h: tokens.issue(h, "soak")[0] for h in [*MANAGERS, OWNER, *handles, PROBER]}
    finally:
        tokens.close()
    return issued, position


def soak(config: Config, say: Callable[[str], None] = print) -> Result:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL (make soak starts PostgreSQL and sets it)")
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(10**6)
    logs = config.logs or Path(tempfile.mkdtemp(prefix="soak-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    result = Result(config, seed, logs)
    broker = Broker.from_environment()
    postgres = PostgresControl.for_url(url, config.pg_mode)
    result.postgres = postgres.skip_reason or postgres.describe
    try:
        servers = broker.start() if broker.state_dir is not None else broker.servers
        assert servers
        result.broker = broker.skip_reason or f"{servers} (state dir {broker.state_dir})"
        with fresh_database(url, keep=config.keep_database) as database:
            _soak(config, result, database, servers, broker, postgres, say)
    finally:
        broker.close()
    return result


def _soak(
    config: Config,
    result: Result,
    database: str,
    servers: str,
    broker: Broker,
    postgres: PostgresControl,
    say: Callable[[str], None],
) -> None:
    run = uuid.uuid4().hex[:8]
    result.topic = topic = f"soak.{run}"
    tokens, setup_position = set_up(database, config.contributors)
    processes = Processes.build(database, servers, topic, f"soak-{run}", free_port(), result.logs)
    say(
        f"soak {run}: seed {result.seed}, {config.seconds:.0f} s, database "
        f"{database.rsplit('/', 1)[-1]}, topic {topic}, logs {result.logs}"
    )
    processes.start()
    try:
        started = time.monotonic()
        asyncio.run(
            _drive(config, result, processes, broker, postgres, tokens, database, topic, say)
        )
        result.seconds = time.monotonic() - started
        result.exits = processes.exits
        engine = build_engine(Settings(database_url=database))
        try:
            last = engine.last_position
            say(
                f"load over after {result.seconds:.0f} s; waiting for the pipeline to reach "
                f"position {last}"
            )
            result.caught_up = asyncio.run(pipeline_caught_up(database, topic, last, 180))
        finally:
            engine.close()
    finally:
        processes.stop()
    say("checking: commands, topic, projections, invariants, chain")
    engine = build_engine(Settings(database_url=database))
    try:
        stored = stored_events(engine)
        result.commands = checks.check_commands(
            result.ledger, checks.command_keys(database), stored, setup_position
        )
        result.topic_check = checks.check_topic(servers, topic, stored)
        result.projections = checks.check_projections(engine, database, servers, topic)
        result.invariants = checks.check_invariants(engine, stored)
    finally:
        engine.close()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "GROUNDSWELL_TOPIC": topic,
    }
    result.chain = checks.verify_chain(env)


async def _drive(
    config: Config,
    result: Result,
    processes: Processes,
    broker: Broker,
    postgres: PostgresControl,
    tokens: dict[str, str],
    database: str,
    topic: str,
    say: Callable[[str], None],
) -> None:
    """The load for ``config.seconds`` (longer if the faults are not done by then), the
    supervisor, and the faults; then every client's last command to a definite answer."""
    started = time.monotonic()

    def clock() -> float:
        return time.monotonic() - started

    rng = random.Random(result.seed)
    random.seed(result.seed)  # the workload's choices too
    base = f"http://127.0.0.1:{processes.port}"

    def client(handle: str, patience: float = config.patience) -> Client:
        return Client(handle, tokens[handle], base, result.ledger, topic, patience)

    world, stop = workload.World(), asyncio.Event()
    actors = [client(h) for h in MANAGERS]
    owner = client(OWNER)
    contributors = [client(h) for h in tokens if h.startswith("c")]
    prober = client(PROBER, RECOVERY_TIMEOUT)
    tasks = [asyncio.create_task(workload.manager(a, world, stop)) for a in actors]
    tasks.append(asyncio.create_task(workload.owner(owner, world, stop)))
    tasks += [asyncio.create_task(workload.contributor(c, world, stop)) for c in contributors]

    rounds = config.rounds or max(1, round(config.seconds / 150))
    result.faults = faults = plan(rounds, rng)
    expected = sum(OUTAGE_SECONDS + 10 if f.kind.startswith("Kafka") else 10 for f in faults)
    budget = max(2.0 * len(faults), 0.85 * config.seconds - expected)
    gaps = [budget / (len(faults) + 1) * rng.uniform(0.5, 1.5) for _ in faults]
    gaps[0] += budget / (len(faults) + 1)  # let the load settle in first
    injector = Injector(processes, broker, postgres, prober, database, topic, clock)
    faulting = asyncio.create_task(injector.run(faults, gaps))

    async def supervise() -> None:
        while True:
            processes.supervise(clock())
            await asyncio.sleep(0.5)

    supervisor = asyncio.create_task(supervise())
    reported = 0
    while clock() < config.seconds or not faulting.done():
        await asyncio.sleep(1)
        for fault in faults[reported:]:
            if (
                fault.skipped
                or fault.error
                or fault.recovered is not None
                or (faulting.done() and fault.at)
            ):
                say(f"  {fault.at:6.1f} s  {fault.kind:<20} {describe(fault)}")
                reported += 1
            else:
                break
    await faulting
    stop.set()
    await asyncio.gather(*tasks)  # each ends once its last command is definite (or given up)
    supervisor.cancel()
    for each in [*actors, owner, *contributors, prober]:
        await each.close()


def describe(fault: Fault) -> str:
    if fault.skipped:
        return f"SKIPPED: {fault.skipped}"
    if fault.error:
        return f"FAILED TO INJECT: {fault.error}"
    cleared = f"cleared after {fault.cleared:.1f} s" if fault.cleared is not None else ""
    if fault.recovered is None:
        return f"{cleared}; NOT recovered within {RECOVERY_TIMEOUT:.0f} s"
    return f"{cleared}; recovered after {fault.recovered:.1f} s"
