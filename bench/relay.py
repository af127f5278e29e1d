"""The relay's throughput against a bare kafka-python producer sending the same messages.

    python -m bench.relay [--events 100000] [--batch 2000] [--rounds 2] [--data-dir DIR]

Needs KAFKA_BOOTSTRAP_SERVERS. Fills an embedded (SQLite) store with bench.history, then
times, on fresh topics with the same partitions and producer settings: the relay
publishing the whole history (read, decode, encode, send, wait for acks per batch, record
the position), and a bare producer sending the very same keys, bodies and headers, encoded
beforehand, flushed once. Prints both rates, the ratio (target >= 0.70) and one JSON line.
Each figure is the best of ``--rounds`` runs, as the broker shares the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

from kafka import KafkaAdminClient

from bench.history import write_history
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_relay
from groundswell.publish.encoder import Message, MessageEncoder
from groundswell.publish.relay import (
    DEFAULT_BATCH,
    DEFAULT_PARTITIONS,
    ensure_topic,
    kafka_producer,
)
from groundswell.settings import Settings

TARGET_RATIO = 0.70


def relay_rate(engine: Engine, settings: Settings, batch: int) -> float:
    relay = build_relay(engine, settings, batch_size=batch)
    try:
        started = time.perf_counter()  # from creating the topic and connecting, as for bare
        sent = relay.catch_up()
        return sent / (time.perf_counter() - started)
    finally:
        relay.close()


def bare_rate(servers: str, topic: str, messages: list[Message]) -> float:
    started = time.perf_counter()
    ensure_topic(servers, topic, DEFAULT_PARTITIONS)
    producer = kafka_producer(servers)
    try:
        for key, value, headers in messages:
            producer.send(topic, value=value, key=key, headers=headers)
        producer.flush()
        return len(messages) / (time.perf_counter() - started)
    finally:
        producer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS (scripts/kafka-local start prints it)")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="groundswell-bench-"))
    settings = Settings(data_dir=data_dir, database_url=None, kafka_bootstrap_servers=servers)
    engine = build_engine(settings)
    if engine.last_position < args.events:
        started = time.perf_counter()
        stored = write_history(engine, args.events - engine.last_position)
        print(f"wrote {stored} events in {time.perf_counter() - started:.1f} s")
    total = engine.last_position

    run = uuid.uuid4().hex[:8]
    topics = [f"bench.relay.{run}.{kind}{n}" for n in range(args.rounds) for kind in "rb"]
    relay_rates, bare_rates = [], []
    for n in range(args.rounds):
        relay_topic = replace(settings, kafka_topic=f"bench.relay.{run}.r{n}")
        relay_rates.append(relay_rate(engine, relay_topic, args.batch))
        encoder = MessageEncoder()  # the relay's own encoding, untimed
        to_event = engine.mapper.to_domain_event
        notifications = engine.recorder.select_notifications(start=1, limit=total)
        messages = [encoder.message(to_event(n)) for n in notifications]
        bare_rates.append(bare_rate(servers, f"bench.relay.{run}.b{n}", messages))
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.delete_topics(topics)
    admin.close()
    engine.close()

    relay_best, bare_best = max(relay_rates), max(bare_rates)
    result = {
        "events": total,
        "batch": args.batch,
        "relay_events_per_s": round(relay_best),
        "bare_producer_events_per_s": round(bare_best),
        "ratio": round(relay_best / bare_best, 3),
        "target_ratio": TARGET_RATIO,
        "pass": relay_best / bare_best >= TARGET_RATIO,
    }
    print(f"relay (read, encode, send, ack) : {relay_best:>10,.0f} events/s")
    print(f"bare producer (same messages)   : {bare_best:>10,.0f} events/s")
    print(f"ratio                           : {result['ratio']:.2f}  (target >= {TARGET_RATIO})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
