"""`groundswell audit replay` and `groundswell audit as-of` end to end on a SQLite store.

Exit status of `audit replay`: 0 identical, 1 differences (listed), 2 could not compare.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner, Result

from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_read_models
from groundswell.cli import app
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES
from tests.scenario import AUTHOR, MANAGER, TEAMMATE, Scenario
from tests.support import START, SteppingClock


@dataclass
class Story:
    """What happened, and when: a grant to ann, then an idea by bob left waiting."""

    challenge: UUID
    granted_at: datetime
    waiting_since: datetime


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.runner = data_dir, CliRunner()

    def __call__(self, command: str) -> Result:
        return self.runner.invoke(
            app,
            ["--data-dir", str(self.data_dir), *shlex.split(command)],
            env={
                "DATABASE_URL": None,
                "GROUNDSWELL_DATA_DIR": None,
                "KAFKA_BOOTSTRAP_SERVERS": None,
                "GROUNDSWELL_TOPIC": None,
                "COLUMNS": "250",
            },
        )

    def json(self, command: str, status: int = 0) -> Any:
        result = self(command + " --json")
        assert result.exit_code == status, result.output
        return json.loads(result.stdout)


def catch_up(data_dir: Path, engine: Engine) -> int:
    """Project everything stored into the read-model files, as a running engine would."""
    read_models = build_read_models(engine, Settings(data_dir=data_dir))
    try:
        return read_models.follower.catch_up()
    finally:
        read_models.close()


@pytest.fixture
def story(tmp_path: Path) -> Iterator[tuple[Story, Engine, SteppingClock]]:
    clock = SteppingClock()
    engine = build_engine(Settings(data_dir=tmp_path), clock=clock)
    scenario = Scenario(engine).with_cast()
    challenge = scenario.challenge("open")
    clock.advance(days=1)
    accepted = scenario.idea(challenge, "accepted")
    engine.grant_reward(MANAGER, "idea-accepted", accepted)  # ann: +10
    granted_at = clock.now
    clock.advance(days=2)
    scenario.idea(challenge, author=TEAMMATE, title="Fewer labels")
    waiting_since = clock.now
    catch_up(tmp_path, engine)
    yield Story(challenge, granted_at, waiting_since), engine, clock
    engine.close()


@pytest.fixture
def cli(tmp_path: Path, story: Any) -> Cli:
    return Cli(tmp_path)


def test_identical_read_models_exit_0(cli: Cli) -> None:
    result = cli("audit replay")
    assert result.exit_code == 0, result.output
    assert "Identical: every live read model equals its replay from zero." in result.stdout
    for name in PROJECTION_NAMES:
        assert name in result.stdout
    found = cli.json("audit replay leaderboard balances")
    assert found["identical"] is True and found["differences"] == []
    assert [p["name"] for p in found["projections"]] == ["leaderboard", "balances"]
    assert all(p["live_rows"] == p["replayed_rows"] > 0 for p in found["projections"])


def test_a_tampered_read_model_exits_1_and_names_every_difference(cli: Cli, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "readmodel-balances.sqlite") as db:
        db.execute(
            "UPDATE projection_rows SET value = ? WHERE tbl = 'accounts' AND key = ?",
            (json.dumps({"balance": 999}), f"person:{AUTHOR}"),
        )
    with sqlite3.connect(tmp_path / "readmodel-leaderboard.sqlite") as db:
        db.execute("DELETE FROM projection_rows WHERE tbl = 'people' AND key = ?", (TEAMMATE,))

    result = cli("audit replay")
    assert result.exit_code == 1, result.output
    shown = result.stdout
    assert f"balances · accounts · person:{AUTHOR} · balance: live 999 ≠ replayed 10" in shown
    assert (
        f"leaderboard · people · {TEAMMATE}: missing from the live read model; replayed:" in shown
    )
    assert "Bob Teammate" in shown
    assert "The live read models differ from the replay in 2 places." in shown

    found = cli.json("audit replay balances", status=1)
    assert found["identical"] is False
    assert found["differences"] == [
        {
            "projection": "balances",
            "table": "accounts",
            "key": f"person:{AUTHOR}",
            "field": "balance",
            "kind": "changed",
            "live": 999,
            "replayed": 10,
        }
    ]
    assert cli("audit replay implementation").exit_code == 0, "only the tampered ones differ"


def test_events_written_after_the_checkpoint_are_no_difference(
    cli: Cli, story: tuple[Story, Engine, SteppingClock]
) -> None:
    told, engine, _ = story
    checkpoint = engine.last_position
    # A concurrent writer: stored, not yet projected when the audit reads the read models.
    later = Scenario(engine).idea(told.challenge, "accepted", title="Later")
    engine.grant_reward(MANAGER, "idea-accepted", later)
    assert engine.last_position > checkpoint

    found = cli.json("audit replay")
    assert found["identical"] is True
    assert {p["replayed_up_to"] for p in found["projections"]} == {checkpoint}
    assert f"position {checkpoint}" in cli("audit replay").stdout


def test_what_cannot_be_compared_exits_2(cli: Cli) -> None:
    result = cli("audit replay leaderboard nonsense")
    assert result.exit_code == 2
    assert "unknown projection 'nonsense'" in result.output
    result = cli("audit replay --from kafka")
    assert result.exit_code == 2
    assert "set KAFKA_BOOTSTRAP_SERVERS" in result.output
    # Kafka given, but the read models fed from it live in PostgreSQL: nothing to compare.
    result = cli("audit replay --from kafka --bootstrap-servers 127.0.0.1:9")
    assert result.exit_code == 2
    assert "set DATABASE_URL" in result.output
    result = cli("audit replay --until yesterday")
    assert result.exit_code == 2
    assert "not a moment" in result.output


def test_until_replays_up_to_a_moment_and_compares_nothing(
    cli: Cli, story: tuple[Story, Engine, SteppingClock]
) -> None:
    told = story[0]
    moment = told.granted_at.isoformat()
    result = cli(f"audit replay balances --until {moment}")
    assert result.exit_code == 0, result.output
    assert "Nothing was compared (--until)" in result.stdout
    assert "accounts" in result.stdout
    found = cli.json(f"audit replay balances leaderboard --until {moment}")
    assert found["compared"] is False
    assert found["read_models"]["balances"]["accounts"][f"person:{AUTHOR}"] == {"balance": 10}
    before = cli.json(f"audit replay balances --until {START.isoformat()}")
    assert f"person:{AUTHOR}" not in before["read_models"]["balances"].get("accounts", {})


def test_as_of_shows_the_boards_as_they_were(
    cli: Cli, story: tuple[Story, Engine, SteppingClock]
) -> None:
    told = story[0]
    before = (told.granted_at - timedelta(hours=1)).isoformat()
    assert cli.json(f"audit as-of {before} leaderboard")["leaderboard"] == []
    assert "No points earned yet." in cli(f"audit as-of {before} leaderboard").stdout

    after = cli.json(f"audit as-of {told.granted_at.isoformat()}")
    assert after["as_of"] == told.granted_at.isoformat()
    assert set(after) == {"as_of", "leaderboard", "balances", "funnel", "follow-up"}
    assert [(s["handle"], s["points"]) for s in after["leaderboard"]] == [(AUTHOR, 10)]
    assert after["balances"]["balances"] == {AUTHOR: 10}
    assert after["balances"]["pots"][str(told.challenge)]["granted"] == 10
    steps = {s["step"]: s["ideas"] for s in after["funnel"]["funnel"]}
    assert (steps["submitted"], steps["accepted"]) == (1, 1), "bob's idea came later"

    # Follow-up debt counts up to the moment asked about, not to today.
    forty_days = (told.waiting_since + timedelta(days=40)).isoformat()
    debt = cli.json(f"audit as-of {forty_days} follow-up")["follow-up"]["debt"]
    assert [(d["author"], d["waited_days"], d["overdue_days"]) for d in debt] == [
        (TEAMMATE, 40.0, 10.0)
    ]
    shown = cli(f"audit as-of {forty_days} follow-up --challenge {told.challenge}").stdout
    assert "idea: Fewer labels" in shown and "40.0" in shown
    in_time = (told.waiting_since + timedelta(days=29)).isoformat()
    assert cli.json(f"audit as-of {in_time} follow-up")["follow-up"]["debt"] == []
    assert cli("audit as-of 2026-13-01").exit_code == 2
