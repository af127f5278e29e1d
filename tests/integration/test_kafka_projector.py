"""Projections fed from a real Kafka topic into a real PostgreSQL: the same read models as
folding the history in-process, whatever is redelivered, poisoned, shared or killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaConnectionError

from bench.history import write_history
from consumers.kafka_projector import KafkaProjector, PoisonMessage
from consumers.message_feed import STUCK_SECONDS, LocalFeed
from consumers.stored_rows import StoredRows
from domain.catalog import EVENT_CLASSES
from domain.errors import DomainError
from groundswell.bootstrap import build_kafka_projector
from groundswell.publish.positions import PostgresRelayPositions
from groundswell.readstore.postgres_kafka import Batch, BatchConflict, KafkaReadModelStore
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES, all_projections
from projections.projection import fold
from schemas.codec import MAGIC, EventCodec
from tests.integration.kafka_support import kafka_servers_fixture, unique_topic  # noqa: F401
from tests.scenario import all_events
from tests.support import database_url_or_fail, memory_engine, postgres_schema, redeem

# How long a projector may take to catch up: a consumer stuck joining its group is renewed
# after STUCK_SECONDS and must then join and read, on a machine that may be busy.
SETTLE = 3 * STUCK_SECONDS


pytestmark = pytest.mark.postgres
PROJECTIONS = {p.name: p for p in all_projections()}
CODEC = EventCodec(EVENT_CLASSES)


class Sent(NamedTuple):
    """A published message: where it landed, and its event (None: garbage)."""

    partition: int
    offset: int
    event: Any


def rebuilt(events: list[Any], name: str = "balances") -> dict[str, Any]:
    """The embedded mode's read model: the projection's fold of ``events``."""
    return fold(PROJECTIONS[name], events).public()


@pytest.fixture(scope="module")
def history() -> list[Any]:
    return realistic_history()


def realistic_history() -> list[Any]:
    """A realistic history, then on people's own partitions redemptions (each one moves
    the shared account of redeemed points), pseudonyms and departments; a pot returned."""
    engine = memory_engine()
    write_history(engine, 1_200, seed=11)
    events = all_events(engine)
    handles = sorted({e.handle for e in events if type(e).__name__ == "Registered"})
    drafted = next(e for e in events if type(e).__name__ == "Drafted")
    for n, handle in enumerate(handles[10:]):
        with contextlib.suppress(DomainError):  # those who earned nothing cannot redeem
            redeem(engine, handle, 10, "Team lunch")
        if n % 11 == 0:
            engine.choose_pseudonym(handle, f"Owl {n}")
        if n % 13 == 0:
            engine.change_department(handle, "Logistics")
    engine.close_challenge(drafted.actor, drafted.originator_id)
    engine.archive_challenge(drafted.actor, drafted.originator_id)
    return all_events(engine)


class Feed:
    """One test's topic and schema: publishes as the relay does, runs projectors, reads."""

    def __init__(self, servers: str, topic: str, schema: str) -> None:
        url = database_url_or_fail()
        self.topic, self.schema, self.sent = topic, schema, list[Sent]()
        self.settings = Settings(database_url=url, postgres_schema=schema)
        self.settings = replace(self.settings, kafka_bootstrap_servers=servers, kafka_topic=topic)
        self.store = KafkaReadModelStore(url, schema)

    def publish(self, events: list[Any], garbage: dict[int, bytes] | None = None) -> None:
        """Publish ``events`` keyed like the relay, ``garbage[i]`` before the i-th event."""
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        pending = []
        for index, event in enumerate(events):
            key = str(event.challenge_id or event.originator_id).encode()
            if garbage and index in garbage:
                pending.append((producer.send(self.topic, key=key, value=garbage[index]), None))
            pending.append((producer.send(self.topic, key=key, value=CODEC.encode(event)), event))
        producer.flush()
        for future, event in pending:
            meta = future.get(timeout=10)
            self.sent.append(Sent(meta.partition, meta.offset, event))
        producer.close()

    def ends(self) -> dict[int, int]:
        return {p: offset + 1 for p, offset, _ in sorted(self.sent, key=lambda m: m.offset)}

    def projector(self, name: str, **options: Any) -> KafkaProjector:
        """A projector in a consumer group of this topic's own (``TOPIC.NAME``), not the
        default ``groundswell.NAME``: the suite's workers run projectors at the same time,
        and a member another test leaves in a shared group (killed, or slow to poll) holds
        up every rebalance in it until its session times out."""
        options.setdefault("group_id", self.group(name))
        return build_kafka_projector(self.settings, name, **options)

    def group(self, name: str) -> str:
        return f"{self.topic}.{name}"

    def run(self, projector: KafkaProjector, timeout: float = SETTLE) -> None:
        """Run until the stored offsets reach every partition's end."""
        ends, name = self.ends(), projector.name
        deadline = time.monotonic() + timeout
        try:
            projector.run(until=lambda p: self.caught_up(ends, name) or time.monotonic() > deadline)
        finally:
            projector.store.close()
        assert self.caught_up(ends, name), f"{name}: stored {self.offsets(name)}"

    def caught_up(self, ends: dict[int, int], name: str = "balances") -> bool:
        return all(self.offsets(name).get(p, 0) >= end for p, end in ends.items())

    def offsets(self, name: str = "balances") -> dict[int, int]:
        return self.store.offsets(name, self.topic)

    def rows(self, name: str = "balances") -> dict[str, Any]:
        return self.store.load(name)[0].public()


@contextlib.contextmanager
def own_feed(servers: str, prefix: str = "projector") -> Iterator[Feed]:
    """A topic of its own (3 partitions) and a PostgreSQL schema of its own."""
    topic = unique_topic(prefix)
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    with postgres_schema(database_url_or_fail()) as schema:
        found = Feed(servers, topic, schema)
        try:
            yield found
        finally:
            found.store.close()


@pytest.fixture
def feed(kafka_servers: str) -> Iterator[Feed]:
    with own_feed(kafka_servers) as found:
        yield found


def test_every_projection_fed_from_kafka_equals_the_embedded_fold(
    feed: Feed, history: list[Any]
) -> None:
    feed.publish(history)
    for name in PROJECTION_NAMES:
        feed.run(feed.projector(name))
        assert feed.rows(name) == rebuilt(history, name), name
        assert feed.offsets(name) == feed.ends()


def test_redelivered_events_change_nothing_and_a_restart_resumes_from_stored_offsets(
    feed: Feed, history: list[Any]
) -> None:
    half = len(history) // 2
    feed.publish(history[:half] + history[100:300])  # duplicates at new offsets
    feed.run(feed.projector("balances", batch=97))
    assert feed.rows() == rebuilt(history[:half])

    stored = feed.offsets()
    feed.publish(history[half:] + history[half - 50 : half + 50])
    # A new group id: Kafka has no offsets for it; only the stored ones say where to resume.
    restarted = feed.projector("balances", group_id=feed.group("elsewhere"))
    feed.run(restarted)
    assert restarted.consumed == sum(feed.ends()[p] - stored.get(p, 0) for p in feed.ends())
    assert feed.rows() == rebuilt(history)


def test_a_poison_message_stops_the_projection_or_goes_to_the_dead_letters(
    feed: Feed, history: list[Any]
) -> None:
    part = len(history) // 2
    feed.publish(history[:part], garbage={300: b"not an event"})
    first = next(m for m in feed.sent if m.event is None)

    for _ in range(2):  # a restart meets it again: it is never passed over
        with pytest.raises(PoisonMessage) as stopped:
            feed.run(feed.projector("balances", batch=150))
        message = str(stopped.value)
        assert f"{feed.topic} partition {first.partition} offset {first.offset}" in message
        assert "not Avro single-object encoded" in message
        stored = feed.offsets()
        assert stored[first.partition] == first.offset
        done = [m.event for m in feed.sent if m.event and m.offset < stored.get(m.partition, 0)]
        assert feed.rows() == rebuilt(done)

    unknown = MAGIC + bytes(8) + b"\x02"  # single-object marker, but nobody's fingerprint
    feed.publish(history[part:], garbage={100: unknown})
    feed.run(feed.projector("balances", on_poison="dead-letter"))
    letters = {(d.partition, d.offset): d for d in feed.store.dead_letters("balances")}
    assert letters.keys() == {(m.partition, m.offset) for m in feed.sent if m.event is None}
    assert {d.value for d in letters.values()} == {b"not an event", unknown}
    assert any("unknown schema fingerprint" in d.error for d in letters.values())
    assert all(d.key for d in letters.values())
    assert feed.rows() == rebuilt(history)


def test_two_instances_in_one_group_share_the_partitions_and_the_rows(
    feed: Feed, history: list[Any]
) -> None:
    one, two = (feed.projector("balances", batch=50) for _ in range(2))
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(p.run) for p in (one, two)]

        def stopped() -> bool:  # an instance failed early
            return any(run.done() for run in runs)

        try:
            # Each instance hears of a rebalance from its feed a poll after the group settles
            # it, so for a moment the two views may overlap: wait for the settled split.
            def split_between_them() -> bool:
                mine, theirs = set(one.assigned), set(two.assigned)
                return bool(mine and theirs and mine.isdisjoint(theirs))

            wait_for(lambda: split_between_them() or stopped(), "both own partitions")
            assert not stopped(), "an instance ended before the partitions were split"
            # Redemptions last, at once: on every partition each moves one shared row.
            split = next(i for i, e in enumerate(history) if type(e).__name__ == "PointsRedeemed")
            for part in (history[:split], history[split:]):
                feed.publish(part)
                wait_for(lambda: feed.caught_up(feed.ends()) or stopped(), "caught up", 45)
        finally:
            one.stop()
            two.stop()
        for run in runs:
            run.result(timeout=10)  # raises what an instance failed with
    assert one.consumed and two.consumed
    assert feed.rows() == rebuilt(history)


def test_batches_changing_one_row_wait_for_each_other_or_are_redone(feed: Feed) -> None:
    first, second = feed.store, KafkaReadModelStore(str(feed.settings.database_url), feed.schema)

    def add(batch: Batch, points: int, meanwhile: Callable[[], Any] = lambda: None) -> None:
        rows = StoredRows(batch.fetch)
        rows.row("accounts", "redeemed", lambda: {"balance": 0})["balance"] += points
        meanwhile()
        batch.write(rows.take_writes(), {})

    def add_elsewhere(points: int) -> None:
        with second.batch("balances", "t") as batch:
            add(batch, points)

    # Both read the row absent; the one that inserts second must not overwrite.
    with pytest.raises(BatchConflict), first.batch("balances", "t") as one:
        add(one, 5, meanwhile=lambda: add_elsewhere(7))
    assert first.load("balances")[0].get("accounts", "redeemed") == {"balance": 7}

    # A row read by one batch is locked: the other reads it only after that commits.
    later = threading.Thread(target=add_elsewhere, args=(100,))
    with first.batch("balances", "t") as one:
        add(one, 5, meanwhile=later.start)
        later.join(timeout=0.3)
        assert later.is_alive()
    later.join(timeout=30)  # it waited for the lock; now it commits
    assert first.load("balances")[0].get("accounts", "redeemed") == {"balance": 112}
    second.close()


def test_a_projector_killed_mid_batch_resumes_to_the_rebuilt_read_model(
    feed: Feed, history: list[Any], tmp_path: Path
) -> None:
    feed.publish(history)
    ends, total = feed.ends(), sum(feed.ends().values())

    killed = start_cli(feed, tmp_path / "killed.log", "--batch", "5")
    try:
        wait_for(lambda: sum(feed.offsets().values()) > total // 4, "progress")
        running = processes_with(f"GROUNDSWELL_TOPIC={feed.topic}")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
    assert sum(feed.offsets().values()) < total, "finished before it was killed"
    assert len(running) >= 3, f"the projector, its fork server and its feed: {running}"
    # Its feed process (and the server it was forked from) must not stay behind, reading
    # for a projector that is gone and holding partitions its successor needs.
    wait_for(lambda: not processes_with(f"GROUNDSWELL_TOPIC={feed.topic}"), "no process left", 30)

    log = tmp_path / "restarted.log"
    restarted = start_cli(feed, log, "--batch", "500")
    try:
        wait_for(lambda: feed.caught_up(ends), "caught up after the restart", 45)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
    err = log.read_text()
    assert restarted.returncode == 0, err
    assert "balances: stopped after" in err
    assert feed.rows() == rebuilt(history)


def processes_with(variable: str) -> set[int]:
    """The processes whose environment holds ``variable`` (NAME=value), other than this."""
    wanted, found = variable.encode(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if wanted in environ.read().split(b"\0"):
                        found.add(int(entry))
            except OSError:
                continue  # ended meanwhile, or not ours to read
    return found


def start_cli(feed: Feed, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """``groundswell project balances`` as a real process of its own, stderr to ``log``."""
    command = Path(sys.executable).parent / "groundswell"
    s = feed.settings
    env = {"DATABASE_URL": s.database_url, "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers}
    env |= {"GROUNDSWELL_TOPIC": s.kafka_topic, "GROUNDSWELL_POSTGRES_SCHEMA": s.postgres_schema}
    return subprocess.Popen(
        [str(command), "project", "balances", "--group-id", feed.group("balances"), *options],
        env={**os.environ, **{k: str(v) for k, v in env.items()}},
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )


def wait_for(condition: Callable[[], Any], what: str, timeout: float = SETTLE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.02)


def end_session(conn: Any) -> None:
    """What a PostgreSQL restart does to a client: its session is terminated by the server."""
    with psycopg.connect(database_url_or_fail(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))


class FlakyConsumer:
    """A consumer whose broker goes away for one poll (the rest is the real consumer)."""

    def __init__(self, consumer: Any, fail_at: int) -> None:
        self._consumer, self._fail_at, self.polls = consumer, fail_at, 0

    def poll(self, **options: Any) -> Any:
        self.polls += 1
        if self.polls == self._fail_at:
            raise KafkaConnectionError("111 ECONNREFUSED")
        return self._consumer.poll(**options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)


def test_a_projector_waits_out_a_broker_outage_and_a_database_restart(
    feed: Feed, history: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the fault soak: a broker outage (KafkaConnectionError) or a PostgreSQL restart
    # (AdminShutdown) ended the projection's thread for good.
    feed.publish(history)
    feed.settings = replace(feed.settings, consumer_process=False)  # the consumer in reach
    projector = feed.projector("balances", batch=40)
    assert isinstance(projector.feed, LocalFeed)
    flaky = FlakyConsumer(projector.feed.consumer, fail_at=3)
    projector.feed.consumer = flaky  # type: ignore[assignment]
    ended: list[bool] = []

    def end_its_session_once(p: KafkaProjector) -> bool:
        if not ended and sum(feed.offsets().values()) > len(history) // 3:
            end_session(p.store._conn)
            ended.append(True)
        return False

    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(projector.run, end_its_session_once)
        try:
            wait_for(lambda: feed.caught_up(feed.ends()) or run.done(), "caught up", 60)
        finally:
            projector.stop()
        run.result(timeout=10)
    projector.store.close()
    assert ended and flaky.polls > 3
    assert "KafkaConnectionError" in caplog.text and "AdminShutdown" in caplog.text
    assert feed.rows() == rebuilt(history)


def test_the_read_side_stores_open_a_new_session_after_a_server_restart(feed: Feed) -> None:
    # Found by the fault soak: after a PostgreSQL restart the API answered 500 to every read
    # for good, its one connection to the read models and relay positions closed.
    positions = PostgresRelayPositions(database_url_or_fail(), feed.schema)
    try:
        positions.save(feed.topic, 7, {0: 3})
        for conn in (feed.store._conn, positions._conn):
            end_session(conn)
        with pytest.raises(psycopg.OperationalError):
            feed.store.offsets("balances", feed.topic)  # the call that meets it fails...
        with pytest.raises(psycopg.OperationalError):
            positions.load(feed.topic)
        assert feed.store.offsets("balances", feed.topic) == {}  # ...the next one works
        assert positions.load(feed.topic) == 7 and positions.offsets(feed.topic) == {0: 3}
        with feed.store.batch("balances", feed.topic) as batch:  # the session's temp table
            batch.write([("accounts", "a", {"balance": 1}, False)], {0: 1})
        assert feed.offsets() == {0: 1}
    finally:
        positions.close()
