"""`make bench`: every benchmark of the project in turn, one table, and the same as JSON.

Each benchmark runs as its own process (``python -m bench.NAME``), as a user would run it,
and ends by printing its figures as one JSON line; this reads that line and puts each
figure beside the baseline measured in the same run, the ratio, the target and the
verdict. A benchmark that fails or needs a service that is not configured is a row that
says so, never a missing row. ``--quick`` scales every size down for a smoke run (its
figures are not the targets' measurements).

    python -m bench.suite [--quick] [--only NAME ...] [--out bench/results/suite.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
Figures = dict[str, Any]


@dataclass
class Row:
    path: str
    figure: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None  # None: measured for reference, no target


@dataclass
class Bench:
    name: str
    full: list[str]
    quick: list[str]
    rows: Callable[[Figures], list[Row]]
    needs: tuple[str, ...] = ()  # environment variables the benchmark cannot run without
    seconds: float = 0.0
    error: str | None = None
    figures: Figures = field(default_factory=dict)


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def ms(figures: dict[str, float]) -> str:
    return f"p50 {figures['p50']:.1f} / p99 {figures['p99']:.1f} ms"


def ratio_row(
    path: str, figure: float, baseline: float, name: str, target: float, unit: str
) -> Row:
    ratio = figure / baseline if baseline else 0.0
    return Row(
        path,
        f"{figure:,.0f} {unit}",
        f"{baseline:,.0f} {unit} ({name})",
        f"{ratio:.2f}",
        f"≥ {target:.2f}",
        ratio >= target,
    )


def rebuild_rows(f: Figures) -> list[Row]:
    return [
        ratio_row(
            f"rebuild all projections from the store ({f['events']:,} events)",
            f["rebuild_all_events_per_s"],
            f["plain_read_events_per_s"],
            "plain read + decode",
            f["target_ratio"],
            "ev/s",
        )
    ]


def search_rows(f: Figures) -> list[Row]:
    size = f"{f['ideas']:,} ideas, {f['contributions']:,} contributions"
    rows = [
        ratio_row(
            f"search projection rebuild ({f['events']:,} events)",
            f["rebuild_events_per_s"], f["plain_read_events_per_s"], "plain read + decode",
            f["target_ratio"], "ev/s",
        )
    ]  # fmt: skip
    if "ratio" in f.get("postgres", {}):
        pg = f["postgres"]
        rows.append(
            ratio_row(
                f"search projection rebuild into PostgreSQL ({f['events']:,} events)",
                pg["rebuild_events_per_s"], f["plain_read_events_per_s"],
                "plain read + decode", f["target_ratio"], "ev/s",
            )
        )  # fmt: skip
    for store, name in (("sqlite", "SQLite FTS5"), ("postgres", "PostgreSQL tsvector")):
        if store in f:
            rows.append(
                Row(
                    f"search, {name} ({size})", ms(f[store]), "—", "—",
                    f"p99 < {f['target_p99_ms']:.0f} ms", f[store]["p99"] < f["target_p99_ms"],
                )
            )  # fmt: skip
    return rows


def relay_rows(f: Figures) -> list[Row]:
    return [
        ratio_row(
            f"relay: store → Avro → Kafka, acked ({f['events']:,} events)",
            f["relay_events_per_s"],
            f["bare_producer_events_per_s"],
            "bare producer",
            f["target_ratio"],
            "ev/s",
        )
    ]


def catchup_rows(f: Figures) -> list[Row]:
    return [
        ratio_row(
            f"projection catch-up from Kafka into PostgreSQL ({f['projection']}, "
            f"{f['events']:,} events)",
            f["catchup_events_per_s"],
            f["bare_consumer_events_per_s"],
            "bare consumer; medians of 5 runs",
            f["target_ratio"],
            "ev/s",
        )
    ]


def replay_rows(f: Figures) -> list[Row]:
    rows = []
    for source in ("store", "kafka"):
        if source not in f:
            continue
        s = f[source]
        row = ratio_row(
            f"audit replay of {f['events']:,} events from the {source}, all projections",
            s["replay_events_per_s"], s["plain_read_events_per_s"], "plain read + decode",
            f["target_ratio"], "ev/s",
        )  # fmt: skip
        row.figure += f" ({s['replay_seconds']:.1f} s)"
        row.target += f" and < {f['target_seconds']:.0f} s"
        row.passed = bool(s["ratio_pass"] and s["seconds_pass"])
        rows.append(row)
    return rows


def http_rows(f: Figures) -> list[Row]:
    ratio = f["ratio"]
    return [
        Row(
            "HTTP commands, closed loop (uvicorn, PostgreSQL)",
            f"{f['commands_per_s']:,.0f} commands/s, {ms(f['command_ms'])}",
            f"{f['noop_req_per_s']:,.0f} req/s (GET /healthz, no-op)",
            f"{ratio:.3f}",
            f"≥ {f['target_ratio']:.2f}",
            bool(f["ratio_pass"]),
        ),
        Row(
            f"HTTP commands, steady at {f['steady_rate']:,.0f}/s",
            ms(f["steady_ms"]) + f", {f['steady_errors']} errors",
            "—",
            "—",
            f"p99 < {f['target_steady_p99_ms']:.0f} ms",
            bool(f["steady_pass"]),
        ),
    ]


def latency_rows(f: Figures) -> list[Row]:
    return [
        Row(
            "command accepted → visible in the leaderboard (Kafka, PostgreSQL)",
            f"{ms(f['latency_ms'])} at {f['achieved_rate']:,.0f} commands/s",
            f"{f['target_rate']:,.0f} commands/s asked",
            f"{f['achieved_rate'] / f['target_rate']:.2f}",
            f"p99 < {f['target_p99_ms']:.0f} ms at {f['target_rate']:,.0f}/s",
            bool(f["pass"]),
        )
    ]


def command_rows(f: Figures) -> list[Row]:
    """bench.commands: a = raw INSERT+COMMIT per row, b = raw executemany, c = the service
    with a commit per command, c1 = the same with group commit, d0/d = 64 callers without
    and with group commit, e = embedded SQLite (see bench/commands.py)."""

    def rate_of(name: str) -> float:
        return float(f[name]["events_per_s"])

    raw = f"{rate_of('a'):,.0f} ev/s (raw INSERT+COMMIT per row)"
    passed = f["pass"]
    return [
        Row("commands, embedded SQLite, 1 caller", f"{rate_of('e'):,.0f} ev/s", "—", "—",
            "—", None),
        Row("commands, PostgreSQL, 1 caller, a commit each", f"{rate_of('c'):,.0f} ev/s", raw,
            f"{rate_of('c') / rate_of('a'):.2f}", "—", None),
        Row("commands, PostgreSQL, 1 caller, group commit on", f"{rate_of('c1'):,.0f} ev/s",
            f"{rate_of('c'):,.0f} ev/s (a commit each)", f"{rate_of('c1') / rate_of('c'):.2f}",
            "≥ 0.90", bool(passed["single_within_10pct"])),
        Row("commands, PostgreSQL, 64 callers, a commit each", f"{rate_of('d0'):,.0f} ev/s",
            raw, f"{rate_of('d0') / rate_of('a'):.2f}", "—", None),
        Row("commands, PostgreSQL, 64 callers, group commit", f"{rate_of('d'):,.0f} ev/s", raw,
            f"{rate_of('d') / rate_of('a'):.2f}", "≥ 10,000 ev/s", bool(passed["grouped_10k"])),
        Row("  … the same against raw executemany", f"{rate_of('d'):,.0f} ev/s",
            f"{rate_of('b'):,.0f} ev/s (raw executemany, one transaction)",
            f"{rate_of('d') / rate_of('b'):.3f}", "—", None),
    ]  # fmt: skip


def follow_up_rows(f: Figures) -> list[Row]:
    desk = f["desk_read_ms"]
    return [
        ratio_row(
            f"follow-up pass over {f['items']:,} open items, {f['challenges']:,} challenges "
            f"(read rows + decide; {f['steady_pass_new_steps']:,} new steps)",
            f["pass_items_per_s"],
            f["plain_read_items_per_s"],
            "plain read of the rows",
            f["target_ratio"],
            "items/s",
        ),
        Row(
            f"desk read, a person with {f['desk_items']} items",
            ms(desk),
            "—",
            "—",
            f"p99 < {f['target_desk_p99_ms']:.0f} ms",
            desk["p99"] < f["target_desk_p99_ms"],
        ),
    ]


def delivery_rows(f: Figures) -> list[Row]:
    return [
        ratio_row(
            f"deliver {f['messages']:,} e-mails to a local SMTP server (outbox, compose, record;"
            f" {f['lanes']} lanes; one lane: {f['email_one_lane_ratio']:.2f})",
            f["deliverer_email_per_s"],
            f["bare_smtplib_per_s"],
            "bare smtplib loop, same messages",
            f["target_ratio"],
            "msg/s",
        ),
        ratio_row(
            f"deliver {f['messages']:,} webhooks to a local receiver (outbox, sign, record;"
            f" {f['lanes']} lanes; one lane: {f['webhook_one_lane_ratio']:.2f})",
            f["deliverer_webhooks_per_s"],
            f["bare_http_per_s"],
            "bare http.client keep-alive loop, same requests",
            f["target_ratio"],
            "msg/s",
        ),
    ]


def timed(figures: dict[str, float]) -> str:
    return f"{ms(figures)}; CPU {figures['cpu_ms']:.0f} ms"


def challenge_page_rows(f: Figures) -> list[Row]:
    rows = []
    for run in f["runs"]:
        where = f"{run['ideas']:,} ideas, served over HTTP, {run['store']}"
        load = f"load average {run['load_average']:.1f} on {run['cpus']} CPUs"
        first = run["first_page_ms"]["p99"]
        target = f["target_p99_ms"]
        rows += [
            Row(f"challenge page, first page of its ideas ({where})", timed(run["first_page_ms"]),
                load, "—", f"p99 < {target:.0f} ms", first < target),
            Row("  … its page 3, filtered by department, most endorsed first",
                timed(run["sorted_page_ms"]), load, "—", "—", None),
            Row("  … its board (ideas by stage)", timed(run["board_ms"]), load, "—", "—", None),
        ]  # fmt: skip
    return rows


DB = "DATABASE_URL"
KAFKA = "KAFKA_BOOTSTRAP_SERVERS"
BENCHES = [
    Bench("commands", [], ["--quick"], command_rows, (DB,)),
    Bench("rebuild", ["--events", "200000"], ["--events", "20000"], rebuild_rows),
    Bench("relay", ["--events", "100000"], ["--events", "10000", "--rounds", "1"], relay_rows,
          (KAFKA,)),
    Bench("catchup", ["--events", "100000"], ["--events", "10000", "--repeat", "1"],
          catchup_rows, (DB, KAFKA)),
    Bench("replay", ["--events", "1000000"], ["--events", "50000"], replay_rows, (KAFKA,)),
    Bench("http", [], ["--quick"], http_rows, (DB,)),
    Bench("latency", [], ["--seconds", "5", "--rate", "200"], latency_rows, (DB, KAFKA)),
    Bench("follow_up", [], ["--items", "20000", "--challenges", "200", "--repeat", "1"],
          follow_up_rows),
    Bench("delivery", ["--messages", "10000"], ["--messages", "1000"], delivery_rows),
    Bench("challenge_page", ["--postgres"], ["--quick"], challenge_page_rows, (DB,)),
    Bench("search", [], ["--quick"], search_rows),
]  # fmt: skip


def run(bench: Bench, quick: bool, console: Console) -> None:
    missing = [name for name in bench.needs if not os.environ.get(name)]
    if missing:
        bench.error = f"not run: {', '.join(missing)} not set (make bench sets them)"
        return
    command = [sys.executable, "-m", f"bench.{bench.name}", *(bench.quick if quick else bench.full)]
    console.rule(f"[bold]{' '.join(command[1:])}")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    bench.seconds = time.perf_counter() - started
    print(done.stdout.rstrip(), flush=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        bench.error = f"exit {done.returncode}: " + " | ".join(tail)
        return
    bench.figures = json.loads(lines[-1])


def rows_of(bench: Bench) -> list[Row]:
    if bench.error is None:
        try:
            return bench.rows(bench.figures)
        except (KeyError, TypeError, ZeroDivisionError) as error:
            bench.error = f"figures not understood: {error!r}"
    return [Row(f"bench.{bench.name}", bench.error or "", "—", "—", "—", False)]


def table(rows: list[Row], title: str) -> Table:
    shown = Table(title=title, show_lines=True)
    for column in ("path", "figure", "baseline (same run)", "ratio", "target", "verdict"):
        shown.add_column(column, overflow="fold")
    for row in rows:
        verdict = {True: "[green]PASS", False: "[red]FAIL", None: "—"}[row.passed]
        shown.add_row(row.path, row.figure, row.baseline, row.ratio, row.target, verdict)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="*", choices=[b.name for b in BENCHES])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "suite.json")
    args = parser.parse_args()
    # A log file or CI is not a terminal: keep the table's rows on one line each there.
    console = Console() if sys.stdout.isatty() else Console(width=180)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    started = time.perf_counter()
    for bench in chosen:
        run(bench, args.quick, console)
    rows = [row for bench in chosen for row in rows_of(bench)]
    minutes = (time.perf_counter() - started) / 60
    title = f"groundswell benchmarks{' (quick)' if args.quick else ''} — {minutes:.1f} min"
    console.print(table(rows, title))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "minutes": round(minutes, 1),
        "rows": [asdict(row) for row in rows],
        "benchmarks": {
            b.name: {"seconds": round(b.seconds, 1), "error": b.error, "figures": b.figures}
            for b in chosen
        },
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(f"written to {args.out}")


if __name__ == "__main__":
    main()
