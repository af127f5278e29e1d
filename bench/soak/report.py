"""The soak's final table, for a person, and one JSON line, for a machine."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bench.soak.run import Result, describe


def table(result: Result) -> str:
    ledger, c, t = result.ledger, result.commands, result.topic_check
    commands = [x for x in ledger.commands if x.kind != "probe"]
    probes = [x for x in ledger.commands if x.kind == "probe"]
    retried = [x for x in ledger.commands if x.attempts > 1]
    failures: Counter[str] = Counter()
    for command in ledger.commands:
        failures.update(command.failures)
    refusals = Counter(f"{x.kind}: {x.status} {x.code}" for x in ledger.of("refused"))
    lines = [
        "",
        f"fault soak: {result.seconds:.0f} s of load, seed {result.seed}, topic {result.topic}",
        f"  PostgreSQL restarts: {result.postgres}",
        f"  Kafka broker       : {result.broker}",
        "",
        "commands (HTTP, each under its own Idempotency-Key)",
        f"  sent               {len(commands):>7}   (+ {len(probes)} recovery probes)",
        f"  acknowledged (2xx) {len(ledger.of('acknowledged')):>7}",
        f"  refused (4xx)      {len(ledger.of('refused')):>7}   "
        + ", ".join(f"{k} ×{n}" for k, n in refusals.most_common(4)),
        f"  undecided (gave up){len(ledger.of('undecided')):>7}   "
        f"written {c.undecided_written}, not written {c.undecided_not_written}",
        f"  retried            {len(retried):>7}   ({sum(x.attempts for x in ledger.commands)} "
        f"attempts; not definite: {_counts(failures)})",
        f"  reads              {sum(ledger.reads.values()):>7}   ({_counts(ledger.reads)})",
        "",
        "faults (seconds since the load began)",
    ]
    lines += [f"  {f.at:6.1f} s  {f.kind:<20} {describe(f)}" for f in result.faults]
    if result.exits:
        lines.append("processes that ended on their own (restarted as a supervisor would):")
        for e in result.exits:
            last = e.last_lines.splitlines()[-1] if e.last_lines else ""
            lines.append(f"  {e.at:6.1f} s  {e.service:<10} exit {e.status}: {last[:110]}")
    else:
        lines.append("processes that ended on their own: none")
    lines += [
        "",
        "store vs acknowledged",
        f"  acknowledged commands in the store   {c.acknowledged - len(c.lost)}/{c.acknowledged}",
        f"  lost (acknowledged, not stored)      {len(c.lost)}",
        f"  key rows without their events        {len(c.missing_events)}",
        f"  refused but written                  {len(c.refused_but_written)}",
        f"  events of no keyed command           {len(c.unkeyed_events)}",
        f"  events claimed by two keys           {len(c.overlapping)}",
        f"  keys no client sent                  {len(c.unknown_keys)}",
        "store vs topic (outside reader, schemas/ only)",
        f"  events in the store {t.stored}, messages on the topic {t.messages}",
        f"  missing {t.missing}, unknown {t.unknown}, duplicates {t.duplicates} "
        f"(at least once), challenges out of order {len(t.out_of_order)}, "
        f"split over partitions {len(t.split)}",
        f"  pipeline caught up at the end: {'yes' if result.caught_up else 'NO'}",
        "projections vs a rebuild from the store",
    ]
    for p in result.projections:
        verdict = "identical" if p.identical else "DIFFERENT"
        caught = "" if p.caught_up else " (not caught up to the topic's end)"
        lines.append(
            f"  {p.name:<16} {verdict:<10} {p.live_rows:>6} rows, "
            f"{p.differences} differences{caught}"
        )
        lines += [f"      {s}" for s in p.sample]
    lines.append("reward invariants on the final history")
    for name, failure in result.invariants.items():
        lines.append(f"  {name:<20} {'ok' if failure is None else 'FAILED: ' + failure}")
    lines.append(
        f"hash chain (audit verify): {'ok' if result.chain[0] else 'FAILED'} — {result.chain[1]}"
    )
    for label, items in (
        ("lost", c.lost),
        ("refused but written", c.refused_but_written),
        ("two keys", c.overlapping),
        ("unknown keys", c.unknown_keys),
    ):
        lines += [f"  {label}: {item}" for item in items[:5]]
    lines += [
        "",
        f"lost: {result.lost}   double-counted: {result.doubled}   "
        f"verdict: {'PASS' if result.passed else 'FAIL'}",
    ]
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in counter.most_common()) or "none"


def as_json(result: Result) -> dict[str, Any]:
    ledger = result.ledger
    return {
        "seconds": round(result.seconds, 1),
        "seed": result.seed,
        "sent": len(ledger.commands),
        "acknowledged": len(ledger.of("acknowledged")),
        "refused": len(ledger.of("refused")),
        "undecided": len(ledger.of("undecided")),
        "retried": sum(1 for x in ledger.commands if x.attempts > 1),
        "faults": [
            {
                "kind": f.kind,
                "at": round(f.at, 1),
                "cleared": f.cleared,
                "recovered": f.recovered,
                "skipped": f.skipped,
                "error": f.error,
            }
            for f in result.faults
        ],
        "exits": [
            {"service": e.service, "at": round(e.at, 1), "status": e.status} for e in result.exits
        ],
        "stored": result.topic_check.stored,
        "on_topic": result.topic_check.messages,
        "topic_missing": result.topic_check.missing,
        "topic_duplicates": result.topic_check.duplicates,
        "projections": {p.name: p.identical for p in result.projections},
        "invariants": {k: v is None for k, v in result.invariants.items()},
        "chain": result.chain[0],
        "lost": result.lost,
        "double_counted": result.doubled,
        "pass": result.passed,
    }


def print_report(result: Result) -> None:
    print(table(result))
    print(json.dumps(as_json(result)))
