"""Fixtures: a stepping clock, and engines on every backend the behaviour must hold on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from groundswell.engine import Engine
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
