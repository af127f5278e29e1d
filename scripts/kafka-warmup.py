"""Warm a freshly started broker: join and leave consumer groups until every partition of the
offsets topic has a loaded coordinator.

On a fresh broker, several consumer groups joining at once while their coordinators load
can stall in kafka-python for minutes (NotCoordinator, then nothing assigned); once each
coordinator has served a group, joins take milliseconds. Usage: kafka-warmup.py HOST:PORT
"""

from __future__ import annotations

import sys
import time

from kafka import KafkaConsumer, KafkaProducer

TOPIC = "groundswell.warmup"
GROUPS = 20  # group ids hash onto the offsets topic's partitions (5 here): cover them all


def main(servers: str) -> None:
    started = time.monotonic()
    producer = KafkaProducer(bootstrap_servers=servers)
    producer.send(TOPIC, b"warm-up").get(timeout=60)
    producer.close()
    for n in range(GROUPS):
        consumer = KafkaConsumer(
            TOPIC,
            bootstrap_servers=servers,
            group_id=f"{TOPIC}.{n}",
            auto_offset_reset="earliest",
            metadata_max_age_ms=1_000,
        )
        deadline = time.monotonic() + 60
        while not consumer.poll(timeout_ms=500) and time.monotonic() < deadline:
            pass
        consumer.commit()
        consumer.close()
    seconds = time.monotonic() - started
    print(f"kafka-local: warmed up ({GROUPS} consumer groups in {seconds:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
