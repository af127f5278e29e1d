"""A projection's catch-up from the Kafka topic into PostgreSQL, against a bare consumer.

    python -m bench.catchup [--events 100000] [--projection balances] [--batch 2000]

Publishes a realistic history of about N events (once: a topic that already holds them is
reused), then times a bare kafka-python consumer reading the whole topic (the least any
consumer must do) and the projection catching up from zero: read, decode, fold against
the stored rows and commit rows, versions and offsets per batch. Both include joining a
fresh consumer group; each is the median of --repeat interleaved runs. Prints both rates,
the ratio (target >= 0.5; the ratio of the best runs beside it) and a JSON line.
Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from dataclasses import replace
from typing import Any

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from bench.history import write_history
from consumers.kafka_projector import KafkaProjector
from domain.catalog import EVENT_CLASSES
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_kafka_projector
from groundswell.settings import Settings
from schemas.codec import EventCodec

TARGET_RATIO = 0.5
PARTITIONS = 3


def end_offsets(servers: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=servers)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        found = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        consumer.close()


def publish(servers: str, topic: str, events: int) -> None:
    """Write a history through the domain and publish it as the relay would."""
    admin = KafkaAdminClient(bootstrap_servers=servers)
    if topic in admin.list_topics():
        admin.delete_topics([topic])
        time.sleep(2)  # deletion is asynchronous
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    admin.close()
    engine = Engine(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    started = time.perf_counter()
    write_history(engine, events)
    codec = EventCodec(EVENT_CLASSES)
    producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20)
    start, sent = 1, 0
    while page := engine.recorder.select_notifications(start=start, limit=5_000):
        for notification in page:
            event: Any = engine.mapper.to_domain_event(notification)
            key = str(event.challenge_id or event.originator_id).encode()
            producer.send(topic, key=key, value=codec.encode(event))
        sent += len(page)
        start = page[-1].id + 1
    producer.flush()
    producer.close()
    print(f"published {sent} events to {topic} in {time.perf_counter() - started:.1f} s")


def bare_read(servers: str, topic: str, total: int, batch: int) -> float:
    """Seconds a plain consumer in a fresh group takes to read every message."""
    started = time.perf_counter()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=f"bench-bare-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
    )
    count = 0
    while count < total:
        count += sum(len(records) for records in consumer.poll(timeout_ms=500).values())
    seconds = time.perf_counter() - started
    consumer.close()
    return seconds


def catch_up(settings: Settings, name: str, ends: dict[int, int], batch: int) -> tuple[float, int]:
    """Seconds the projection takes from zero to every partition's end, and events folded,
    in a PostgreSQL schema of its own (dropped afterwards)."""
    assert settings.database_url
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        started = time.perf_counter()
        projector = build_kafka_projector(
            replace(settings, postgres_schema=schema),
            name,
            group_id=f"bench-{name}-{uuid.uuid4().hex[:8]}",
            batch=batch,
        )
        caught_up: list[float] = []

        def done(p: KafkaProjector) -> bool:
            # The clock stops when every partition's end is committed, before the
            # projector leaves its group (the bare consumer's leaving is not timed either).
            if not caught_up and all(p.positions.get(k, 0) >= v for k, v in ends.items()):
                caught_up.append(time.perf_counter())
            return bool(caught_up)

        projector.run(until=done)
        seconds = caught_up[0] - started
        projector.store.close()
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return seconds, projector.applied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--projection", default="balances")
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5, help="median of N runs (noisy hosts)")
    parser.add_argument("--topic", default=None, help="default: groundswell-bench-EVENTS")
    args = parser.parse_args()
    servers, url = os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"]
    topic = args.topic or f"groundswell-bench-{args.events}"
    if sum(end_offsets(servers, topic).values()) < args.events:
        publish(servers, topic, args.events)
    ends = end_offsets(servers, topic)
    total = sum(ends.values())
    settings = Settings(database_url=url, kafka_bootstrap_servers=servers, kafka_topic=topic)

    bare_runs, runs = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same load on the host
        bare_runs.append(bare_read(servers, topic, total, args.batch))
        seconds, applied = catch_up(settings, args.projection, ends, args.batch)
        runs.append(seconds)
    # The median of each side: a best-of-N ratio swung with one lucky bare run (0.8 s
    # where its others took 1.2-2.2 s). The best of each is printed beside it.
    bare_seconds, seconds = statistics.median(bare_runs), statistics.median(runs)
    bare_rate, rate = total / bare_seconds, total / seconds
    best_ratio = min(bare_runs) / min(runs)
    result = {
        "events": total,
        "projection": args.projection,
        "events_folded": applied,
        "batch": args.batch,
        "bare_consumer_events_per_s": round(bare_rate),
        "catchup_events_per_s": round(rate),
        "ratio": round(rate / bare_rate, 3),
        "best_of_each_ratio": round(best_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "pass": rate / bare_rate >= TARGET_RATIO,
        "bare_seconds": [round(s, 2) for s in bare_runs],
        "catchup_seconds": [round(s, 2) for s in runs],
    }
    print(f"bare consumer       : {bare_rate:>10,.0f} events/s  (median {bare_seconds:.2f} s)")
    print(f"{args.projection + ' catch-up':<20}: {rate:>10,.0f} events/s  (median {seconds:.2f} s)")
    print(
        f"ratio               : {result['ratio']:.2f}  (target >= {TARGET_RATIO}; "
        f"best of each {best_ratio:.2f})"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
