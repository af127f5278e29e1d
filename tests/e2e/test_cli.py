"""The groundswell CLI end to end: commands on a SQLite store in a temporary directory."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner, Result

from domain.challenge import Stage
from domain.idea import IdeaStatus
from domain.ledger import balances
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.cli import app
from groundswell.demo.summary import all_events
from groundswell.settings import Settings

# The CLI runs on the real clock, so the deadline lies ahead of today.
DEADLINE = (date.today() + timedelta(days=60)).isoformat()
RECEIPT = re.compile(r"\bid ([0-9a-f-]{36}), position (\d+)$", re.MULTILINE)


class Cli:
    """Runs ``groundswell --data-dir TMP ...``, ignoring any store set in the environment."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, command: str) -> Result:
        return self.runner.invoke(
            app,
            ["--data-dir", str(self.data_dir), *shlex.split(command)],
            env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
        )

    def ok(self, command: str) -> str:
        """Run a command that must succeed; the id it printed."""
        result = self(command)
        assert result.exit_code == 0, result.output
        found = RECEIPT.search(result.stdout)
        assert found, result.stdout
        return found.group(1)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A second engine on the same store, to look at what the CLI wrote."""
    app_ = build_engine(Settings(data_dir=tmp_path))
    yield app_
    app_.close()


def register_cast(cli: Cli) -> None:
    cli.ok("people add mia --name 'Mia Lindqvist' --department R&D --role manager")
    cli.ok("people add omar --name 'Omar Haddad' --department Sales --role manager")
    cli.ok("people add anna --name 'Anna Kowalski' --department Production")
    cli.ok("people add ben --name 'Ben Adeyemi' --department Logistics --pseudonym 'Forklift Phil'")
    cli.ok("people add lars --name 'Lars Becker' --department Production --role owner")


def draft(cli: Cli) -> str:
    return cli.ok(
        "challenge draft --as mia --title 'Cut changeover time' "
        "--question 'How do we halve changeovers?' --sponsor COO "
        "--department Production --department Logistics --pot 1000 "
        f"--submission-deadline {DEADLINE} --decision-days 30 --accepted-points 100 "
        "--implemented-points 200 --helpful-points 10 --prize 500 --prize 300"
    )


def test_a_challenge_end_to_end(cli: Cli, engine: Engine) -> None:
    register_cast(cli)
    challenge = draft(cli)
    assert cli.ok(f"challenge open {challenge} --as mia") == challenge
    idea = cli.ok(
        f"idea submit {challenge} --as anna --title 'Pre-staged carts' "
        "--description 'Carts with the next die set.'"
    )
    cli.ok(f"idea invite {idea} ben --as anna")
    cli.ok(f"idea join {idea} --as ben")
    cli.ok(f"idea review {idea} --as mia")
    cli.ok(f"idea accept {idea} --as mia --note 'Pilot in October.'")

    granted = cli(f"reward grant idea-accepted {idea} --as mia")
    assert granted.exit_code == 0, granted.output
    assert f"id {challenge}" in granted.stdout
    assert "granted the reward for the accepted idea" in granted.stdout  # words, not the code
    assert "100 points: anna +50, ben +50" in granted.stdout
    mug = cli.ok("store offer Mug --price 30 --stock 2")
    redeemed = cli(f"reward redeem {mug} --as anna")
    assert redeemed.exit_code == 0, redeemed.output
    assert "balance now 20 points" in redeemed.stdout

    shown = cli(f"challenge show {challenge}").stdout
    for text in ("Cut changeover time", "open", "900 points left of 1000", "RewardGranted"):
        assert text in shown
    shown = cli(f"idea show {idea}").stdout
    assert "accepted" in shown and "anna, ben" in shown and "TeamMemberJoined" in shown
    shown = cli("people show anna").stdout
    assert "20 points" in shown and "PointsRedeemed" in shown

    assert engine.challenge(UUID(challenge)).stage is Stage.OPEN
    assert engine.challenge(UUID(challenge)).pot == 900
    assert engine.idea(UUID(idea)).status is IdeaStatus.ACCEPTED
    assert (engine.person("anna").balance, engine.person("anna").earned) == (20, 50)
    assert engine.person("ben").pseudonym == "Forklift Phil"
    assert sum(balances(all_events(engine)).values()) == 0


def test_every_engine_command_has_its_cli_command(cli: Cli, engine: Engine) -> None:
    register_cast(cli)
    c = draft(cli)
    cli.ok(f"challenge edit {c} --as mia --title 'Cut changeover time on Line 3'")
    cli.ok(f"challenge add-manager {c} omar --as mia")
    cli.ok(f"challenge top-up {c} 200 --as omar")
    cli.ok(f"challenge open {c} --as mia")
    carts = cli.ok(f"idea submit {c} --as anna --title Carts --description 'Staged carts.'")
    clamps = cli.ok(f"idea submit {c} --as ben --title Clamps --description 'Quick clamps.'")
    dup = cli.ok(f"idea submit {c} --as ben --title 'Carts again' --description 'Same.'")
    gone = cli.ok(f"idea submit {c} --as anna --title Music --description 'A playlist.'")
    cli.ok(f"idea edit {carts} --as anna --description 'Carts staged by Logistics.'")
    cli.ok(f"idea withdraw {gone} --as anna")
    cli.ok(f"idea merge {clamps} --into {carts} --as mia")
    cli.ok(f"idea unmerge {clamps} --as omar")
    cli.ok(f"idea merge {dup} --into {carts} --as mia")
    tip = cli.ok(f"contribution comment {carts} --as ben --body 'Label them by die.'")
    cli.ok(f"contribution build-on {carts} --links {clamps} --as ben --body 'Clamps fit.'")
    cli.ok(f"contribution endorse {carts} --as ben")
    rude = cli.ok(f"contribution comment {clamps} --as anna --body 'Call 555-0100.'")
    cli.ok(f"contribution hide {rude} --as mia --reason 'A private number.'")
    cli.ok(f"idea ask-reviewer {carts} lars --as mia")
    cli.ok(f"contribution score {carts} --as lars --score 5 --body Cheap.")
    cli.ok(f"contribution helpful {tip} --as mia")
    cli.ok(f"challenge review {c} --as mia")
    for idea in (carts, clamps):
        cli.ok(f"idea review {idea} --as mia")
        cli.ok(f"idea accept {idea} --as mia")
    cli.ok(f"reward grant helpful-contribution {tip} --as mia")
    cli.ok(
        f"idea take-over {carts} --as mia --owner lars "
        "--core-process 'Line supply' --external-ref SAP-4711"
    )
    asked = cli(f"idea take-over {clamps} --as lars --core-process Changeover")
    assert asked.exit_code == 0 and "lars asked the managers to take over idea" in asked.stdout
    cli.ok(f"idea take-over {clamps} --as mia --owner lars --core-process Changeover")
    cli.ok("people roles ben --role contributor --role owner")
    reassigned = cli(f"idea reassign {clamps} --as mia --owner ben")
    assert reassigned.exit_code == 0 and "ben owns the implementation of idea" in reassigned.stdout
    cli.ok(f"idea progress {carts} --as lars --note 'Three carts built.'")
    cli.ok(f"idea implemented {carts} --as lars --impact '95 to 58 minutes.'")
    cli.ok(f"idea abandon {clamps} --as ben --reason 'Hydraulics too weak.'")
    cli.ok(f"reward grant idea-implemented {carts} --as mia")
    cli.ok(f"reward prize {carts} --rank 1 --as omar")
    cli.ok(f"challenge close {c} --as mia")
    cli.ok(f"challenge archive {c} --as mia")
    cli.ok("people pseudonym 'Night Owl' --as anna")
    cli.ok("people department ben Production")
    cli.ok("people disable lars --reason 'Left the company.'")
    cli.ok("people enable lars")
    assert "A private number." in cli(f"contribution show {rude}").stdout

    archived = engine.challenge(UUID(c))
    assert archived.title == "Cut changeover time on Line 3"
    assert archived.stage is Stage.ARCHIVED and archived.pot == 0
    assert (archived.funded, archived.granted) == (1200, 10 + 200 + 500)
    assert engine.idea(UUID(clamps)).status is IdeaStatus.ABANDONED
    assert engine.idea(UUID(dup)).status is IdeaStatus.MERGED
    assert engine.idea(UUID(gone)).status is IdeaStatus.WITHDRAWN
    assert engine.person("anna").balance == 700
    assert engine.person("anna").pseudonym == "Night Owl"
    assert engine.person("ben").roles == ["contributor", "owner"]
    assert sum(balances(all_events(engine)).values()) == 0


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "reward redeem 00000000-0000-0000-0000-000000000001 --as anna",
            "error: no store item with id 00000000-0000-0000-0000-000000000001.",
        ),
        ("challenge open {c} --as anna", "error: only the managers of"),
        ("idea submit {c} --as anna --title T --description D", "only into an open challenge"),
        ("idea submit {c} --as ghost --title T --description D", "nobody with handle 'ghost'"),
        ("people add anna --name A --department D", "'anna' is already registered"),
        ("people show nobody", "error: nobody with handle 'nobody' is registered."),
        ("people enable anna", "error: anna is not disabled, so cannot be enabled."),
        ("people disable anna --reason ' '", "error: reason must not be empty."),
        ("challenge edit {c} --as mia --submission-deadline soon", "(field: submission_deadline)"),
        ("reward grant bonus {c} --as mia", "unknown reward reason 'bonus'"),
        ("challenge show 0b6c5e0e-8a4f-4c1b-9d0a-3f2e1c4b5a69", "no challenge with id"),
    ],
)
def test_a_refused_command_says_why_and_writes_nothing(
    cli: Cli, engine: Engine, command: str, message: str
) -> None:
    register_cast(cli)
    challenge = draft(cli)
    before = engine.last_position

    result = cli(command.format(c=challenge))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stdout == ""
    assert engine.last_position == before


def test_an_id_that_is_no_uuid_is_a_usage_error(cli: Cli) -> None:
    result = cli("idea show not-an-id")
    assert result.exit_code == 2
    assert "is not an id" in result.output


def test_nothing_connects_before_a_command_needs_the_store(tmp_path: Path) -> None:
    store = tmp_path / "never"
    assert Cli(store)("challenge --help").exit_code == 0
    assert Cli(store)("idea show not-an-id").exit_code == 2
    assert not store.exists()
