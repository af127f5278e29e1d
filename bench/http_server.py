"""The HTTP API on PostgreSQL in a process of its own, as bench.http serves it.

    python -m bench.http_server --schema SCHEMA --port PORT [--timings FILE] [--cprofile FILE]

``groundswell serve`` reads DATABASE_URL from the environment but cannot be given a
PostgreSQL schema, so bench.http starts this instead: the very app ``serve`` builds
(``build_http_app`` on ``Settings(database_url=$DATABASE_URL, postgres_schema=SCHEMA)``),
run by ``uvicorn.run`` as ``serve`` runs it (one process, log level warning; uvicorn picks
uvloop and httptools when installed). It stops on SIGINT or SIGTERM.

Two optional instruments, off by default (each costs time of its own):

``--timings FILE`` times the stages of every request: the whole request as uvicorn hands
it to the app (a pure ASGI wrapper), and, wrapped around the engine's own objects, the
token check, the caller's person load, the command (``run``) with its idempotency-key
lookup, its aggregate loads by kind, its id-free check, its save and the insert + commit
within the save, and waits for a pooled PostgreSQL connection. Each stage adds its wall
time and its thread's CPU time (``time.thread_time``). SIGUSR1 appends the figures gathered
so far to FILE as one JSON line and starts afresh, so bench.http can cut them by phase.

``--cprofile FILE`` runs cProfile in the event-loop thread and in every worker thread
(sync endpoints and dependencies run in anyio's thread pool, and cProfile only sees the
thread it is enabled in); the merged pstats are written to FILE at exit. Times are wall
times: in worker threads they include waits for PostgreSQL (psycopg's ``wait``), for the
pool and for the interpreter lock (``lock.acquire``). (A per-thread CPU clock as the
timer costs so much per call that it distorts more than it shows.)
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from groundswell.app.services.unit_of_work import UnitOfWork
from groundswell.bootstrap import build_http_app
from groundswell.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class Timings:
    """Per stage: calls, wall seconds, CPU seconds of the calling thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: dict[str, list[float]] = {}

    def add(self, stage: str, wall: float, cpu: float) -> None:
        with self._lock:
            entry = self._stages.setdefault(stage, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += wall
            entry[2] += cpu

    def timed(self, stage: str, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - wall, time.thread_time() - cpu)

        return wrapper  # type: ignore[return-value]

    def take(self) -> dict[str, dict[str, float]]:
        """The figures so far, then start afresh."""
        with self._lock:
            stages, self._stages = self._stages, {}
        return {k: {"calls": v[0], "wall_s": v[1], "cpu_s": v[2]} for k, v in stages.items()}


def request_label(scope: Scope) -> str:
    path: str = scope["path"]
    if path == "/healthz":
        return "healthz"
    if scope["method"] == "POST" and path.endswith("/ideas"):
        return "submit idea"
    if scope["method"] == "POST" and path.endswith("/comments"):
        return "comment"
    return "other"


class TimedRequests:
    """Pure ASGI wrapper: the wall time of each request, by kind, as uvicorn runs it."""

    def __init__(self, app: ASGIApp, timings: Timings) -> None:
        self.app, self.timings = app, timings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.timings.add(f"request {request_label(scope)}", time.perf_counter() - started, 0)


def instrument(app: Any, timings: Timings) -> None:
    """Wrap the engine's stages (on its instances, and UnitOfWork's loads) with timers."""
    api = app.state.api
    engine = api.engine
    api.tokens.holder = timings.timed("token check", api.tokens.holder)
    engine.person = timings.timed("caller person load", engine.person)
    engine.run = timings.timed("command run", engine.run)
    engine.kept = timings.timed("run: idempotency-key lookup", engine.kept)
    engine.save = timings.timed("run: save", engine.save)
    recorder = engine.recorder
    recorder.insert_events = timings.timed("save: insert + commit", recorder.insert_events)
    pool = recorder.datastore.pool
    pool.getconn = timings.timed("engine pool: get connection", pool.getconn)

    get, exists = UnitOfWork.get, UnitOfWork.exists
    loads: dict[type[Any], Callable[..., Any]] = {}

    def timed_get(self: UnitOfWork, kind: type[Any], aggregate_id: Any) -> Any:
        if kind not in loads:
            loads[kind] = timings.timed(f"run: load {kind.__name__.lower()}", get)
        return loads[kind](self, kind, aggregate_id)

    UnitOfWork.get = timed_get  # type: ignore[method-assign]
    UnitOfWork.exists = timings.timed("run: id-free check", exists)  # type: ignore[method-assign]


class ThreadProfiles:
    """One cProfile per thread that runs a sync endpoint or dependency, merged at the end."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.profiles: list[cProfile.Profile] = []

    def install(self) -> None:
        original = anyio.to_thread.run_sync

        async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            return await original(self._profiled(func), *args, **kwargs)

        anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]

    def _profiled(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            profile: cProfile.Profile | None = getattr(self._local, "profile", None)
            if profile is None:
                profile = self._local.profile = cProfile.Profile()
                with self._lock:
                    self.profiles.append(profile)
            return profile.runcall(func, *args)

        return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schema", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timings", type=Path, default=None)
    parser.add_argument("--cprofile", type=Path, default=None)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL")
    # Throughput is what is measured: the per-token write limit and the refused-token
    # limit (production defaults in groundswell/settings.py) are off here, explicitly.
    settings = Settings(
        database_url=url, postgres_schema=args.schema, write_limit=None, sign_in_failure_limit=None
    )
    app: Any = build_http_app(settings)
    served: ASGIApp = app
    if args.timings is not None:
        timings = Timings()
        instrument(app, timings)
        served = TimedRequests(app, timings)
        out = args.timings

        def dump(_signum: int, _frame: Any) -> None:
            with out.open("a") as file:
                file.write(json.dumps(timings.take()) + "\n")

        signal.signal(signal.SIGUSR1, dump)
    threads = ThreadProfiles()
    loop_profile = cProfile.Profile()
    if args.cprofile is not None:
        threads.install()
        loop_profile.enable()
    try:
        uvicorn.run(served, host=args.host, port=args.port, log_level="warning")
    finally:
        if args.cprofile is not None:
            loop_profile.disable()
            stats = pstats.Stats(loop_profile)
            for profile in threads.profiles:
                stats.add(profile)
            stats.dump_stats(args.cprofile)
        app.state.api.engine.close()
        app.state.api.tokens.close()


if __name__ == "__main__":
    main()
