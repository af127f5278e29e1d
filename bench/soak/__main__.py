"""``python -m bench.soak [--seconds 300]``: the fault soak (``make soak``); exit 1 unless
nothing was lost or double-counted and every check passed. See bench/soak/__init__.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.soak.report import print_report
from bench.soak.run import Config, soak


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="Load for this long.")
    parser.add_argument("--contributors", type=int, default=6)
    parser.add_argument(
        "--rounds", type=int, default=0, help="Rounds of every fault (0: one per 150 s)."
    )
    parser.add_argument("--seed", type=int, default=None, help="Replay a run's random choices.")
    parser.add_argument(
        "--pg-mode",
        choices=["fast", "immediate"],
        default="fast",
        help="Shutdown mode of the PostgreSQL restart (immediate: a crash, WAL recovery).",
    )
    parser.add_argument("--logs", type=Path, default=None, help="Where the processes log.")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args()
    config = Config(
        seconds=args.seconds,
        contributors=args.contributors,
        rounds=args.rounds,
        seed=args.seed,
        pg_mode=args.pg_mode,
        keep_database=args.keep_database,
        logs=args.logs,
    )
    result = soak(config, say=lambda line: print(line, flush=True))
    print_report(result)
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
