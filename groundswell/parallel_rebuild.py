"""Rebuild read models on every core: each worker process folds a share of the projections.

Folding is pure Python, so one process uses one core. Each worker reads the history
itself and rebuilds its projections into the shared store (each swap is its own
transaction); the caller then takes the rebuilt rows from the store.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from groundswell.bootstrap import build_engine, build_read_models
from groundswell.settings import Settings

# Relative cost of each fold and its writes, measured on bench.history's workload; used
# only to balance the workers.
WEIGHTS = {
    "notifications": 5,
    "follow_up": 3,
    "breadth": 2,
    "leaderboard": 2,
    "implementation": 1,
    "balances": 1,
}


def share_out(names: Sequence[str], workers: int) -> list[list[str]]:
    """Split projections into ``workers`` groups of similar total weight (heaviest first)."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(workers, len(names))))]
    loads = [0] * len(groups)
    for name in sorted(names, key=lambda n: (-WEIGHTS.get(n, 1), n)):
        lightest = loads.index(min(loads))
        groups[lightest].append(name)
        loads[lightest] += WEIGHTS.get(name, 1)
    return groups


def _rebuild_group(settings: Settings, names: list[str], counter: Any) -> None:
    engine = build_engine(settings)
    read_models = build_read_models(engine, settings, names, load=False)

    def count(events: int) -> None:
        with counter.get_lock():
            counter.value += events

    try:
        read_models.follower.rebuild(names, count)
    finally:
        read_models.close()
        engine.close()
    # Everything is committed and closed. Skip the interpreter's teardown, which would
    # spend a second freeing millions of rows one by one.
    os._exit(0)


def rebuild_in_processes(
    settings: Settings,
    names: Sequence[str],
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Rebuild ``names`` from the whole history in ``workers`` processes; raise if any fails."""
    # PostgreSQL pools run threads, which a forked child must not inherit: spawn a fresh
    # interpreter there. The embedded SQLite engine has none, and forking saves the
    # second or so a spawned worker spends importing.
    context = multiprocessing.get_context("spawn" if settings.database_url else "fork")
    groups = share_out(names, workers)
    counters = [context.Value("q", 0) for _ in groups]
    processes = [
        context.Process(target=_rebuild_group, args=(settings, group, counter), daemon=True)
        for group, counter in zip(groups, counters, strict=True)
    ]
    for process in processes:
        process.start()
    reported = 0
    while any(p.is_alive() for p in processes):
        time.sleep(0.1)
        reported = _report(counters, reported, progress)
    _report(counters, reported, progress)
    failed = [n for group, p in zip(groups, processes, strict=True) if p.exitcode for n in group]
    if failed:
        raise RuntimeError(f"rebuilding {', '.join(failed)} failed; see the log above")


def _report(counters: list[Any], reported: int, progress: Callable[[int], None] | None) -> int:
    # Every worker reads the whole history; the slowest one says how far the rebuild is.
    done = min(counter.value for counter in counters)
    if progress and done > reported:
        progress(done - reported)
    return max(done, reported)
