"""The fault soak, short (``make soak`` runs it for five minutes): the served engine on
PostgreSQL and Kafka under HTTP load while the relay, the projector and the API are
SIGKILLed, the broker is stopped for 20 s and PostgreSQL restarts, each once. Nothing
acknowledged may be lost, nothing counted twice, every projection must equal its rebuild.

It restarts the PostgreSQL cluster behind DATABASE_URL (SOAK_PG_CLUSTER, default 15/main,
the one scripts/postgres-local runs; or SOAK_PG_RESTART) and stops a broker of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.soak.report import table
from bench.soak.run import Config, soak
from tests.integration.kafka_support import LocalBroker, private_broker_fixture  # noqa: F401
from tests.support import database_url_or_fail

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.serial]


@pytest.mark.timeout(900)
def test_a_short_fault_soak_loses_nothing_and_counts_nothing_twice(
    private_broker: LocalBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database_url_or_fail()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", private_broker.servers)
    monkeypatch.setenv("KAFKA_LOCAL_STATE_DIR", private_broker.env["KAFKA_LOCAL_STATE_DIR"])
    config = Config(seconds=60, contributors=4, rounds=1, logs=tmp_path / "logs")
    with capsys.disabled():
        result = soak(config, say=lambda line: print(line, flush=True))
        print(table(result))

    skipped = [f"{f.kind}: {f.skipped}" for f in result.faults if f.skipped]
    if os.environ.get("CI") == "true":
        assert not skipped, "under CI every fault must really happen"
    assert not [f for f in result.faults if f.error], "a fault could not be injected"
    assert all(f.skipped or f.recovered is not None for f in result.faults), "not recovered"
    assert result.lost == 0, result.commands.lost[:5]
    assert result.doubled == 0
    assert result.ledger.of("acknowledged"), "the load acknowledged nothing"
    assert result.caught_up
    assert result.topic_check.unknown == 0
    assert not result.topic_check.out_of_order and not result.topic_check.split
    assert [p.name for p in result.projections if not p.identical] == []
    assert {k: v for k, v in result.invariants.items() if v is not None} == {}
    assert result.chain[0], result.chain[1]
    assert result.passed
