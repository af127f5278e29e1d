"""Every CLI command that prints a table stays readable in an 80-column terminal: each
table fits, no cell is cut to an ellipsis that the wide terminal shows whole, and no
word is broken in the middle (Rich folds a word only when its column is narrower than it).

Each command runs twice on the demo organisation, at COLUMNS=80 and COLUMNS=250; the
narrow output must hold the same words as the wide one."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from domain.contribution import Contribution
from groundswell.bootstrap import build_engine, build_tokens
from groundswell.cli import app
from groundswell.demo.seed import run_demo
from groundswell.demo.summary import all_events
from groundswell.settings import Settings

NARROW, WIDE = 80, 250
BORDERS = re.compile(r"[│┃┏┓┗┛┡┩┠┨└┘┌┐├┤┬┴┼━─╇╈┳┻╋┯┷┿╭╮╰╯═║]")
TABLE_LINE = re.compile(r"^[│┃┏┗┡└┌├╭╰]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The demo organisation, with a token issued, and the ids the commands need."""
    data_dir = tmp_path_factory.mktemp("demo80")
    settings = Settings(data_dir=data_dir)
    run_demo(settings, console=Console(quiet=True))
    tokens = build_tokens(settings)
    try:
        tokens.issue("anna.kowalski", "the chat bot in the logistics team's channel")
    finally:
        tokens.close()
    engine = build_engine(settings)
    try:
        events = all_events(engine)
    finally:
        engine.close()
    added = [e for e in events if isinstance(e, Contribution.Added)]
    funnel = run(data_dir, "funnel --json", WIDE)
    treasury = run(data_dir, "treasury --json", WIDE)
    challenge = max(json.loads(treasury)["pots"].items(), key=lambda p: p[1]["granted"])[0]
    ideas = json.loads(funnel)["ideas"]
    idea = next(i for i in ideas if i["owner"] and i["external_ref"])["idea_id"]
    ids = {
        "challenge": challenge,
        "idea": idea,
        "contribution": str(max(added, key=lambda e: len(e.body or "")).originator_id),
        "when": str(events[len(events) // 2].timestamp.date()),
    }
    return data_dir, ids


def run(data_dir: Path, command: str, columns: int) -> str:
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(data_dir), *shlex.split(command)],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": str(columns)},
    )
    assert result.exit_code == 0, (command, result.output)
    return result.stdout


# Every command that prints a table (in the demo anna.kowalski holds points, redeemed
# some and hears of many things). `audit verify` prints no table.
COMMANDS = [
    "leaderboard",
    "leaderboard --challenge {challenge}",
    "departments",
    "balance anna.kowalski",
    "pot {challenge}",
    "treasury",
    "funnel",
    "follow-up",
    "notifications anna.kowalski",
    "breadth {challenge}",
    "projections status",
    "tokens list",
    "people show anna.kowalski",
    "challenge show {challenge}",
    "idea show {idea}",
    "contribution show {contribution}",
    "audit history {challenge}",
    "audit history {idea}",
    "audit history {idea} --own",
    "audit history anna.kowalski",
    "audit replay",
    "audit as-of {when}",
]


def words(output: str) -> list[str]:
    """The words of an output, without borders and figures (timings differ run to run)."""
    return [w for w in BORDERS.sub(" ", output).split() if not re.fullmatch(r"[\d.,:%+-]+", w)]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_table_is_readable_at_80_columns(
    demo: tuple[Path, dict[str, str]], command: str
) -> None:
    data_dir, ids = demo
    narrow = run(data_dir, command.format(**ids), NARROW)
    wide = run(data_dir, command.format(**ids), WIDE)
    assert TABLE_LINE.search(narrow) or "┃" in narrow, f"{command} printed no table"
    too_wide = [
        line for line in narrow.splitlines() if TABLE_LINE.match(line) and cell_len(line) > NARROW
    ]
    assert too_wide == [], f"{command}: table lines wider than {NARROW} columns"
    assert narrow.count("…") == wide.count("…"), f"{command}: cells cut short\n{narrow}"
    whole = set(words(wide))
    broken = [word for word in words(narrow) if word not in whole]
    assert broken == [], f"{command}: words broken mid-word: {broken[:10]}\n{narrow}"


def test_the_check_catches_a_collapsed_table() -> None:
    """The check above fails on what the balance table used to print at 80 columns."""
    collapsed = "│ 2026-10-26 09:… │ redemption │  -150 │││ 48cc8701 │\n│ split sha… │"
    whole = "│ 2026-10-26 09:00 │ redemption │ -150 │ Book │ 48cc8701 │\n│ split share │"
    assert collapsed.count("…") != whole.count("…")
    assert [w for w in words("│ redempti │\n│ on │") if w not in set(words(whole))] == [
        "redempti",
        "on",
    ]
