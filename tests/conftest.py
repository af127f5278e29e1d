"""Fixtures: a stepping clock, and engines on every backend the behaviour must hold on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundswell.app.engine import Engine
from groundswell.settings import Settings
from tests.http_support import Org, served_org
from tests.support import (
    SteppingClock,
    database_url_or_fail,
    memory_engine,
    postgres_engine,
    postgres_schema,
    sqlite_engine,
)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def memory(clock: SteppingClock) -> Engine:
    """The engine on the in-memory store (domain-level behaviour, fast)."""
    return memory_engine(clock)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SteppingClock
) -> Iterator[Engine]:
    """The engine on SQLite and on a real PostgreSQL: one test body, both backends."""
    if request.param == "sqlite":
        app = sqlite_engine(tmp_path, clock)
        yield app
        app.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        app = postgres_engine(url, schema, clock)
        yield app
        app.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def org(request: pytest.FixtureRequest, tmp_path: Path, clock: SteppingClock) -> Iterator[Org]:
    """The HTTP API over a fresh store with one person per role, each with a token."""
    if request.param == "sqlite":
        served = served_org(Settings(data_dir=tmp_path), clock)
        yield served
        served.client.close()
        served.engine.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        served = served_org(Settings(database_url=url, postgres_schema=schema), clock)
        yield served
        served.client.close()
        served.engine.close()


STATE_MACHINE = "state_machine_run"
WORKER_RUNS: list[dict[str, int]] = []


def state_machine_run() -> dict[str, int]:
    import sys

    module = sys.modules.get("tests.unit.test_engine_state_machine")
    return dict(getattr(module, "RUN", None) or {})


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands its state machine's counts to the controller, which reports."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[STATE_MACHINE] = state_machine_run()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    WORKER_RUNS.append(getattr(node, "workeroutput", {}).get(STATE_MACHINE) or {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in every run's log how much the engine state machine explored."""
    run: Counter[str] = Counter(state_machine_run())
    for worker in WORKER_RUNS:
        run.update(worker)
    if run["examples"]:
        terminalreporter.write_line(
            f"engine state machine: {run['examples']} examples, "
            f"{run['checks'] - run['examples']} steps, {run['commands']} commands "
            f"({run['accepted']} accepted, {run['refused']} refused)"
        )
