"""Commands through the application service on PostgreSQL, with and without group commit.

    DATABASE_URL=postgresql://... python -m bench.commands [--quick] [--callers 64]

Each figure is events stored per second, measured in this run, in a fresh schema:

  (a) raw INSERT + COMMIT per row        the flush-per-transaction limit (baseline)
  (b) raw executemany, one transaction   what one transaction for everything gives
  (c) service, 1 caller, a commit each   ``submit_idea`` saved alone (group commit off)
  (c') service, 1 caller, group commit   must stay within 10% of (c)
  (d0) service, N callers, a commit each
  (d) service, N callers, group commit   target: >= 10,000 events/s
  (e) embedded SQLite, 1 caller          for reference
  (f) the group committer alone, N callers, events decided beforehand: what group commit
      gives the store when deciding costs nothing (the storage side's ceiling)

The command is ``submit_idea``: caller i submits into challenge i, so callers do not
conflict (as contributors spread over many challenges). For the concurrent runs it also
prints the process CPU per command and how busy the machine's cores were, which tell
whether the service or the database is the limit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent

from bench.http import fresh_schema
from domain.idea import Idea
from domain.person import person_id
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.eventstore.group_commit import GroupStats
from groundswell.settings import Settings

TARGET_GROUPED = 10_000
TARGET_SINGLE_RATIO = 0.9
STATE = os.urandom(320)  # about the size of a stored IdeaSubmitted


class Measured:
    """Events/s of one run, with the CPU the process and the machine spent on it."""

    def __init__(self, events: int, seconds: float, cpu: float, busy: float) -> None:
        self.events, self.seconds = events, seconds
        self.rate = events / seconds
        self.cpu_per_event_us = cpu / events * 1e6
        self.machine_busy = busy  # cores busy on average (2.0 = both, all the time)


def combined(runs: list[Measured]) -> Measured:
    seconds = sum(m.seconds for m in runs)
    events = sum(m.events for m in runs)
    cpu = sum(m.cpu_per_event_us * m.events for m in runs) / 1e6
    busy = sum(m.machine_busy * m.seconds for m in runs) / seconds
    return Measured(events, seconds, cpu, busy)


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def measure(run: Callable[[], int]) -> Measured:
    ticks, cpu, started = machine_ticks(), time.process_time(), time.perf_counter()
    events = run()
    seconds = time.perf_counter() - started
    busy, total = (a - b for a, b in zip(machine_ticks(), ticks, strict=True))
    cores = os.cpu_count() or 1
    return Measured(events, seconds, time.process_time() - cpu, cores * busy / max(total, 1))


# -- the raw baselines


def raw_table(conn: psycopg.Connection[Any], schema: str) -> str:
    table = f"{schema}.raw_events"
    conn.execute(
        f"CREATE TABLE {table} (originator_id uuid NOT NULL, originator_version bigint NOT"
        " NULL, topic text, state bytea, notification_id bigserial,"
        " PRIMARY KEY (originator_id, originator_version))"
    )
    return table


def raw_rows(n: int) -> list[tuple[Any, ...]]:
    return [(uuid.uuid4(), 1, "domain.idea:Idea.Submitted", STATE) for _ in range(n)]


def insert_commit_each(conn: psycopg.Connection[Any], table: str, n: int) -> int:
    sql = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES"
    sql += " (%s, %s, %s, %s)"
    for row in raw_rows(n):
        with conn.transaction():
            conn.execute(sql, row, prepare=True)
    return n


def executemany_once(conn: psycopg.Connection[Any], table: str, n: int) -> int:
    sql = f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES"
    sql += " (%s, %s, %s, %s)"
    rows = raw_rows(n)
    with conn.transaction(), conn.cursor() as c:
        c.executemany(sql, rows)
    return n


# -- the service


class Org:
    """People and open challenges to submit into, one per caller."""

    def __init__(self, engine: Engine, callers: int) -> None:
        engine.register_person("mia", name="Mia", department="Innovation", roles=["manager"])
        self.people, self.challenges = [], []
        for i in range(callers):
            handle = f"p{i:03d}"
            engine.register_person(handle, name=f"Person {i}", department="Sales")
            self.people.append(handle)
            challenge_id = engine.draft_challenge(
                "mia",
                pot=1000,
                title=f"Challenge {i}",
                question="Where do we waste energy today?",
                sponsor="COO",
                target_departments=["Sales"],
                submission_deadline="2099-12-31",
                decision_deadline_days=30,
            ).id
            assert challenge_id is not None
            engine.open_challenge("mia", challenge_id)
            self.challenges.append(challenge_id)

    def submit(self, engine: Engine, caller: int, n: int) -> int:
        events = 0
        for k in range(n):
            events += engine.submit_idea(
                self.people[caller],
                self.challenges[caller],
                title=f"Idea {k} of {caller}",
                description="Switch off idle lines overnight.",
            ).events
        return events


def concurrent(org: Org, engine: Engine, callers: int, per_caller: int) -> int:
    start = threading.Barrier(callers)

    def one(caller: int) -> int:
        start.wait()
        return org.submit(engine, caller, per_caller)

    with ThreadPoolExecutor(callers) as pool:
        return sum(pool.map(one, range(callers)))


def committed_alone(engine: Engine, callers: int, per_caller: int) -> int:
    """Commands of one pre-made event each, straight to the committer (nothing decided)."""
    committer = engine.committer
    assert committer is not None
    start = threading.Barrier(callers)

    def one(caller: int) -> int:
        made = [
            [StoredEvent(uuid.uuid4(), 1, "domain.idea:Idea.Submitted", STATE)]
            for _ in range(per_caller)
        ]
        start.wait()
        stored = 0
        for events in made:
            with committer.deciding() as decision:  # as the service does
                stored += len(decision.commit(events, None))
        return stored

    with ThreadPoolExecutor(callers) as pool:
        return sum(pool.map(one, range(callers)))


def where_time_goes(org: Org, engine: Engine, n: int) -> dict[str, float]:
    """Process CPU (µs) per step of ``submit_idea``, one caller, the steps run one by one as
    the service runs them: what a single process must spend on each command."""
    person_id_, challenge_id = person_id(org.people[0]), org.challenges[0]
    repo = engine.repository
    steps: dict[str, Callable[[], Any]] = {
        "load the person": lambda: repo.get(person_id_),
        "load the challenge": lambda: repo.get(challenge_id),
        "check the new id is free": lambda: uuid.uuid4() in repo,
    }
    person, challenge = engine.person(org.people[0]), engine.challenge(challenge_id)
    at = datetime.now(tz=UTC)

    def decide() -> Idea:
        return Idea.submit(
            uuid.uuid4(), challenge, person, title="Idea", description="Lines.", at=at
        )

    steps["decide (the domain)"] = decide
    steps["map to a stored event"] = lambda: [
        engine.mapper.to_stored_event(e) for e in decide().collect_events()
    ]
    spent = {}
    for name, step in steps.items():
        started = time.process_time()
        for _ in range(n):
            step()
        spent[name] = (time.process_time() - started) / n * 1e6
    return spent


def line(label: str, m: Measured, baseline: float, extra: str = "") -> None:
    print(
        f"{label:<44} {m.rate:>9,.0f} events/s  x{m.rate / baseline:>5.2f}"
        f"  ({m.events} in {m.seconds:.2f} s; {m.cpu_per_event_us:,.0f} µs process CPU/event;"
        f" {m.machine_busy:.2f} cores busy){extra}"
    )


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--window-ms", type=float, default=None, help="group commit window")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL=postgresql://user:password@host:port/dbname")
    raw_n, single_n, per_caller = (1_000, 500, 20) if args.quick else (5_000, 2_000, 100)
    callers = args.callers
    results: dict[str, Any] = {}

    with fresh_schema(url) as schema, psycopg.connect(url, autocommit=True) as conn:
        table = raw_table(conn, schema)
        a = measure(lambda: insert_commit_each(conn, table, raw_n))
        b = measure(lambda: executemany_once(conn, table, raw_n * 4))
        base = Settings(database_url=url, postgres_schema=schema)
        alone = build_engine(dataclasses.replace(base, group_commit_ms=None))
        if args.window_ms is not None:
            base = dataclasses.replace(base, group_commit_ms=args.window_ms)
        grouped = build_engine(base)
        org = Org(alone, callers)
        # Alternated in rounds, first one then the other first, so the machine's drift (it
        # is shared) hits both alike; the ratio is the median of the rounds' ratios.
        rounds = []
        for r in range(10):
            run_alone = partial(measure, lambda: org.submit(alone, 0, single_n // 10))
            run_grouped = partial(measure, lambda: org.submit(grouped, 1, single_n // 10))
            if r % 2:
                rounds.append((run_alone(), run_grouped()))
            else:
                grouped_first = run_grouped()
                rounds.append((run_alone(), grouped_first))
        c = combined([pair[0] for pair in rounds])
        c1 = combined([pair[1] for pair in rounds])
        single_ratio = statistics.median(pair[1].rate / pair[0].rate for pair in rounds)
        d0 = measure(lambda: concurrent(org, alone, callers, per_caller))
        assert grouped.committer is not None
        grouped.committer.stats = GroupStats()
        d = measure(lambda: concurrent(org, grouped, callers, per_caller))
        stats = dataclasses.replace(grouped.committer.stats)  # before (f) adds to them
        steps = where_time_goes(org, grouped, single_n // 4)
        f = measure(lambda: committed_alone(grouped, callers, per_caller * 5))
        alone.close()
        grouped.close()

    with tempfile.TemporaryDirectory(prefix="groundswell-bench-") as data_dir:
        lite = build_engine(Settings(data_dir=Path(data_dir)))
        lite_org = Org(lite, 1)
        e = measure(lambda: lite_org.submit(lite, 0, single_n))
        lite.close()

    print(f"PostgreSQL, submit_idea (1 event per command), {callers} concurrent callers")
    line("(a) raw INSERT+COMMIT per row [baseline]", a, a.rate)
    line("(b) raw executemany, one transaction", b, a.rate)
    line("(c) service, 1 caller, a commit each", c, a.rate)
    line(
        "(c') service, 1 caller, group commit",
        c1,
        a.rate,
        f"  = x{single_ratio:.2f} of (c), median of 10 alternated rounds",
    )
    line(f"(d0) service, {callers} callers, a commit each", d0, a.rate)
    groups = f"  groups of {stats.commands / max(stats.groups, 1):.1f} on average"
    line(f"(d) service, {callers} callers, group commit", d, a.rate, groups)
    line("(e) embedded SQLite, 1 caller", e, a.rate)
    line(f"(f) group committer alone, {callers} callers", f, a.rate)
    single_ok = single_ratio >= TARGET_SINGLE_RATIO
    print(
        f"targets: (d) >= {TARGET_GROUPED:,} events/s: {pass_fail(d.rate >= TARGET_GROUPED)}"
        f" ({d.rate:,.0f}); (c') >= 90% of (c): {pass_fail(single_ok)}"
        f" ({single_ratio:.0%})"
    )
    steps_line = ", ".join(f"{name} {spent:,.0f}" for name, spent in steps.items())
    decided = sum(steps.values())
    print("where the time goes, in process CPU per submit_idea (µs):")
    print(f"  1 caller, step by step: {steps_line} = {decided:,.0f} before the commit")
    print(
        f"  the commit's share in groups, 64 callers (f): {f.cpu_per_event_us:,.0f};"
        f" measured per command in (d): {d.cpu_per_event_us:,.0f} (the rest is not split"
        f" further: the unit of work, pool check-outs, {callers} threads waking each other)"
    )
    one_core = 1e6 / d.cpu_per_event_us
    cores = os.cpu_count() or 1
    print(
        f"  at {d.cpu_per_event_us:,.0f} µs of CPU per event, one core gives ~{one_core:,.0f}"
        f" events/s and all {cores} (shared with PostgreSQL; Python code holds the GIL, one"
        f" core at a time) at most ~{cores * one_core:,.0f}; {TARGET_GROUPED:,} events/s needs"
        f" <= {cores * 1e6 / TARGET_GROUPED:,.0f} µs per event. Cores busy in (d):"
        f" {d.machine_busy:.2f} of {cores}"
    )
    results["steps_cpu_us"] = {k: round(v) for k, v in steps.items()}
    for name, m in {"a": a, "b": b, "c": c, "c1": c1, "d0": d0, "d": d, "e": e, "f": f}.items():
        results[name] = {
            "events_per_s": round(m.rate),
            "cpu_us_per_event": round(m.cpu_per_event_us),
        }
    results["groups"] = {
        "groups": stats.groups,
        "commands": stats.commands,
        "largest": stats.largest,
        "conflicts": stats.conflicts,
    }
    results["pass"] = {"grouped_10k": d.rate >= TARGET_GROUPED, "single_within_10pct": single_ok}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
