"""The read-model commands and `projections status|rebuild`, end to end on a SQLite store."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from groundswell.bootstrap import build_engine
from groundswell.cli import app
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES
from tests.support import SteppingClock, redeem

# The story happened fifty days ago, so what is still undecided is past its 30-day deadline.
STORY_START = datetime.now(UTC) - timedelta(days=50)


class Cli:
    def __init__(self, data_dir: Path, ids: dict[str, str]) -> None:
        self.data_dir, self.ids, self.runner = data_dir, ids, CliRunner()

    def __call__(self, command: str) -> Result:
        return self.runner.invoke(
            app,
            ["--data-dir", str(self.data_dir), *shlex.split(command.format(**self.ids))],
            env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
        )

    def out(self, command: str) -> str:
        result = self(command)
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, command: str) -> Any:
        return json.loads(self.out(command + " --json"))


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A small challenge: one idea accepted, rewarded and handed over; two left waiting."""
    clock = SteppingClock(STORY_START)
    engine = build_engine(Settings(data_dir=tmp_path), clock=clock)
    try:
        for handle, name, department, pseudonym, roles in (
            ("mia", "Mia Lindqvist", "R&D", None, ["manager"]),
            ("anna", "Anna Kowalski", "Production", None, ["contributor"]),
            ("ben", "Ben Adeyemi", "Logistics", "Forklift Phil", ["contributor"]),
            ("lars", "Lars Becker", "Production", None, ["owner"]),
        ):
            engine.register_person(
                handle, name=name, department=department, pseudonym=pseudonym, roles=roles
            )
        challenge = engine.draft_challenge(
            "mia",
            pot=1000,
            title="Cut changeover time",
            question="How do we halve changeovers?",
            sponsor="COO",
            target_departments=["Production", "Logistics"],
            submission_deadline=(STORY_START + timedelta(days=10)).date().isoformat(),
            decision_deadline_days=30,
            accepted_idea_points=100,
            implemented_idea_points=200,
            helpful_contribution_points=10,
            prize_points=[500],
        ).id
        assert challenge is not None
        engine.open_challenge("mia", challenge)

        def submit(author: str, title: str) -> Any:
            return engine.submit_idea(author, challenge, title=title, description=title).id

        carts, clamps, music = (
            submit("anna", "Carts"),
            submit("ben", "Clamps"),
            submit("anna", "Music"),
        )
        engine.invite_to_team("anna", carts, "ben")
        engine.join_team("ben", carts)
        engine.comment("ben", music, "Which music, though?")
        clock.advance(days=5)
        engine.start_review("mia", carts)
        engine.accept_idea("mia", carts)
        engine.grant_reward("mia", "idea-accepted", carts)
        engine.take_over_idea(
            "mia", carts, core_process="Line supply", external_ref="SAP-4711", owner="lars"
        )
        redeem(engine, "anna", 20, "Mug")
    finally:
        engine.close()
    ids = {"challenge": str(challenge), "carts": str(carts), "clamps": str(clamps)}
    return Cli(tmp_path, ids)


def test_leaderboard_shows_pseudonyms_and_points(cli: Cli) -> None:
    shown = cli.out("leaderboard")
    assert "Forklift Phil" in shown and "Ben Adeyemi" not in shown
    assert [(s["shown_as"], s["points"]) for s in cli.json("leaderboard --limit 5")] == [
        ("Anna Kowalski", 50),
        ("Forklift Phil", 50),
    ]
    assert len(cli.json("leaderboard --challenge {challenge} --limit 1")) == 1


def test_department_board(cli: Cli) -> None:
    board = {d["department"]: d for d in cli.json("departments --challenge {challenge}")}
    assert board["Production"] == {
        "department": "Production",
        "points": 50,
        "ideas": 2,
        "contributors": 1,
    }
    assert (board["Logistics"]["points"], board["Logistics"]["ideas"]) == (50, 1)
    assert "Production" in cli.out("departments")


def test_balance_and_ledger(cli: Cli) -> None:
    shown = cli.out("balance anna")
    # Plain words in the table, the codes in --json.
    for text in ("Anna Kowalski (anna): 30 points", "accepted idea (the team's share)", "+50"):
        assert text in shown
    assert "split share" not in shown and "idea-accepted" not in shown
    assert "redeemed: Mug" in shown and "-20" in shown and "Carts" in shown
    found = cli.json("balance anna")
    assert found["balance"] == 30
    assert [(e["kind"], e["points"]) for e in found["entries"]] == [
        ("redemption", -20),
        ("split share", 50),
    ]
    assert all(len(e["event_id"]) == 36 for e in found["entries"])


def test_pot_and_treasury(cli: Cli) -> None:
    assert "Cut changeover time │   1000 │     100 │        0 │       900" in cli.out(
        "pot {challenge}"
    )
    found = cli.json("pot {challenge}")
    assert (found["funded"], found["granted"], found["remaining"]) == (1000, 100, 900)
    treasury = cli.json("treasury")
    assert (treasury["treasury"], treasury["redeemed"]) == (-1000, 20)
    said = cli.out("treasury")
    assert "Treasury balance -1000 points" in said
    # What the minus means is said with it.
    assert "The treasury issues the points that fund the challenges' pots" in said
    assert "minus what it issued: 1000 points" in said


def test_funnel_and_where_each_idea_stands(cli: Cli) -> None:
    found = cli.json("funnel --challenge {challenge}")
    assert [(s["step"], s["ideas"]) for s in found["funnel"]] == [
        ("submitted", 3),
        ("reviewed", 1),
        ("accepted", 1),
        ("in implementation", 1),
        ("implemented", 0),
    ]
    carts = next(i for i in found["ideas"] if i["title"] == "Carts")
    assert (carts["stage"], carts["owner"], carts["external_ref"]) == (
        "in implementation",
        "lars",
        "SAP-4711",
    )
    assert 44.9 < carts["days_in_stage"] < 45.1
    shown = cli.out("funnel")
    assert "33 %" in shown and "Line supply" in shown and "SAP-4711" in shown


def test_follow_up_debt_names_what_waits_and_on_whose_desk(cli: Cli) -> None:
    found = cli.json("follow-up --challenge {challenge}")
    assert sorted(d["title"] for d in found["debt"]) == ["Clamps", "Music", "Which music, though?"]
    assert all(49.9 < d["waited_days"] < 50.1 for d in found["debt"])
    assert found["by_manager"] == {"mia": 3}
    assert found["median_days_to_decision"] == 5.0
    shown = cli.out("follow-up --manager mia")
    assert "(desk: mia)" in shown and "Clamps" in shown and "mia 3" in shown
    assert "Nothing waits" in cli.out("follow-up --manager omar")


def test_notifications_newest_first(cli: Cli) -> None:
    found = cli.json("notifications anna")
    assert [n["at"] for n in found] == sorted((n["at"] for n in found), reverse=True)
    assert "You received 50 points for the accepted idea." in [n["text"] for n in found]
    assert len(cli.json("notifications anna --limit 1")) == 1
    assert "was taken over for implementation" in cli.out("notifications anna")


def test_breadth_shows_departments_and_no_concentration_warning_for_two_people(
    cli: Cli,
) -> None:
    # With fewer than ten contributors "the top 10%" is one person; no warning is raised.
    found = cli.json("breadth {challenge}")
    assert found["contributors"] == 2
    assert found["targeted_taking_part"] == ["Logistics", "Production"]
    assert found["small_circle_warning"] is False
    shown = cli.out("breadth {challenge}")
    assert "2 of 2 targeted departments take part." in shown
    assert "Warning: a small circle" not in shown


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("balance ghost", "nobody with handle 'ghost'"),
        ("notifications ghost", "nobody with handle 'ghost'"),
        ("pot 0b6c5e0e-8a4f-4c1b-9d0a-3f2e1c4b5a69", "no challenge with id"),
        ("breadth 0b6c5e0e-8a4f-4c1b-9d0a-3f2e1c4b5a69", "no challenge with id"),
    ],
)
def test_unknown_people_and_challenges_are_refused(cli: Cli, command: str, message: str) -> None:
    result = cli(command)
    assert result.exit_code == 1
    assert message in result.stderr


def status(cli: Cli) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in cli.json("projections status")}


def figures(cli: Cli) -> list[Any]:
    """Every board's JSON that does not move with the clock."""
    commands = ("leaderboard", "departments", "balance anna", "pot {challenge}", "treasury")
    commands += ("notifications anna", "breadth {challenge}")
    follow_up = cli.json("follow-up")
    return [cli.json(c) for c in commands] + [
        sorted(d["id"] for d in follow_up["debt"]),
        follow_up["median_days_to_decision"],
        cli.json("funnel")["funnel"],
    ]


def test_status_shows_the_lag_until_the_read_models_catch_up(cli: Cli) -> None:
    before = status(cli)
    assert set(before) == set(PROJECTION_NAMES)
    last = before["leaderboard"]["last_position"]
    assert last > 0 and all(p["lag"] == last for p in before.values())

    cli.out("leaderboard")

    after = status(cli)
    assert all(p["lag"] == 0 and p["checkpoint"] == last for p in after.values())
    assert all(p["rows"] > 0 and p["version"] == p["fold_version"] for p in after.values())
    assert "notifications" in cli.out("projections status")


def test_rebuilding_one_or_all_leaves_the_same_figures(cli: Cli) -> None:
    live = figures(cli)

    one = cli.out("projections rebuild balances")
    assert "rebuilt balances:" in one and "events/s" in one
    assert figures(cli) == live

    every = cli.out("projections rebuild")
    assert f"rebuilt all {len(PROJECTION_NAMES)} projections:" in every
    assert figures(cli) == live
    assert all(p["lag"] == 0 for p in status(cli).values())


def test_rebuild_refuses_an_unknown_projection(cli: Cli) -> None:
    result = cli("projections rebuild nonsense")
    assert result.exit_code == 1
    assert "unknown projection 'nonsense'" in result.stderr
    assert all(name in result.stderr for name in PROJECTION_NAMES)
