"""Rebuild every projection from N stored events, against plainly reading the same events.

    python -m bench.rebuild [--events 200000] [--data-dir DIR]

Prints the plain read rate (notifications read and decoded into domain events, the least
any rebuild must do), the rebuild rate (read, decode, fold into all six projections and
write their rows with checkpoints), and the ratio. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.history import write_history
from consumers.projector import bulk_work
from groundswell.bootstrap import build_engine, build_read_models
from groundswell.parallel_rebuild import rebuild_in_processes
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES

TARGET_RATIO = 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--workers", type=int, default=2, help="processes folding in parallel (1: in-process)"
    )
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="groundswell-bench-"))
    settings = Settings(data_dir=data_dir, database_url=None)
    engine = build_engine(settings)
    if engine.last_position < args.events:
        started = time.perf_counter()
        stored = write_history(engine, args.events - engine.last_position)
        print(f"wrote {stored} events in {time.perf_counter() - started:.1f} s")
    read_models = build_read_models(engine, settings)
    follower = read_models.follower
    total = engine.last_position

    # The plain read runs under the same garbage-collector pause as the rebuild, so the
    # ratio measures only what projecting adds: folding and writing the rows.
    with bulk_work():
        started = time.perf_counter()
        count = sum(len(batch) for batch in follower.read(0))
        read_seconds = time.perf_counter() - started

    started = time.perf_counter()
    if args.workers > 1:
        rebuild_in_processes(settings, list(PROJECTION_NAMES), args.workers)
    else:
        follower.rebuild()
    rebuild_seconds = time.perf_counter() - started

    read_rate, rebuild_rate = count / read_seconds, total / rebuild_seconds
    result = {
        "events": total,
        "plain_read_events_per_s": round(read_rate),
        "rebuild_all_events_per_s": round(rebuild_rate),
        "workers": args.workers,
        "ratio": round(rebuild_rate / read_rate, 3),
        "target_ratio": TARGET_RATIO,
        "pass": rebuild_rate / read_rate >= TARGET_RATIO,
    }
    print(f"plain read (decode) : {read_rate:>10,.0f} events/s  ({read_seconds:.1f} s)")
    print(
        f"rebuild all six     : {rebuild_rate:>10,.0f} events/s  ({rebuild_seconds:.1f} s, "
        f"{args.workers} process{'es' if args.workers > 1 else ''})"
    )
    print(f"ratio               : {result['ratio']:.2f}  (target >= {TARGET_RATIO})")
    print(json.dumps(result))
    read_models.close()


if __name__ == "__main__":
    main()
