"""Helpers for tests against a real Kafka broker: where it is, fresh topics, outside readers.

Import the fixtures into a test module (``from tests.integration.kafka_support import
kafka_servers_fixture``): it provides ``kafka_servers``, with the same rule as
``database_url_or_fail`` (skipped on a developer's machine without a broker, a failure
under CI=true); ``private_broker_fixture`` provides ``private_broker``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
KAFKA_LOCAL = ROOT / "scripts" / "kafka-local"


def kafka_servers_or_fail() -> str:
    """KAFKA_BOOTSTRAP_SERVERS; skip without it, but fail under CI=true (make test sets it)."""
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        return servers
    if os.environ.get("CI") == "true":
        pytest.fail("KAFKA_BOOTSTRAP_SERVERS is not set under CI=true; run 'make test'.")
    pytest.skip("KAFKA_BOOTSTRAP_SERVERS not set (make test starts Kafka and sets it)")


@pytest.fixture(name="kafka_servers")
def kafka_servers_fixture() -> str:
    """The shared test broker (never stop or pause it: other tests use it too)."""
    return kafka_servers_or_fail()


def unique_topic(prefix: str = "test") -> str:
    """A topic no other test uses."""
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def read_topic(
    servers: str, topic: str, at_least: int = 0, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every message on ``topic``, by partition then offset (waits for ``at_least``).

    A plain consumer without a group: it assigns itself every partition, reads from the
    beginning up to the end offsets, and commits nothing.
    """
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        while not consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} never appeared")
            time.sleep(0.1)  # each call above asks the broker again
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found: dict[int, list[ConsumerRecord]] = {tp.partition: [] for tp in parts}
        while True:
            ends = consumer.end_offsets(parts)
            done = all(consumer.position(tp) >= ends[tp] for tp in parts)
            if done and sum(ends.values()) >= at_least:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: {sum(ends.values())} messages, not {at_least}")
            for tp, records in consumer.poll(timeout_ms=200, max_records=10_000).items():
                found[tp.partition].extend(records)
        return [record for p in sorted(found) for record in found[p]]
    finally:
        consumer.close()


class TopicSize:
    """How many messages a topic holds now (its partitions' end offsets), asked repeatedly."""

    def __init__(self, servers: str, topic: str) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
        partitions = self.consumer.partitions_for_topic(topic)
        self.parts = [TopicPartition(topic, p) for p in sorted(partitions)]

    def messages(self) -> int:
        return sum(self.consumer.end_offsets(self.parts).values())

    def close(self) -> None:
        self.consumer.close()


@dataclass(frozen=True)
class Decoded:
    """One message as an outside reader sees it: the schema's name, its record, headers."""

    name: str
    record: dict[str, Any]
    headers: dict[str, bytes]
    key: bytes
    partition: int
    offset: int


class OutsideReader:
    """Decodes messages knowing only the .avsc files (not groundswell's own codec)."""

    def __init__(self, directory: Path = SCHEMAS) -> None:
        self.schemas: dict[bytes, tuple[str, Any]] = {}
        for path in sorted(directory.glob("*.avsc")):
            parsed = parse_schema(json.loads(path.read_text()))
            canonical = to_parsing_canonical_form(parsed)
            self.schemas[bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))] = (path.stem, parsed)

    def decode(self, message: ConsumerRecord) -> Decoded:
        value: bytes = message.value
        assert value[:2] == b"\xc3\x01", "not Avro single-object encoded"
        name, schema = self.schemas[value[2:10]]
        record = fastavro.schemaless_reader(io.BytesIO(value[10:]), schema, schema)
        assert isinstance(record, dict)
        headers = {k: v for k, v in message.headers}
        return Decoded(name, record, headers, message.key, message.partition, message.offset)


def key_of(event: Any) -> bytes:
    """The key the relay gives an event: its challenge id, or its aggregate id."""
    return str(event.challenge_id or event.originator_id).encode()


def check_delivery(decoded: list[Decoded], stored: list[tuple[int, Any]], after: int = 0) -> int:
    """Every stored event arrived; duplicates only after position ``after``; each key on one
    partition, its events (first copies) in store order. Returns the number of duplicates."""
    position = {str(event.event_id): pos for pos, event in stored}
    copies = Counter(d.headers["event_id"].decode() for d in decoded)
    assert set(copies) == set(position), "an event is missing, or one was never stored"
    duplicated = [eid for eid, n in copies.items() if n > 1]
    assert all(position[eid] > after for eid in duplicated), "a recorded event was sent again"
    expected: dict[bytes, list[str]] = defaultdict(list)
    for _, event in stored:
        expected[key_of(event)].append(str(event.event_id))
    arrived: dict[bytes, list[str]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    seen: set[str] = set()
    for d in decoded:  # by partition, then offset: each key's order as a consumer sees it
        partitions[d.key].add(d.partition)
        eid = d.headers["event_id"].decode()
        if eid not in seen:
            seen.add(eid)
            arrived[d.key].append(eid)
    assert all(len(p) == 1 for p in partitions.values()), "a challenge spans partitions"
    assert arrived == expected, "a challenge's events arrived out of order"
    return sum(copies.values()) - len(copies)


class LocalBroker:
    """A broker of this test's own (scripts/kafka-local with its own state dir).

    Fault tests stop and pause this one, never the shared broker other tests use.
    """

    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "KAFKA_LOCAL_STATE_DIR": str(state_dir)}
        self.servers = ""

    def _run(self, *args: str) -> str:
        done = subprocess.run(
            [str(KAFKA_LOCAL), *args], env=self.env, capture_output=True, text=True, timeout=240
        )
        if done.returncode != 0:
            pytest.fail(f"kafka-local {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout.strip()

    def start(self) -> str:
        self.servers = self._run("start")
        return self.servers

    def stop(self, keep_data: bool = True) -> None:
        self._run("stop", *(["--keep-data"] if keep_data else []))

    def pause(self) -> None:
        self._run("pause")

    def resume(self) -> None:
        self._run("resume")


@pytest.fixture(name="private_broker", scope="module")
def private_broker_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker for fault tests, started once per module and removed afterwards."""
    kafka_servers_or_fail()  # the same skip-or-fail rule: Kafka tests are on or off together
    broker = LocalBroker(tmp_path_factory.mktemp("kafka-state"))
    broker.start()
    try:
        yield broker
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=broker.env, capture_output=True)
