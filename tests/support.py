"""Helpers shared by the test suites (no fixtures here; see conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eventsourcing.utils import get_topic

from domain.store import StoreItem
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.settings import Settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STORE_LISTED = get_topic(StoreItem.Listed)


class SteppingClock:
    """A clock tests move by hand; each reading advances it by one millisecond."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def memory_engine(clock: SteppingClock | None = None) -> Engine:
    """An engine on the library's in-memory store: for fast domain-level tests."""
    return Engine(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock or SteppingClock())


def store_item(engine: Engine, name: str, price: int, stock: int | None = None) -> uuid.UUID:
    """The id of the store item called ``name`` at ``price``, offered by the operator if this
    engine's store has none yet (for stories that need something to redeem)."""
    for event in engine.recorder.select_notifications(1, 100_000, topics=[STORE_LISTED]):
        listed = engine.mapper.to_domain_event(event)
        if (listed.name, listed.price) == (name, price):
            return uuid.UUID(str(listed.originator_id))
    found = engine.offer_item(name, price=price, stock=stock).id
    assert found is not None
    return found


def redeem(engine: Engine, handle: str, points: int, item: str = "Voucher") -> Receipt:
    """``handle`` redeems a store item called ``item`` costing ``points``."""
    return engine.redeem_item(handle, store_item(engine, item, points))


def database_url_or_fail() -> str:
    """The PostgreSQL URL for integration tests.

    Without DATABASE_URL the test is skipped on a developer's machine, but fails
    under CI=true: there, PostgreSQL must be real and present.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail("DATABASE_URL is not set under CI=true; run the suite through 'make test'.")
    pytest.skip("DATABASE_URL not set (make test starts PostgreSQL and sets it)")


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards, so tests never share tables."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def sqlite_engine(tmp_path: Path, clock: SteppingClock) -> Engine:
    return build_engine(Settings(data_dir=tmp_path), clock=clock)


def postgres_engine(url: str, schema: str, clock: SteppingClock) -> Engine:
    return build_engine(Settings(database_url=url, postgres_schema=schema), clock=clock)
