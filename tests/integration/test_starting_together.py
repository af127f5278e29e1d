"""Processes that start together on a new PostgreSQL schema all come up.

The API, the relay, the projectors and the follow-up process each create the tables they
use when they start. docker-compose starts them at the same moment; without set-up one
at a time, PostgreSQL refused all but one of the concurrent ``CREATE TABLE IF NOT
EXISTS`` (a duplicate ``pg_type`` row) and the others ended at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from groundswell.access.sessions import PostgresSessions
from groundswell.access.tokens import PostgresTokens
from groundswell.delivery.outbox import PostgresOutbox
from groundswell.publish.positions import PostgresRelayPositions
from groundswell.readstore.postgres import PostgresReadModelStore
from groundswell.readstore.postgres_kafka import KafkaReadModelStore
from groundswell.readstore.search_index import PostgresSearch
from tests.support import database_url_or_fail, postgres_schema

pytestmark = pytest.mark.postgres

HOUR = timedelta(hours=1)
Opener = Callable[[str, str], Any]
OPENERS: dict[str, Opener] = {
    "read models": PostgresReadModelStore,
    "Kafka-fed read models": KafkaReadModelStore,
    "search": PostgresSearch,
    "tokens": PostgresTokens,
    "web sessions": lambda url, schema: PostgresSessions(url, schema, HOUR, HOUR),
    "relay positions": PostgresRelayPositions,
    "delivery outbox": PostgresOutbox,
}


def open_all_at_once(url: str, schema: str, openers: list[Opener]) -> list[str]:
    """Open every store from its own thread at the same moment; the errors they met."""
    start = threading.Barrier(len(openers))
    errors: list[str] = []

    def open_one(opener: Opener) -> None:
        start.wait()
        try:
            opener(url, schema).close()
        except Exception as error:  # whatever it was, the test reports it
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=open_one, args=(opener,)) for opener in openers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a set-up never finished"
    return errors


@pytest.mark.parametrize("name", OPENERS)
def test_the_same_store_opened_by_several_processes_at_once(name: str) -> None:
    url = database_url_or_fail()
    for _ in range(3):
        with postgres_schema(url) as schema:
            assert open_all_at_once(url, schema, [OPENERS[name]] * 4) == []


def test_every_store_opened_at_once_on_a_new_schema() -> None:
    url = database_url_or_fail()
    for _ in range(3):
        with postgres_schema(url) as schema:
            assert open_all_at_once(url, schema, list(OPENERS.values()) * 2) == []
