"""The auditor's replay from a real Kafka topic (groundswell/audit/replay.py).

The relay publishes a SQLite store to a topic of the test's own; the projectors fed from
it keep their read models in a PostgreSQL schema of the test's own. A replay of the topic
from offset 0, stopped at the offsets each projector stored, equals those live read
models, also after more was published that the projectors have not read; a redelivered
history replays to the same read models as the store; a tampered row is reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from bench.history import write_history
from groundswell.app.engine import Engine
from groundswell.audit.diff import CHANGED, Difference
from groundswell.audit.replay import compare, live_kafka_models, public, replay
from groundswell.audit.sources import KafkaSource, StoreSource
from groundswell.bootstrap import build_engine, build_kafka_projector, build_relay
from groundswell.publish.positions import SQLiteRelayPositions
from groundswell.publish.relay import Relay, ensure_topic, kafka_producer
from groundswell.readstore.postgres_kafka import KafkaReadModelStore
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES
from tests.integration.kafka_support import kafka_servers_fixture, unique_topic  # noqa: F401
from tests.scenario import MANAGER, Scenario
from tests.support import SteppingClock, database_url_or_fail, postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path, kafka_servers: str) -> Iterator[Settings]:
    """A SQLite store, a topic and a PostgreSQL schema of this test's own."""
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        yield Settings(
            data_dir=tmp_path,
            database_url=url,
            postgres_schema=schema,
            kafka_bootstrap_servers=kafka_servers,
            kafka_topic=unique_topic("audit"),
        )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The engine on the test's SQLite store (the schema is only for the read models)."""
    found = build_engine(replace(settings, database_url=None), clock=SteppingClock())
    yield found
    found.close()


def stories(engine: Engine) -> None:
    """Every kind of story (rewards, redemptions, an archived pot), then volume."""
    story = Scenario(engine)
    story.with_cast()
    challenge = story.challenge("open")
    engine.top_up_pot(MANAGER, challenge, 50)
    implemented = story.idea(challenge, "implemented")
    engine.grant_reward(MANAGER, "idea-implemented", implemented)
    story.helpful_comment(story.idea(challenge, "under review", title="Reuse boxes"))
    story.move(story.challenge("open"), "archived")
    write_history(engine, 900, seed=5)


def relay_all(engine: Engine, settings: Settings) -> None:
    relay = build_relay(engine, replace(settings, database_url=None), batch_size=300)
    try:
        relay.catch_up()
    finally:
        relay.close()


def project_all(settings: Settings, timeout: float = 90.0) -> dict[int, int]:
    """Run every projector (each its own consumer group, one at a time) until each has
    stored the topic's end offsets; returns them."""
    with KafkaSource(settings.kafka_bootstrap_servers or "", settings.kafka_topic) as source:
        ends = source.head()

    def run(name: str) -> None:
        projector = build_kafka_projector(settings, name, group_id=f"{settings.kafka_topic}.{name}")
        deadline = time.monotonic() + timeout

        def caught_up() -> bool:
            stored = projector.store.offsets(name, settings.kafka_topic)
            return all(stored.get(part, 0) >= end for part, end in ends.items())

        try:
            projector.run(until=lambda _: caught_up() or time.monotonic() > deadline)
            assert caught_up(), f"{name} did not catch up within {timeout:.0f} s"
        finally:
            projector.store.close()

    assert settings.database_url
    # The tables first: concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL.
    KafkaReadModelStore(settings.database_url, settings.postgres_schema).close()
    # One after another: several groups joining at once in one process can stall
    # kafka-python's group coordination for minutes (NotCoordinator, nothing assigned).
    for name in PROJECTION_NAMES:
        run(name)
    return ends


def test_a_replay_from_kafka_equals_the_live_read_models_fed_from_kafka(
    engine: Engine, settings: Settings
) -> None:
    stories(engine)
    relay_all(engine, settings)
    ends = project_all(settings)
    assert sum(ends.values()) == engine.last_position

    # More is published that the projectors never read: a concurrent writer, as far as
    # the audit can tell. The replay stops at the offsets stored with the live rows.
    Scenario(engine).idea(Scenario(engine).challenge("open"), "accepted", title="Late")
    relay_all(engine, settings)
    assert engine.last_position > sum(ends.values())

    assert settings.database_url
    store = KafkaReadModelStore(settings.database_url, settings.postgres_schema)
    servers = settings.kafka_bootstrap_servers or ""
    try:
        live = live_kafka_models(store, settings.kafka_topic)
        assert live.at == {name: ends for name in PROJECTION_NAMES}
        with KafkaSource(servers, settings.kafka_topic) as source:
            found = compare(source, live)
            assert source.undecodable == []
        assert found.identical, [d.describe() for d in found.differences[:5]]
        assert found.live_rows == found.replayed_rows
        assert min(found.live_rows.values()) > 0

        # One balance changed behind the projector's back is reported, and only that.
        account = next(k for k in live.rows["balances"].table("accounts") if "person:" in k)
        balance = live.rows["balances"].table("accounts")[account]["balance"]
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(
                f"UPDATE {settings.postgres_schema}.projection_rows "
                "SET value = jsonb_set(value, '{balance}', to_jsonb(%s::int)) "
                "WHERE projection = 'balances' AND tbl = 'accounts' AND key = %s",
                (balance + 7, account),
            )
        tampered = live_kafka_models(store, settings.kafka_topic, ["balances", "leaderboard"])
        with KafkaSource(servers, settings.kafka_topic) as source:
            found = compare(source, tampered)
        assert found.differences == [
            Difference("balances", "accounts", account, "balance", CHANGED, balance + 7, balance)
        ]
    finally:
        store.close()


def test_a_redelivered_history_replays_to_the_same_read_models_as_the_store(
    engine: Engine, settings: Settings
) -> None:
    stories(engine)
    servers, topic = settings.kafka_bootstrap_servers or "", settings.kafka_topic
    relay_all(engine, settings)
    # A second relay with positions of its own sends the whole history again, as a relay
    # that lost its recorded position would: every event arrives twice.
    again = Relay(
        engine,
        SQLiteRelayPositions(settings.data_dir / "groundswell.sqlite"),
        lambda: kafka_producer(servers),
        topic,
        name=f"{topic}.again",
        servers=servers,
        prepare=lambda: ensure_topic(servers, topic),
    )
    try:
        again.catch_up()
    finally:
        again.close()

    with KafkaSource(servers, topic) as source:
        assert source.size({"all": source.head()}) == 2 * engine.last_position
        from_kafka = replay(source)
        assert source.redelivered > 0
        assert public(replay(source)) == public(from_kafka), "a source can be read again"
    assert public(from_kafka) == public(replay(StoreSource(engine)))


@settings_(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**16), size=st.integers(100, 600))
def test_a_replay_from_kafka_of_generated_histories_equals_the_live_read_models(
    kafka_servers: str, tmp_path_factory: pytest.TempPathFactory, seed: int, size: int
) -> None:
    """Histories drawn by hypothesis (bench.history's generator, seeded and sized by it),
    each published to a topic of its own and folded by every projector."""
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        drawn = Settings(
            data_dir=tmp_path_factory.mktemp("drawn"),
            database_url=url,
            postgres_schema=schema,
            kafka_bootstrap_servers=kafka_servers,
            kafka_topic=unique_topic("audit"),
        )
        engine = build_engine(replace(drawn, database_url=None), clock=SteppingClock())
        store = KafkaReadModelStore(url, schema)
        try:
            write_history(engine, size, seed=seed)
            relay_all(engine, drawn)
            project_all(drawn)
            live = live_kafka_models(store, drawn.kafka_topic)
            with KafkaSource(kafka_servers, drawn.kafka_topic) as source:
                found = compare(source, live)
            assert found.identical, [d.describe() for d in found.differences[:5]]
            assert found.live_rows == found.replayed_rows
        finally:
            store.close()
            engine.close()
