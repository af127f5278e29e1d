"""`groundswell demo`: a whole simulated organisation, written once, reproducible, balanced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from domain.challenge import Stage
from domain.idea import IdeaStatus
from domain.ledger import balances
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.cli import app
from groundswell.demo.cast import PEOPLE, challenge_id, idea_id
from groundswell.demo.summary import all_events
from groundswell.settings import Settings


def demo(data_dir: Path, *options: str) -> Result:
    return CliRunner().invoke(
        app,
        ["--data-dir", str(data_dir), "demo", *options],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "160"},
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """The demo, run once for the whole module: it takes a few seconds."""
    data_dir = tmp_path_factory.mktemp("demo")
    return data_dir, demo(data_dir)


@pytest.fixture
def engine(written: tuple[Path, Result]) -> Iterator[Engine]:
    app_ = build_engine(Settings(data_dir=written[0]))
    yield app_
    app_.close()


def test_the_demo_writes_an_organisation_and_tells_what_happened(
    written: tuple[Path, Result],
) -> None:
    _, result = written
    assert result.exit_code == 0, result.output
    for text in (
        "commands wrote",
        "Challenges",
        "archived",
        "Top 8 earners",
        "sum over all accounts 0",
    ):
        assert text in result.stdout
    assert "ideas still wait for a decision" in result.stdout


def test_the_second_run_writes_nothing(written: tuple[Path, Result], engine: Engine) -> None:
    data_dir, _ = written
    before = engine.last_position

    again = demo(data_dir)

    assert again.exit_code == 0, again.output
    assert "nothing written" in again.stdout
    assert engine.last_position == before


def test_every_point_is_accounted_for(engine: Engine) -> None:
    ledger = balances(all_events(engine))
    assert sum(ledger.values()) == 0
    assert all(points >= 0 for account, points in ledger.items() if account != "treasury")


def test_the_story_reaches_every_stage(engine: Engine) -> None:
    stages = [
        engine.challenge(challenge_id(k)).stage for k in ("changeover", "quotes", "onboarding")
    ]
    assert stages == [Stage.ARCHIVED, Stage.CLOSED, Stage.OPEN]
    assert engine.challenge(challenge_id("changeover")).pot == 0  # the leftover went back
    outcomes = {
        "carts": IdeaStatus.IMPLEMENTED,
        "smed": IdeaStatus.ABANDONED,
        "boards-dup": IdeaStatus.MERGED,
        "checklist": IdeaStatus.WITHDRAWN,
        "matrix": IdeaStatus.IN_IMPLEMENTATION,
        "buddy": IdeaStatus.UNDER_REVIEW,
        "tours": IdeaStatus.SUBMITTED,
    }
    assert {key: engine.idea(idea_id(key)).status for key in outcomes} == outcomes
    assert engine.person("kevin.obrien").balance < engine.person("kevin.obrien").earned


def test_fresh_starts_over_and_tells_the_same_story(tmp_path: Path) -> None:
    first = demo(tmp_path)
    (tmp_path / "notes.txt").write_text("not ours to delete")

    fresh = demo(tmp_path, "--fresh")

    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout == first.stdout
    assert (tmp_path / "notes.txt").exists()


def test_the_demo_will_not_mix_with_other_data(tmp_path: Path) -> None:
    CliRunner().invoke(
        app,
        ["--data-dir", str(tmp_path), "people", "add", "mia", "--name", "M", "--department", "D"],
        env={"DATABASE_URL": None},
    )
    result = demo(tmp_path)
    assert result.exit_code == 1
    assert "already holds other data" in result.stderr


def test_fresh_is_refused_on_postgresql(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--database-url", "postgresql://u:p@127.0.0.1:1/none", "demo", "--fresh"]
    )
    assert result.exit_code == 1
    assert "only on the embedded SQLite store" in result.stderr


def test_the_demo_people_have_addresses_so_it_shows_the_emails_it_would_send(
    engine: Engine,
) -> None:
    for handle, *_ in PEOPLE:
        assert engine.person(handle).email == f"{handle}@example.com"
