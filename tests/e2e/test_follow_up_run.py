"""`groundswell follow-up run --once --now DAY` on a SQLite store, and the served engine's
in-process follow-up on a timer."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from typer.testing import CliRunner, Result

from domain.follow_up import FollowUp
from groundswell.app.follow_up_process import FollowUpProcess
from groundswell.bootstrap import build_engine, build_http_app
from groundswell.cli import app
from groundswell.demo.summary import all_events
from groundswell.http.reads import EmbeddedReadSide
from groundswell.settings import Settings
from tests.follow_up_world import World, organisation


def groundswell(data_dir: Path, command: str) -> Result:
    return CliRunner().invoke(
        app,
        ["--data-dir", str(data_dir), *shlex.split(command)],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
    )


def story(tmp_path: Path) -> World:
    """One idea submitted 2027-01-01 (decision due 2027-01-31), on a SQLite store."""
    world = World("2027-01-01 09:00")
    world.engine = build_engine(Settings(data_dir=tmp_path), clock=world.clock)
    organisation(world)
    world.engine.submit_idea("ann", world.challenge_id(), title="Carts", description="d")
    return world


def steps(tmp_path: Path) -> list[tuple[str, list[str], str]]:
    engine = build_engine(Settings(data_dir=tmp_path))
    try:
        return [
            (e.step, list(e.to), e.timestamp.date().isoformat())
            for e in all_events(engine)
            if isinstance(e, (FollowUp.ReminderSent, FollowUp.Escalated))
        ]
    finally:
        engine.close()


def test_an_operator_runs_one_pass_as_of_a_day(tmp_path: Path) -> None:
    story(tmp_path).engine.close()
    early = groundswell(tmp_path, "follow-up run --once --now 2027-01-30")
    assert early.exit_code == 0, early.output
    assert "0 reminders and escalations recorded" in early.stdout
    first = groundswell(tmp_path, "follow-up run --once --now 2027-02-08")
    assert first.exit_code == 0, first.output
    assert "follow-up pass at 2027-02-08T00:00:00+00:00: 3 reminders" in first.stdout
    assert steps(tmp_path) == [
        ("reminder-1", ["mia"], "2027-02-08"),
        ("reminder-2", ["mia"], "2027-02-08"),
        ("escalation-managers", ["kai"], "2027-02-08"),
    ]
    again = groundswell(tmp_path, "follow-up run --once --now 2027-02-08")
    assert "0 reminders and escalations recorded" in again.stdout
    assert len(steps(tmp_path)) == 3


def test_a_bad_moment_is_a_usage_error_and_runs_nothing(tmp_path: Path) -> None:
    story(tmp_path).engine.close()
    bad = groundswell(tmp_path, "follow-up run --once --now soon")
    assert bad.exit_code == 2
    assert "'soon' is not a day like 2027-01-31" in bad.output
    looping = groundswell(tmp_path, "follow-up run --now 2027-02-08")
    assert looping.exit_code == 1
    assert "--now is for one pass: add --once" in looping.output
    assert steps(tmp_path) == []


def test_the_served_engine_runs_the_follow_up_on_a_timer(tmp_path: Path) -> None:
    world = story(tmp_path)
    served = build_http_app(Settings(data_dir=tmp_path), world.engine)
    reads = served.state.api.reads
    assert isinstance(reads, EmbeddedReadSide)
    world.at("2027-02-01 09:00")
    process = FollowUpProcess(world.engine, lambda: reads.reading("follow_up"), world.clock)
    halt = process.start_in_thread(0.05)
    try:
        deadline = time.monotonic() + 10
        while not steps(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # a few more passes: they add nothing
    finally:
        halt()
        reads.close()
        world.engine.close()
    assert steps(tmp_path) == [("reminder-1", ["mia"], "2027-02-01")]
