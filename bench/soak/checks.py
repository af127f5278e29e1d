"""After the soak: what the clients were told, against the store, the topic, the read
models and the reward rules. Each check counts what it finds rather than stopping at the
first problem, so the report shows the whole picture.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
from kafka import KafkaConsumer, TopicPartition

from bench.soak.clients import Ledger
from bench.soak.services import ROOT
from domain.challenge import Challenge
from domain.person import Person
from groundswell.app.engine import Engine
from groundswell.audit.diff import diff
from groundswell.audit.replay import live_kafka_models, replay
from groundswell.audit.sources import StoreSource
from groundswell.readstore.postgres_kafka import KafkaReadModelStore
from projections.catalog import PROJECTION_NAMES
from tests import invariants
from tests.integration.kafka_support import OutsideReader, key_of, read_topic

Positioned = tuple[int, Any]


@dataclass
class CommandCheck:
    """Acknowledged commands against the ``command_keys`` rows and the events they name."""

    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not (or not so) in the store
    refused_but_written: list[str] = field(default_factory=list)
    undecided_written: int = 0  # the client gave up; the store has it (not a loss)
    undecided_not_written: int = 0
    unknown_keys: list[str] = field(default_factory=list)  # written under no client's key
    overlapping: list[str] = field(default_factory=list)  # one event claimed by two keys
    unkeyed_events: list[int] = field(default_factory=list)  # written by no keyed command
    missing_events: list[int] = field(default_factory=list)  # a key's events not stored

    @property
    def doubled(self) -> int:
        return len(self.overlapping) + len(self.unkeyed_events) + len(self.unknown_keys)


def check_commands(
    ledger: Ledger,
    keys: list[tuple[str, str, str | None, int, int]],
    stored: list[Positioned],
    setup_position: int,
) -> CommandCheck:
    """Every acknowledged command's key row equals its receipt, its events are stored, and
    every event after the set-up belongs to exactly one keyed command.

    A command's events are one insert under the store's table lock, so they hold the
    positions (position - events, position].
    """
    found = CommandCheck()
    rows = {
        (scope, key): (result_id, events, position)
        for scope, key, result_id, events, position in keys
    }
    sent = set()
    for command in ledger.commands:
        where = (command.client, command.key)
        sent.add(where)
        row = rows.get(where)
        label = f"{command.kind} {command.key}"
        if command.outcome == "acknowledged":
            found.acknowledged += 1
            receipt = command.receipt or {}
            if not receipt.get("events"):
                if row is not None:
                    found.lost.append(f"{label}: answered 0 events, the store has {row}")
                continue
            expected = (
                str(receipt.get("id")) if receipt.get("id") else None,
                receipt["events"],
                receipt["position"],
            )
            if row != expected:
                found.lost.append(f"{label}: receipt {expected}, store {row}")
        elif command.outcome == "refused" and row is not None:
            found.refused_but_written.append(f"{label}: {command.status} but stored {row}")
        elif command.outcome == "undecided":
            if row is None:
                found.undecided_not_written += 1
            else:
                found.undecided_written += 1
    found.unknown_keys = [f"{scope} {key}" for scope, key in rows if (scope, key) not in sent]
    positions = {position for position, _ in stored}
    owner: dict[int, str] = {}
    for (_scope, key), (_, events, position) in rows.items():
        for claimed in range(position - events + 1, position + 1):
            if claimed in owner:
                found.overlapping.append(f"position {claimed}: {owner[claimed]} and {key}")
            owner[claimed] = key
            if claimed not in positions:
                found.missing_events.append(claimed)
    found.unkeyed_events = sorted(p for p in positions if p > setup_position and p not in owner)
    return found


def command_keys(url: str) -> list[tuple[str, str, str | None, int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT scope, key, result_id, events, position FROM command_keys"
        ).fetchall()
    return [(s, k, r, int(e), int(p)) for s, k, r, e, p in rows]


@dataclass
class TopicCheck:
    stored: int = 0
    messages: int = 0
    missing: int = 0  # stored, never on the topic
    unknown: int = 0  # on the topic, never stored
    duplicates: int = 0  # extra copies (at least once: expected after kills and outages)
    out_of_order: list[str] = field(default_factory=list)  # challenges whose order broke
    split: list[str] = field(default_factory=list)  # challenges on more than one partition


def check_topic(servers: str, topic: str, stored: list[Positioned]) -> TopicCheck:
    """The topic as an outside reader decodes it (schemas/ only), against the store."""
    reader = OutsideReader()
    decoded = [reader.decode(m) for m in read_topic(servers, topic, len(stored), timeout=120)]
    found = TopicCheck(stored=len(stored), messages=len(decoded))
    ids = {str(event.event_id) for _, event in stored}
    copies = Counter(d.headers["event_id"].decode() for d in decoded)
    found.missing = len(ids - set(copies))
    found.unknown = len(set(copies) - ids)
    found.duplicates = sum(copies.values()) - len(copies)
    expected: dict[bytes, list[str]] = defaultdict(list)
    for _, event in stored:
        expected[key_of(event)].append(str(event.event_id))
    arrived: dict[bytes, list[str]] = defaultdict(list)
    partitions: dict[bytes, set[int]] = defaultdict(set)
    seen: set[str] = set()
    for d in decoded:  # by partition, then offset: as a consumer sees each key
        partitions[d.key].add(d.partition)
        event_id = d.headers["event_id"].decode()
        if event_id not in seen:
            seen.add(event_id)
            arrived[d.key].append(event_id)
    found.split = [k.decode() for k, p in partitions.items() if len(p) > 1]
    found.out_of_order = [
        k.decode()
        for k in expected
        if arrived.get(k) != expected[k] and set(arrived.get(k, [])) == set(expected[k])
    ]
    return found


@dataclass
class ProjectionCheck:
    name: str
    caught_up: bool
    differences: int
    sample: list[str]
    live_rows: int

    @property
    def identical(self) -> bool:
        return self.caught_up and self.differences == 0


def end_offsets(servers: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def check_projections(engine: Engine, url: str, servers: str, topic: str) -> list[ProjectionCheck]:
    """Each Kafka-fed read model, caught up to the topic's end, against a fold of the
    whole store from position 1."""
    ends = end_offsets(servers, topic)
    store = KafkaReadModelStore(url)
    try:
        live = live_kafka_models(store, topic)
    finally:
        store.close()
    rebuilt = replay(StoreSource(engine), list(PROJECTION_NAMES))
    differences = diff(live.rows, rebuilt)
    checks = []
    for name in PROJECTION_NAMES:
        own = [d for d in differences if d.projection == name]
        offsets = live.at[name]
        assert isinstance(offsets, dict)
        caught_up = all(offsets.get(p, 0) >= end for p, end in ends.items())
        rows = sum(len(table) for table in live.rows[name].public().values())
        checks.append(
            ProjectionCheck(name, caught_up, len(own), [d.describe() for d in own[:3]], rows)
        )
    return checks


INVARIANTS = {
    "conservation": invariants.check_conservation,
    "no overspend": invariants.check_no_overspend,
    "eligibility": invariants.check_eligibility,
    "once only": invariants.check_once_only,
    "exact splits": invariants.check_exact_splits,
    "reward mirrors": invariants.check_reward_mirrors,
    "envelopes": invariants.check_envelopes,
}


def check_invariants(engine: Engine, stored: list[Positioned]) -> dict[str, str | None]:
    """Each rule of tests/invariants.py over the whole history (None: it holds); then every
    aggregate reloaded, and each wallet and pot against the ledger."""
    events = [event for _, event in stored]
    found = {name: _failure(check, events) for name, check in INVARIANTS.items()}

    def wallets(events: list[Any]) -> None:
        reloaded = invariants.check_reload(events, engine.repository.get).values()
        invariants.check_wallets(
            events,
            [a for a in reloaded if isinstance(a, Person)],
            [a for a in reloaded if isinstance(a, Challenge)],
        )

    found["reload and wallets"] = _failure(wallets, events)
    return found


def _failure(check: Any, events: list[Any]) -> str | None:
    try:
        check(events)
    except AssertionError as error:
        return str(error)[:300]
    return None


def verify_chain(env: dict[str, str]) -> tuple[bool, str]:
    """``groundswell audit verify``: the hash chain over the whole history."""
    done = subprocess.run(
        [sys.executable, "-m", "groundswell", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, text[-1] if text else ""
