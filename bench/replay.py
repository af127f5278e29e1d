"""The auditor's replay: N events folded from zero into ALL projections, from the event store
and from Kafka, against plainly reading (and decoding) the same events from the same source.

    python -m bench.replay [--events 1000000] [--data-dir DIR] [--source store|kafka|both]
                           [--topic TOPIC] [--repeat 1]

What is measured, each in a fresh process of its own (spawned, so each peak memory figure
is that run's own), timed from just before the source is opened to the last event folded
(process start and imports excluded), with the garbage collector paused on both sides as
the replay pauses it:

- store, plain read: every notification from position 1 read from the SQLite store in
  batches of 5,000 and decoded into a domain event (the eventsourcing mapper), nothing kept:
  the least any replay from the store must do;
- store, replay: ``replay(StoreSource(engine))`` of groundswell/audit/replay.py, as
  ``groundswell audit replay`` runs it: the same reads (the store filters out the event
  classes no projection reads, so they are neither fetched nor decoded), decoded, and folded
  into fresh in-memory rows of all seven projections;
- kafka, plain read: a plain consumer (no group, every partition assigned, the replay's
  fetch settings) reads the topic from offset 0 to its end offsets and decodes every
  message with EventCodec;
- kafka, replay: ``replay(KafkaSource(...))``: the same reads, decoding only the messages
  some projection reads, dropping redeliveries, folding into all seven projections.

Rates are N / seconds with N the history's events (positions; messages on Kafka). The ratio
is replay rate / plain-read rate: target >= 0.5. The replay's total time: target < 60 s.
Peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of each spawned process (peak
resident set, the interpreter and imports included: about 60 MB of it).

The history is written once with bench.history's ``write_history`` into the data dir
(default: a cache dir in the temp dir, reused by later runs) and published once by the
relay (``build_relay``) to the topic (default groundswell-bench-replay-N; the relay's
recorded position makes later runs publish nothing). Kafka is measured when
KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.5
TARGET_SECONDS = 60.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def plain_store_read(data_dir: str) -> dict[str, Any]:
    from consumers.projector import bulk_work
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    with bulk_work():
        started = time.perf_counter()
        engine = build_engine(Settings(data_dir=Path(data_dir)))
        recorder, to_event = engine.recorder, engine.mapper.to_domain_event
        count, after = 0, 0
        while page := recorder.select_notifications(start=after + 1, limit=5_000):
            count += len([to_event(n) for n in page])
            after = page[-1].id
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": count, "peak_mb": peak_mb()}


def store_replay(data_dir: str) -> dict[str, Any]:
    from groundswell.audit.replay import replay
    from groundswell.audit.sources import StoreSource
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    started = time.perf_counter()
    engine = build_engine(Settings(data_dir=Path(data_dir)))
    source = StoreSource(engine)
    head = source.head()
    rows = replay(source)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": head, "peak_mb": peak_mb(), "rows": _rows(rows)}


def plain_kafka_read(servers: str, topic: str) -> dict[str, Any]:
    from kafka import TopicPartition

    from consumers.projector import bulk_work
    from domain.catalog import EVENT_CLASSES
    from groundswell.audit.sources import kafka_reader
    from schemas.codec import EventCodec

    codec = EventCodec(EVENT_CLASSES)
    with bulk_work():
        started = time.perf_counter()
        consumer = kafka_reader(servers)
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        ends = consumer.end_offsets(parts)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        count, remaining, decode = 0, set(parts), codec.decode
        while remaining:
            for tp, records in consumer.poll(timeout_ms=500, max_records=20_000).items():
                for record in records:
                    decode(record.value)
                count += len(records)
                if consumer.position(tp) >= ends[tp]:
                    consumer.pause(tp)
                    remaining.discard(tp)
        seconds = time.perf_counter() - started
    consumer.close()
    return {"seconds": seconds, "events": count, "peak_mb": peak_mb()}


def kafka_replay(servers: str, topic: str) -> dict[str, Any]:
    from groundswell.audit.replay import replay
    from groundswell.audit.sources import KafkaSource

    started = time.perf_counter()
    with KafkaSource(servers, topic) as source:
        messages = sum(source.head().values())
        rows = replay(source)
        seconds = time.perf_counter() - started
        redelivered = source.redelivered
    return {
        "seconds": seconds,
        "events": messages,
        "peak_mb": peak_mb(),
        "rows": _rows(rows),
        "redelivered": redelivered,
    }


def _rows(rows: dict[str, Any]) -> int:
    return sum(len(table) for found in rows.values() for table in found.public().values())


def in_fresh_process(function: Any, *args: Any) -> dict[str, Any]:
    """Run ``function`` in a spawned interpreter of its own; its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return dict(pool.submit(function, *args).result())


def prepare_store(data_dir: Path, events: int) -> int:
    from bench.history import write_history
    from groundswell.bootstrap import build_engine
    from groundswell.settings import Settings

    engine = build_engine(Settings(data_dir=data_dir))
    try:
        if engine.last_position < events:
            started = time.perf_counter()
            stored = write_history(engine, events - engine.last_position)
            print(f"wrote {stored} events in {time.perf_counter() - started:.1f} s")
        return engine.last_position
    finally:
        engine.close()


def prepare_topic(data_dir: Path, servers: str, topic: str, total: int) -> int:
    from groundswell.bootstrap import build_engine, build_relay
    from groundswell.settings import Settings

    settings = Settings(data_dir=data_dir, kafka_bootstrap_servers=servers, kafka_topic=topic)
    engine = build_engine(settings)
    relay = build_relay(engine, settings, batch_size=5_000)
    if relay.position and topic_size(servers, topic) < relay.position:
        # The position was recorded on a broker that is gone (a run with another local
        # broker kept the data dir): publish the history again from the start.
        print(f"{topic}: fewer messages than the recorded position; publishing again")
        relay.positions.save(topic, 0, {})
        relay.close()
        relay = build_relay(engine, settings, batch_size=5_000)
    try:
        started = time.perf_counter()
        sent = relay.catch_up()
        if sent:
            print(f"published {sent} events to {topic} in {time.perf_counter() - started:.1f} s")
    finally:
        relay.close()
        engine.close()
    messages = topic_size(servers, topic)
    if messages < total:
        raise SystemExit(
            f"{topic} holds {messages} messages, the store {total} events, though the relay "
            "recorded them all as published: delete the topic's relay position or use --topic"
        )
    return messages


def topic_size(servers: str, topic: str) -> int:
    """Messages on ``topic`` (0 when there is no such topic; asking the admin client
    first, as a consumer's metadata request may create a topic it asks about)."""
    from kafka import KafkaAdminClient

    from groundswell.audit.sources import KafkaSource

    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        if topic not in admin.list_topics():
            return 0
    finally:
        admin.close()
    with KafkaSource(servers, topic) as source:
        return sum(source.head().values())


def judged(name: str, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """The best of each side's runs, judged against the targets; printed and returned."""
    plain = min((p for p, _ in pairs), key=lambda p: p["seconds"])
    replayed = min((r for _, r in pairs), key=lambda r: r["seconds"])
    plain_rate = plain["events"] / plain["seconds"]
    rate = replayed["events"] / replayed["seconds"]
    ratio = rate / plain_rate
    result = {
        "plain_read_events_per_s": round(plain_rate),
        "replay_events_per_s": round(rate),
        "ratio": round(ratio, 3),
        "plain_read_seconds": round(plain["seconds"], 2),
        "replay_seconds": round(replayed["seconds"], 2),
        "plain_read_peak_mb": round(plain["peak_mb"]),
        "replay_peak_mb": round(replayed["peak_mb"]),
        "rows": replayed["rows"],
        "plain_read_seconds_runs": [round(p["seconds"], 2) for p, _ in pairs],
        "replay_seconds_runs": [round(r["seconds"], 2) for _, r in pairs],
        "ratio_pass": ratio >= TARGET_RATIO,
        "seconds_pass": replayed["seconds"] < TARGET_SECONDS,
    }
    verdict = "PASS" if result["ratio_pass"] and result["seconds_pass"] else "FAIL"
    print(
        f"{name:<6} plain read + decode : {plain_rate:>9,.0f} events/s  "
        f"({plain['seconds']:.1f} s, peak {plain['peak_mb']:,.0f} MB)"
    )
    print(
        f"{name:<6} replay, all seven   : {rate:>9,.0f} events/s  "
        f"({replayed['seconds']:.1f} s, peak {replayed['peak_mb']:,.0f} MB, "
        f"{replayed['rows']:,} rows)"
    )
    print(
        f"{name:<6} ratio {ratio:.2f} (target >= {TARGET_RATIO}), replay "
        f"{replayed['seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s): {verdict}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--source", choices=("store", "kafka", "both"), default="both")
    parser.add_argument("--topic", default=None, help="default: groundswell-bench-replay-N")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (noisy hosts)")
    args = parser.parse_args()
    data_dir = (
        args.data_dir or Path(tempfile.gettempdir()) / f"groundswell-bench-replay-{args.events}"
    )
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    topic = args.topic or f"groundswell-bench-replay-{args.events}"
    sources = ["store", "kafka"] if args.source == "both" else [args.source]
    if "kafka" in sources and not servers:
        if args.source == "kafka":
            raise SystemExit("--source kafka needs KAFKA_BOOTSTRAP_SERVERS")
        print("KAFKA_BOOTSTRAP_SERVERS is not set: measuring the store only")
        sources.remove("kafka")

    total = prepare_store(data_dir, args.events)
    print(f"history: {total:,} events in {data_dir}")
    if "kafka" in sources:
        assert servers
        messages = prepare_topic(data_dir, servers, topic, total)
        print(f"topic  : {messages:,} messages in {topic}")

    runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {s: [] for s in sources}
    for _ in range(args.repeat):  # interleaved, so both sides see the same load on the host
        if "store" in sources:
            plain = in_fresh_process(plain_store_read, str(data_dir))
            runs["store"].append((plain, in_fresh_process(store_replay, str(data_dir))))
        if "kafka" in sources:
            plain = in_fresh_process(plain_kafka_read, servers, topic)
            runs["kafka"].append((plain, in_fresh_process(kafka_replay, servers, topic)))

    result: dict[str, Any] = {"events": total, "repeat": args.repeat}
    for name, pairs in runs.items():
        result[name] = judged(name, pairs)
        if name == "kafka":
            result[name]["redelivered"] = pairs[0][1]["redelivered"]
    result["target_ratio"], result["target_seconds"] = TARGET_RATIO, TARGET_SECONDS
    result["memory"] = "ru_maxrss of each spawned process (peak RSS, interpreter included)"
    result["pass"] = all(result[s]["ratio_pass"] and result[s]["seconds_pass"] for s in runs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
