"""A projection's topic read through a feed, in the projector's process or in one of its
own, against a real broker and a real PostgreSQL: where reading starts, what a rewind
drops, and what reaches the projector when the database or the feed's process fails."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from consumers.kafka_projector import KafkaProjector
from consumers.message_feed import (
    Feed,
    FeedSpec,
    Interest,
    LocalFeed,
    MemberStuck,
    Polled,
    ProcessFeed,
    kafka_consumer,
)
from groundswell.readstore.postgres_kafka import (
    KafkaReadModelStore,
    StoredOffsetsReader,
    feed_session_name,
)
from tests.integration.kafka_support import kafka_servers_fixture, unique_topic  # noqa: F401
from tests.integration.test_kafka_projector import (
    end_session,
    own_feed,
    realistic_history,
    rebuilt,
    wait_for,
)
from tests.support import database_url_or_fail, postgres_schema

pytestmark = pytest.mark.postgres
PROJECTION = "balances"
EVERYTHING = Interest(frozenset(), frozenset())  # no fingerprint known: every message kept
MESSAGES = 300
STORED = {0: 5, 1: 2}  # partition 2 has nothing stored: read from its beginning
UNREACHABLE = "postgresql://nobody:nothing@127.0.0.1:1/nowhere"


class Topic:
    """A topic of 3 partitions holding MESSAGES messages, and a schema with STORED."""

    def __init__(self, servers: str, schema: str) -> None:
        self.servers, self.schema, self.url = servers, schema, database_url_or_fail()
        self.name = unique_topic("feed")
        admin = KafkaAdminClient(bootstrap_servers=servers)
        admin.create_topics([NewTopic(self.name, 3, 1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=servers)
        for n in range(MESSAGES):
            producer.send(self.name, key=f"k{n % 10}".encode(), value=f"m{n}".encode())
        producer.flush()
        producer.close()
        self.store = KafkaReadModelStore(self.url, schema)
        with self.store.batch(PROJECTION, self.name) as batch:
            batch.claim(list(STORED))
            batch.write([], STORED)

    def feed(self, kind: str, url: str | None = None, batch: int = 7) -> Feed:
        group = unique_topic("group")
        if kind == "local":
            stored = StoredOffsetsReader(url or self.url, self.schema, PROJECTION, self.name)
            consumer = kafka_consumer(self.servers, group, batch)
            return LocalFeed(consumer, self.name, stored, EVERYTHING, batch=batch)
        spec = FeedSpec(
            self.servers,
            group,
            self.name,
            PROJECTION,
            url or self.url,
            self.schema,
            EVERYTHING,
            StoredOffsetsReader,
        )
        return ProcessFeed(replace(spec, batch=batch))


@pytest.fixture(scope="module")
def history() -> list[Any]:
    return realistic_history()


@pytest.fixture
def topic(kafka_servers: str) -> Iterator[Topic]:
    with postgres_schema(database_url_or_fail()) as schema:
        found = Topic(kafka_servers, schema)
        yield found
        found.store.close()


def first_offsets(feed: Feed, partitions: int = 3, timeout: float = 30.0) -> dict[int, int]:
    """The first offset each partition's messages come from, from the next batches on."""
    first: dict[int, int] = {}

    def more() -> bool:
        polled: Polled | None = feed.poll(200)
        for partition, part in (polled.parts if polled else {}).items():
            first.setdefault(partition, part.kept[0][0])
        return len(first) == partitions

    wait_for(more, f"messages from {partitions} partitions", timeout)
    return first


@pytest.mark.parametrize("kind", ["local", "process"])
def test_reading_starts_at_the_stored_offsets_and_a_rewind_goes_back_to_them(
    topic: Topic, kind: str
) -> None:
    feed = topic.feed(kind)
    try:
        feed.join()
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}
        for _ in range(5):  # read on: a process feed has polled further ahead meanwhile
            feed.poll(200)
        feed.rewind()
        # Nothing polled before the rewind comes out after it, however far ahead it was.
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}
        assert feed.assigned == {0, 1, 2}
    finally:
        feed.close()


@pytest.mark.parametrize("kind", ["local", "process"])
def test_stored_offsets_that_cannot_be_read_reach_the_projector_as_a_database_error(
    topic: Topic, kind: str
) -> None:
    # A database down while partitions are assigned: nothing may be read from wherever
    # Kafka would start, and the projector must hear a database error it waits out (a
    # failure inside kafka-python's rebalance callback used to end the projection).
    feed = topic.feed(kind, url=UNREACHABLE)
    try:
        feed.join()
        with pytest.raises(psycopg.OperationalError):
            wait_for(lambda: feed.poll(200) is not None, "a batch")
        with pytest.raises(psycopg.OperationalError):  # rewinding needs the database too
            feed.rewind()
            wait_for(lambda: feed.poll(200) is not None, "a batch")
    finally:
        feed.close()


def test_a_local_feed_reads_from_the_stored_offsets_once_the_database_is_back(
    topic: Topic,
) -> None:
    down = [True]
    reader = StoredOffsetsReader(topic.url, topic.schema, PROJECTION, topic.name)

    def stored() -> dict[int, int]:
        if down[0]:
            raise psycopg.OperationalError("the database system is starting up")
        return reader()

    consumer = kafka_consumer(topic.servers, unique_topic("group"), 7)
    feed = LocalFeed(consumer, topic.name, stored, EVERYTHING, batch=7)
    try:
        feed.join()
        with pytest.raises(psycopg.OperationalError):
            wait_for(lambda: feed.poll(200) is not None, "a batch")
        down[0] = False
        feed.rewind()
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}
    finally:
        feed.close()
        reader.close()


class NeverSettles(KafkaConsumer):  # type: ignore[misc]
    """A real consumer that reports itself forever rebalancing: kafka-python 3.0 was seen
    to leave a group leader so, between its assignment and its SyncGroup, for minutes."""

    def group_metadata(self) -> Any:
        return super().group_metadata()._replace(state="<rebalancing>")


def test_a_local_feed_whose_consumer_never_settles_joins_again_with_a_new_one(
    topic: Topic,
) -> None:
    group = unique_topic("group")
    stuck = NeverSettles(
        bootstrap_servers=topic.servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=7,
    )
    renewed: list[KafkaConsumer] = []

    def renew() -> KafkaConsumer:
        renewed.append(kafka_consumer(topic.servers, group, 7))
        return renewed[-1]

    reader = StoredOffsetsReader(topic.url, topic.schema, PROJECTION, topic.name)
    feed = LocalFeed(stuck, topic.name, reader, EVERYTHING, batch=7, renew=renew, stuck_after=1)
    try:
        feed.join()
        with pytest.raises(MemberStuck, match="not settled into group"):
            wait_for(lambda: feed.poll(200) is None and False, "the stuck member noticed", 20)
        assert renewed == []
        feed.rewind()
        assert len(renewed) == 1 and feed.consumer is renewed[0]
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}  # the new member reads as usual
        assert feed.assigned == {0, 1, 2}
    finally:
        feed.close()
        reader.close()


def end_feed_sessions(pid: int | None) -> int:
    """End the feed process's database sessions, as a server restart would; how many."""
    name = feed_session_name(PROJECTION, pid)
    with psycopg.connect(database_url_or_fail(), autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (name,),
        ).fetchall()
        gone = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        wait_for(lambda: admin.execute(gone, (name,)).fetchone() == (0,), "sessions ended", 30)
    return len(ended)


def test_a_feed_process_reads_from_the_stored_offsets_once_its_session_is_back(
    topic: Topic,
) -> None:
    feed = topic.feed("process")
    try:
        feed.join()
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}
        # A new member is often assigned its partitions twice in its first second; an
        # assignment after the session ends would meet the error first (and, its epoch
        # overtaken by the rewind below, have it dropped), then read on a new session.
        time.sleep(2)
        assert end_feed_sessions(feed.pid) == 1
        feed.rewind()  # meets the ended session
        with pytest.raises(psycopg.OperationalError):
            wait_for(lambda: feed.poll(200) is not None, "a batch")
        feed.rewind()  # a new session
        assert first_offsets(feed) == {0: 5, 1: 2, 2: 0}
    finally:
        feed.close()


def test_closing_a_feed_process_leaves_the_group_even_while_it_waits_to_hand_over(
    topic: Topic,
) -> None:
    feed = topic.feed("process", batch=50)
    assert isinstance(feed, ProcessFeed)
    feed.join()
    first_offsets(feed)
    time.sleep(1.0)  # read no more: it fills the pipe and waits to hand over the next
    started = time.monotonic()
    feed.close()
    assert feed.exitcode == 0  # left by itself (closing its consumer), not killed
    assert time.monotonic() - started < 5
    assert feed.pid is None


def test_a_process_fed_projector_waits_out_a_database_restart_dropping_what_it_read_ahead(
    kafka_servers: str, history: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with own_feed(kafka_servers, "restart") as published:
        published.publish(history)
        projector = published.projector(PROJECTION, batch=40)
        ended: list[bool] = []
        ends, deadline = published.ends(), time.monotonic() + 60

        def end_sessions_once(p: KafkaProjector) -> bool:
            if not ended and sum(published.offsets().values()) > len(history) // 3:
                assert isinstance(p.feed, ProcessFeed)
                end_session(p.store._conn)  # the batch in hand fails; those read ahead go
                end_feed_sessions(p.feed.pid)
                ended.append(True)
            return published.caught_up(ends) or time.monotonic() > deadline

        try:
            projector.run(until=end_sessions_once)
            assert published.caught_up(ends), f"stored {published.offsets()}"
            assert ended and "AdminShutdown" in caplog.text
            assert published.rows() == rebuilt(history)
        finally:
            projector.store.close()


def test_a_killed_feed_process_is_replaced_and_nothing_is_lost_or_counted_twice(
    kafka_servers: str, history: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with own_feed(kafka_servers, "killed-feed") as published:
        half = len(history) // 2
        published.publish(history[:half])
        projector = published.projector(PROJECTION, batch=40)
        feed = projector.feed
        assert isinstance(feed, ProcessFeed)
        killed: list[int] = []
        deadline = time.monotonic() + 60

        def kill_once_then_catch_up(_: KafkaProjector) -> bool:
            if not killed and feed.pid and sum(published.offsets().values()) > half // 3:
                killed.append(feed.pid)
                os.kill(feed.pid, signal.SIGKILL)
                # Published after the kill, so only a new feed process can read it (what
                # the old one read ahead may still be in the pipe, and is applied).
                published.publish(history[half:])
            caught_up = bool(killed) and published.caught_up(published.ends())
            return caught_up or time.monotonic() > deadline

        try:
            projector.run(until=kill_once_then_catch_up)
            assert published.caught_up(published.ends()), f"stored {published.offsets()}"
            assert killed and "FeedLost" in caplog.text
            assert published.rows() == rebuilt(history)
        finally:
            projector.store.close()
