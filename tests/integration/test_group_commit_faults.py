"""Group commit while PostgreSQL drops the engine's connections: nothing lost, nothing doubled.

The engine's connections carry an application name of their own; a killer thread keeps
terminating them (mid-read, mid-insert, mid-COMMIT) while keyed commands run at once.
Afterwards every command is sent again with its key: each answers one receipt, and the
store holds exactly one event per command.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError

from domain.errors import DomainError
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.eventstore.chain import verify
from groundswell.eventstore.idempotency import CommandKey, keyed
from tests.group_commit_world import AUTHORS, IDEAS, grouped_engine, set_up
from tests.scenario import all_events
from tests.support import database_url_or_fail, postgres_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

COMMANDS = 160


def comment(engine: Engine, n: int) -> Receipt | Exception:
    try:
        with keyed(CommandKey("caller:test", f"comment-{n}", f"fingerprint-{n}")):
            return engine.comment(AUTHORS[n % 4], IDEAS[n % 4], f"Comment {n}")
    except (PersistenceError, DomainError) as error:
        return error


def test_connections_killed_under_load_lose_nothing_and_double_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = database_url_or_fail()
    name = f"groundswell-faults-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq names every connection the engine opens
    stop = threading.Event()
    killed = 0

    def killer() -> None:
        nonlocal killed
        with psycopg.connect(url, autocommit=True, application_name="killer") as conn:
            while not stop.wait(random.uniform(0.002, 0.02)):
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s",
                    (name,),
                ).fetchall()
                killed += sum(1 for row in rows if row[0])

    with postgres_schema(url) as schema:
        engine = grouped_engine(schema, window_ms=2)
        try:
            set_up(engine)
            before = len(all_events(engine))
            thread = threading.Thread(target=killer)
            thread.start()
            try:
                with ThreadPoolExecutor(24) as pool:
                    first = list(pool.map(lambda n: comment(engine, n), range(COMMANDS)))
            finally:
                stop.set()
                thread.join()

            # Connections the server dropped stay in the pool until used, and could use up
            # the retries of the next reads: replace them first (how a restarted server is
            # recovered from is the fault soak's subject, not this test's).
            engine.recorder.datastore.pool.check()  # type: ignore[attr-defined]
            again = [comment(engine, n) for n in range(COMMANDS)]
            assert all(isinstance(o, Receipt) for o in again), again
            assert killed > 0
            for n, outcome in enumerate(first):
                if isinstance(outcome, Receipt):
                    assert again[n] == outcome  # the first answer stands
            assert len({o.id for o in again if isinstance(o, Receipt)}) == COMMANDS
            assert len(all_events(engine)) - before == COMMANDS
            assert [comment(engine, n) for n in range(COMMANDS)] == again
            assert verify(engine).ok
        finally:
            engine.close()
