"""The outbox relay against a real broker: what arrives, when the position moves, faults.

Every test publishes to a topic of its own. Tests that stop or pause a broker use a
private one (``private_broker``), never the shared broker other tests read from.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from bench.history import write_history
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_relay, build_relay_positions
from groundswell.publish.relay import Backoff, PublishFailed, Relay, ensure_topic, kafka_producer
from groundswell.settings import Settings
from tests.histories import stored_events
from tests.integration.kafka_support import (  # noqa: F401 (fixtures)
    LocalBroker,
    OutsideReader,
    TopicSize,
    check_delivery,
    kafka_servers_fixture,
    key_of,
    private_broker_fixture,
    read_topic,
    unique_topic,
)
from tests.scenario import MANAGER, Scenario
from tests.support import (
    SteppingClock,
    database_url_or_fail,
    postgres_engine,
    postgres_schema,
)

# Fail within seconds, not the production minutes, so an outage is quick to provoke.
QUICK = {
    "request_timeout_ms": 2_000,
    "delivery_timeout_ms": 3_000,
    "max_block_ms": 3_000,
    "bootstrap_timeout_ms": 3_000,
}
ENVELOPE = {
    "event_id": "event_id",
    "aggregate_id": "originator_id",
    "aggregate_version": "originator_version",
    "challenge_id": "challenge_id",
    "actor": "actor",
    "occurred_at": "timestamp",
}


def settings_of(engine: Engine, servers: str, topic: str) -> Settings:
    """The settings ``engine`` was built from, pointed at ``topic``."""
    env = engine.env
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        found = Settings(data_dir=Path(env["SQLITE_DBNAME"]).parent)
    else:
        url, schema = database_url_or_fail(), env["POSTGRES_SCHEMA"]
        found = Settings(database_url=url, postgres_schema=schema)
    return replace(found, kafka_bootstrap_servers=servers, kafka_topic=topic)


def quick_relay(engine: Engine, servers: str, topic: str, batch_size: int = 500) -> Relay:
    """A relay that gives up on a batch after ~3 s and retries within a second."""
    return Relay(
        engine,
        build_relay_positions(settings_of(engine, servers, topic)),
        lambda: kafka_producer(servers, **QUICK),
        topic,
        name=topic,
        servers=servers,
        batch_size=batch_size,
        flush_timeout=3.0,
        backoff=Backoff(first=0.2, most=1.0),
        prepare=lambda: ensure_topic(servers, topic),
    )


def a_busy_challenge(engine: Engine) -> UUID:
    """Commands through the engine: a challenge with ideas, comments and a reward."""
    story = Scenario(engine)
    challenge = story.challenge("open")
    engine.top_up_pot(MANAGER, challenge, 50)
    implemented = story.idea(challenge, "implemented")
    engine.grant_reward(MANAGER, "idea-implemented", implemented)
    story.idea(challenge, "rejected", title="Print less")
    story.helpful_comment(story.idea(challenge, "under review", title="Reuse boxes"))
    return challenge


def plain(value: Any) -> Any:
    """Values as both sides can compare them (the wire has no UUID or tuple types)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def test_an_outside_reader_gets_back_exactly_the_stored_events(
    engine: Engine, kafka_servers: str
) -> None:
    Scenario(engine).with_cast()
    a_busy_challenge(engine)
    Scenario(engine).move(a_busy_challenge(engine), "archived")
    write_history(engine, 700)
    topic = unique_topic("relay")
    relay = build_relay(engine, settings_of(engine, kafka_servers, topic), batch_size=400)
    try:
        assert relay.catch_up() == engine.last_position
    finally:
        relay.close()

    reader = OutsideReader()
    decoded = [reader.decode(m) for m in read_topic(kafka_servers, topic, engine.last_position)]
    stored = stored_events(engine)
    assert len(decoded) == len(stored), "a clean run sends each event once"
    assert check_delivery(decoded, stored) == 0
    by_id = {str(event.event_id): event for _, event in stored}
    assert len({type(e) for e in by_id.values()}) >= 20, "the history covers most event types"
    for d in decoded:
        event = by_id[d.headers["event_id"].decode()]
        name = type(event).__qualname__
        assert d.name == d.record["event_type"] == d.headers["event_type"].decode() == name
        fingerprint = bytes.fromhex(d.headers["fingerprint"].decode())
        assert reader.schemas[fingerprint][0] == name, "the header names the body's schema"
        assert d.key == key_of(event)
        for field, value in d.record.items():
            expected = getattr(event, ENVELOPE.get(field, field), name)
            if isinstance(expected, datetime):
                assert value == expected, field  # timestamp-micros: exact to the microsecond
            else:
                assert plain(value) == plain(expected), f"{name}.{field}"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_position_moves_only_after_the_broker_acknowledged(
    engine: Engine, private_broker: LocalBroker
) -> None:
    servers, topic = private_broker.servers, unique_topic("relay")
    Scenario(engine).with_cast()
    relay = quick_relay(engine, servers, topic)
    try:
        relay.catch_up()
        recorded = relay.position
        assert recorded == engine.last_position
        a_busy_challenge(engine)
        private_broker.pause()
        try:
            with pytest.raises(PublishFailed):
                relay.run_once()
            assert relay.position == recorded
            assert relay.positions.load(topic) == recorded, "recorded what was not acknowledged"
        finally:
            private_broker.resume()
        assert relay.catch_up() == engine.last_position - recorded
        assert relay.positions.load(topic) == engine.last_position
    finally:
        relay.close()
    reader = OutsideReader()
    decoded = [reader.decode(m) for m in read_topic(servers, topic, engine.last_position)]
    check_delivery(decoded, stored_events(engine), after=recorded)


def recorded_position(path: Path, relay: str) -> int:
    try:
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT position FROM relay_positions WHERE relay = ?", (relay,))
            found = row.fetchone()
    except sqlite3.OperationalError:  # the relay has not created its table yet
        return 0
    return int(found[0]) if found else 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_killed_relay_process_resumes_without_loss(
    tmp_path: Path, kafka_servers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = build_engine(Settings(data_dir=tmp_path), clock=SteppingClock())
    write_history(engine, 8000)
    total, topic = engine.last_position, unique_topic("relay")
    command = [str(Path(sys.executable).parent / "groundswell"), "--data-dir", str(tmp_path)]
    command += ["relay", "--topic", topic, "--batch", "100"]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KAFKA_BOOTSTRAP_SERVERS"] = kafka_servers
    store = tmp_path / "groundswell.sqlite"

    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while recorded_position(store, topic) < total // 4:
        assert first.poll() is None and time.monotonic() < deadline, "the relay did not start"
        time.sleep(0.005)
    encoders = children_of(first.pid)
    assert encoders, "the relay process encodes in a process of its own"
    # Kill it while the broker holds messages the relay has not recorded yet, if we can
    # catch that moment before it is halfway through.
    watcher = TopicSize(kafka_servers, topic)
    while watcher.messages() <= recorded_position(store, topic) < total // 2:
        pass
    first.send_signal(signal.SIGKILL)
    first.wait()
    watcher.close()
    assert ended_within(encoders, 30.0), "the encoder process outlived the relay killed"
    at_kill = recorded_position(store, topic)
    assert at_kill < total, "killed too late: the relay had already finished"
    sent_before_restart = len(read_topic(kafka_servers, topic, at_kill))

    started = time.monotonic()
    done = subprocess.run([*command, "--once"], env=env, capture_output=True, text=True)
    recovery = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert recorded_position(store, topic) == total

    reader = OutsideReader()
    decoded = [reader.decode(m) for m in read_topic(kafka_servers, topic, total)]
    duplicates = check_delivery(decoded, stored_events(engine), after=at_kill)
    assert duplicates <= sent_before_restart - at_kill
    with capsys.disabled():
        print(
            f"\nrelay killed at position {at_kill}/{total}; {sent_before_restart} on the topic"
            f" then; {duplicates} duplicates; restart caught up in {recovery:.1f} s"
        )
    engine.close()


def delivered(servers: str, topic: str, engine: Engine) -> int:
    """Check, as an outside reader, that the topic holds every stored event in order per
    challenge; returns the duplicates."""
    reader = OutsideReader()
    decoded = [reader.decode(m) for m in read_topic(servers, topic, engine.last_position)]
    return check_delivery(decoded, stored_events(engine))


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def ended_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_killed_encoder_process_is_replaced_and_nothing_is_lost(
    tmp_path: Path, kafka_servers: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="groundswell.publish.relay")
    engine = build_engine(Settings(data_dir=tmp_path), clock=SteppingClock())
    write_history(engine, 6000)
    total, topic = engine.last_position, unique_topic("relay")
    relay = build_relay(engine, settings_of(engine, kafka_servers, topic), batch_size=100)
    encoder: Any = relay.encoder
    (first,) = encoder.pids()
    relay.backoff = Backoff(first=0.1, most=0.5)
    relay.start_in_thread()
    try:
        deadline = time.monotonic() + 60
        while relay.position < total // 4:
            assert time.monotonic() < deadline and relay.error is None, relay.error
            time.sleep(0.002)
        os.kill(first, signal.SIGKILL)
        assert relay.wait_until(total, timeout=60), relay.error
    finally:
        relay.close()
    assert ended_within([first], 30.0)
    assert "encoder process ended" in caplog.text, "the relay said what happened"
    delivered(kafka_servers, topic, engine)
    engine.close()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(150)
def test_commands_go_on_while_kafka_is_down_and_the_relay_catches_up(
    private_broker: LocalBroker,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = database_url_or_fail()
    servers, topic = private_broker.servers, unique_topic("relay")
    caplog.set_level(logging.INFO, logger="groundswell.publish.relay")
    with postgres_schema(url) as schema:
        engine = postgres_engine(url, schema, SteppingClock())
        relay = quick_relay(engine, servers, topic)
        relay.start_in_thread()
        try:
            Scenario(engine).with_cast()
            a_busy_challenge(engine)
            assert relay.wait_until(engine.last_position, timeout=30)

            private_broker.stop(keep_data=True)
            down = time.monotonic()
            a_busy_challenge(engine)  # the store is the system of record: commands go on
            write_history(engine, 1500)
            a_busy_challenge(engine)
            waiting = engine.last_position - relay.position
            assert not relay.wait_until(engine.last_position, timeout=4)
            assert f"Kafka unreachable at {servers}" in caplog.text

            private_broker.start()
            back = time.monotonic()
            assert relay.wait_until(engine.last_position, timeout=60), relay.error
            caught_up = time.monotonic()
            assert "is back after" in caplog.text
        finally:
            relay.close()
        reader = OutsideReader()
        decoded = [reader.decode(m) for m in read_topic(servers, topic)]
        duplicates = check_delivery(decoded, stored_events(engine))
        retries = caplog.text.count("Kafka unreachable")
        with capsys.disabled():
            print(
                f"\nbroker down {back - down:.1f} s with {waiting} events waiting;"
                f" {retries} retries logged; caught up {caught_up - back:.1f} s after restart;"
                f" {len(decoded)} messages for {engine.last_position} events;"
                f" {duplicates} duplicates"
            )
        engine.close()


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_the_relay_waits_out_a_database_restart(
    kafka_servers: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the fault soak: a PostgreSQL restart ended the relay process (AdminShutdown
    # while recording its position); now it retries, and sends the unrecorded batch again.
    url, topic = database_url_or_fail(), unique_topic("relay")
    with postgres_schema(url) as schema:
        engine = postgres_engine(url, schema, SteppingClock())
        relay = quick_relay(engine, kafka_servers, topic)
        relay.start_in_thread()
        try:
            Scenario(engine).with_cast()
            assert relay.wait_until(engine.last_position, timeout=30)
            session = relay.positions._conn  # type: ignore[attr-defined]
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (session.info.backend_pid,))
            a_busy_challenge(engine)
            assert relay.wait_until(engine.last_position, timeout=30), relay.error
            assert "the event store is unreachable (AdminShutdown" in caplog.text
        finally:
            relay.close()
        delivered(kafka_servers, topic, engine)
        engine.close()


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_the_encoder_process_waits_out_a_database_restart(
    kafka_servers: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, topic = database_url_or_fail(), unique_topic("relay")
    caplog.set_level(logging.WARNING, logger="groundswell.publish.relay")
    with postgres_schema(url) as schema:
        engine = postgres_engine(url, schema, SteppingClock())
        relay = build_relay(engine, settings_of(engine, kafka_servers, topic))
        relay.backoff = Backoff(first=0.1, most=0.5)
        relay.start_in_thread()
        try:
            Scenario(engine).with_cast()
            assert relay.wait_until(engine.last_position, timeout=30)
            with psycopg.connect(url, autocommit=True) as admin:
                # The encoder's sessions: the last thing they did was read this schema's log.
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE %s AND query LIKE %s",
                    (f"%{schema}%", "%notification_id>=%"),
                ).fetchall()
            assert ended, "found the encoder's database sessions"
            a_busy_challenge(engine)
            assert relay.wait_until(engine.last_position, timeout=30), relay.error
        finally:
            relay.close()
        delivered(kafka_servers, topic, engine)
        engine.close()
