"""`groundswell follow-up run` in production mode: PostgreSQL store → relay → Kafka →
follow-up and desk projectors → two follow-up processes at once, one of them killed with SIGKILL
in the middle of its pass. Each step is recorded once; none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from domain.follow_up import FollowUp
from groundswell.bootstrap import build_engine, build_kafka_projector, build_relay
from groundswell.demo.summary import all_events
from groundswell.publish.relay import ensure_topic
from groundswell.readstore.postgres_kafka import KafkaReadModelStore
from groundswell.settings import Settings
from tests.follow_up_world import World, organisation
from tests.integration.kafka_support import kafka_servers_fixture, unique_topic
from tests.support import database_url_or_fail, postgres_schema

__all__ = ["kafka_servers_fixture"]
pytestmark = pytest.mark.postgres
IDEAS = 60
# By 2027-03-01 each idea (decision due 2027-01-31) has 5 reminders, kai and coo told.
STEPS_PER_IDEA = 5 + 2


def follow_up_run(settings: Settings, *options: str, log: Path) -> subprocess.Popen[bytes]:
    command = Path(sys.executable).parent / "groundswell"
    env = {
        "DATABASE_URL": str(settings.database_url),
        "KAFKA_BOOTSTRAP_SERVERS": str(settings.kafka_bootstrap_servers),
        "GROUNDSWELL_TOPIC": settings.kafka_topic,
        "GROUNDSWELL_POSTGRES_SCHEMA": str(settings.postgres_schema),
    }
    return subprocess.Popen(
        [str(command), "follow-up", "run", *options],
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def recorded(settings: Settings) -> Counter[tuple[str, str]]:
    engine = build_engine(settings)
    try:
        return Counter(
            (e.item_key, e.step)
            for e in all_events(engine)
            if isinstance(e, (FollowUp.ReminderSent, FollowUp.Escalated))
        )
    finally:
        engine.close()


def test_production_mode_records_each_step_once_through_kafka_despite_a_sigkill(
    kafka_servers: str, tmp_path: Path
) -> None:
    with postgres_schema(database_url_or_fail()) as schema:
        settings = replace(
            Settings(database_url=database_url_or_fail(), postgres_schema=schema),
            kafka_bootstrap_servers=kafka_servers,
            kafka_topic=unique_topic("follow-up"),
            consumer_process=False,
        )
        world = World("2027-01-01 09:00")
        world.engine = build_engine(settings, clock=world.clock)
        organisation(world)
        for n in range(IDEAS):
            world.engine.submit_idea("ann", world.challenge_id(), title=f"I{n}", description="d")
        ensure_topic(kafka_servers, settings.kafka_topic)
        relay = build_relay(world.engine, settings)
        relay.start_in_thread()
        projectors = [
            build_kafka_projector(settings, name, group_id=f"{settings.kafka_topic}.{name}")
            for name in ("follow_up", "desk")
        ]
        feeding = [threading.Thread(target=p.run, daemon=True) for p in projectors]
        for thread in feeding:
            thread.start()
        store = KafkaReadModelStore(str(settings.database_url), schema)
        log = tmp_path / "follow-up.log"
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                rows = store.snapshot("follow_up", settings.kafka_topic)[0]
                if len(rows.table("items")) == IDEAS:
                    break
                time.sleep(0.2)
            assert len(rows.table("items")) == IDEAS, "the follow-up projection never caught up"
            # The desk is fed from Kafka like every read model: mia's decisions are on it.
            while time.monotonic() < deadline:
                desks = store.snapshot("desk", settings.kafka_topic)[0]
                if len(desks.get("desks", "mia") or ()) == IDEAS:
                    break
                time.sleep(0.2)
            assert len(desks.get("desks", "mia") or ()) == IDEAS, "the desk never caught up"

            # One process killed mid-pass, a twin running beside it from the same rows.
            doomed = follow_up_run(settings, "--once", "--now", "2027-03-01", log=log)
            twin = follow_up_run(settings, "--once", "--now", "2027-03-01", log=log)
            deadline = time.monotonic() + 60
            while not recorded(settings) and time.monotonic() < deadline:
                time.sleep(0.05)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(30)
            assert twin.wait(120) == 0, log.read_text()
            # What the killed process decided and never recorded, the next pass records.
            again = follow_up_run(settings, "--once", "--now", "2027-03-01", log=log)
            assert again.wait(120) == 0, log.read_text()
            steps = recorded(settings)
            assert max(steps.values()) == 1, [k for k, n in steps.items() if n > 1]
            assert len(steps) == IDEAS * STEPS_PER_IDEA
            assert doomed.returncode == -signal.SIGKILL
        finally:
            for projector in projectors:
                projector.stop()
            for thread in feeding:
                thread.join(10)
            for projector in projectors:
                projector.store.close()
            store.close()
            relay.close()
            world.engine.close()
