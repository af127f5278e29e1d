"""Rebuild read models on every core.

Folding is pure Python, so one process uses one core. Two ways to share a rebuild out:

- :func:`rebuild_in_processes`: each worker process folds a share of the projections. Each
  reads the history itself and rebuilds its projections into the shared store (each swap
  is its own transaction); the caller then takes the rebuilt rows from the store.
- :func:`rebuild_in_shares`: one projection whose fold keeps each aggregate's rows apart
  (``per_aggregate``, such as search) is folded in shares of the aggregates, one per
  worker. Each worker decodes only its share's events (decoding is most of a read). Into
  SQLite it sends its rows back, and the caller joins them and swaps them in, in one
  transaction; into PostgreSQL it writes them to the rebuild's staging table itself, and
  the caller swaps that in.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import wait
from typing import Any

from consumers.log_follower import LogFollower, read_log
from consumers.projector import bulk_work
from groundswell.bootstrap import build_engine, build_read_models, shared_store
from groundswell.readstore.row_json import Encoded, EncodedRows, decode, encode_tables, rows_of
from groundswell.settings import Settings
from projections.catalog import all_projections
from projections.projection import apply_all, folds_per_aggregate
from projections.rows import VERSIONS, Rows

# Shares are told apart by an id's last hex digit (consumers.log_follower.share_of).
MAX_SHARES = 16

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


def can_rebuild_in_shares(follower: LogFollower, name: str, workers: int) -> bool:
    """Whether ``name`` folds per aggregate and other processes can open the event store."""
    projection = follower.projector.projections[name]
    fits = 1 < workers <= MAX_SHARES
    return fits and folds_per_aggregate(projection) and shared_store(follower.app.env)


def rebuild_in_shares(
    settings: Settings,
    follower: LogFollower,
    name: str,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    start_method: str | None = None,
) -> None:
    """Rebuild projection ``name`` (one that folds per aggregate) from the whole history:
    ``workers`` processes each fold one share of the aggregates, reading the events from
    the store ``settings`` name; the rows are swapped into ``follower``'s store with the
    checkpoint. Raises if a worker fails (the stored rows stay as they were).
    The workers are forked when that is safe, else spawned, unless ``start_method`` says.

    A PostgreSQL store has each worker write its rows to a staging table itself, side by
    side; into any other store this process writes the rows the workers send it."""
    if not can_rebuild_in_shares(follower, name, workers):
        raise ValueError(f"projection {name!r} cannot be rebuilt in shares here")
    # Forking is quicker than spawning a fresh interpreter, but only safe in a process with
    # no other thread (a lock another thread held would stay held in the child) and no
    # PostgreSQL pool (whose threads a child must not inherit).
    forkable = not settings.database_url and threading.active_count() == 1
    context = multiprocessing.get_context(start_method or ("fork" if forkable else "spawn"))
    stager = _stager(follower.projector.store)
    staged: list[Any] = []

    def fold(upto: int, topics: list[str]) -> Rows:
        staging = stager.stage(name) if stager else None
        staged.append(staging)
        sent = _fold_in_shares(context, settings, name, upto, topics, workers, progress, staging)
        if stager and staging:
            versions = {k: decode(v) for k, v in sent.get(VERSIONS, ())}
            return stager.staged(staging, versions)
        return EncodedRows(sent)

    try:
        follower.rebuild_folded(name, fold)
    except BaseException:
        for staging in staged:
            if stager and staging:  # swapped in, it went; else it is dropped here
                with contextlib.suppress(Exception):  # the error that got here says more
                    stager.discard(staging)
        raise


def _stager(store: Any) -> Any:
    """``store`` if its workers can write their rows to it themselves (PostgreSQL)."""
    from groundswell.readstore.postgres import PostgresReadModelStore

    return store if isinstance(store, PostgresReadModelStore) else None


def _fold_in_shares(
    context: Any,
    settings: Settings,
    name: str,
    upto: int,
    topics: list[str],
    workers: int,
    progress: Callable[[int], None] | None,
    staging: Any,
) -> Encoded:
    """Fold ``name`` in ``workers`` processes, one share of the aggregates each: every
    share's rows that the workers sent (only the bookkeeping versions when they wrote
    their rows to ``staging`` themselves), joined in key order."""
    counters = [context.Value("q", 0) for _ in range(workers)]
    receivers, processes = [], []
    for k in range(workers):
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_fold_share,
            args=(settings, name, upto, topics, (k, workers), counters[k], sender, staging),
            daemon=True,
        )
        process.start()
        # Closed here before the next worker starts, so only its own worker holds the
        # sending end: when the worker ends, with its rows sent or not, the pipe ends.
        sender.close()
        receivers.append(receiver)
        processes.append(process)
    joined: Encoded = {}
    reported = 0
    waiting = dict(enumerate(receivers))
    try:
        with bulk_work():
            while waiting:
                # Whichever share is ready first: a worker blocked on a full pipe is
                # read while another may still be folding, or may have failed.
                ready = wait(list(waiting.values()), timeout=0.1)
                for k, receiver in list(waiting.items()):
                    if receiver not in ready:
                        continue
                    try:
                        tables = pickle.loads(receiver.recv_bytes())
                    except EOFError:
                        raise RuntimeError(
                            f"rebuilding {name} failed in share {k} of {workers} "
                            f"(exit code {processes[k].exitcode}); see the log above"
                        ) from None
                    for table, rows in tables.items():
                        joined.setdefault(table, []).extend(rows)
                    del waiting[k]
                reported = _report(counters, reported, progress)
    finally:
        for process in processes:
            if waiting:
                process.kill()
            process.join()
        for receiver in receivers:
            receiver.close()
    for rows in joined.values():
        # The shares' aggregates are disjoint, and so are their rows' keys: this merges
        # runs already in key order (one pass) and never compares the text.
        rows.sort()
    return joined


def _fold_share(
    settings: Settings,
    name: str,
    upto: int,
    topics: list[str],
    share: tuple[int, int],
    counter: Any,
    sender: Any,
    staging: Any,
) -> None:
    (projection,) = [p for p in all_projections() if p.name == name]
    engine = build_engine(settings)
    rows = Rows(track_changes=False)
    last = 0
    with bulk_work():
        for batch in read_log(engine, 0, stop=upto, topics=topics, share=share):
            apply_all(projection, rows, (event for _position, event in batch), dedupe=False)
            if batch:
                with counter.get_lock():
                    counter.value += batch[-1][0] - last
                last = batch[-1][0]
        with counter.get_lock():
            counter.value += upto - last
        # Encoded here, side by side with the other shares, not after them in the caller.
        encoded = encode_tables(rows)
        if staging is not None:
            from groundswell.readstore.postgres import stage_rows

            stage_rows(staging, rows_of(encoded))
            encoded = {VERSIONS: encoded.get(VERSIONS, [])}
        sender.send_bytes(pickle.dumps(encoded, protocol=pickle.HIGHEST_PROTOCOL))
    sender.close()
    engine.close()
    os._exit(0)  # as in _rebuild_group: skip freeing millions of rows one by one
