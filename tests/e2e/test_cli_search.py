"""`groundswell search` end to end on a SQLite store: as an auditor by default, as a person
with --as (drafts, hidden contributions, pseudonyms as the API keeps them), refusals."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from groundswell.bootstrap import build_engine
from groundswell.cli import app
from groundswell.settings import Settings
from tests.http_support import challenge_terms
from tests.support import SteppingClock


def test_search_from_the_command_line(tmp_path: Path) -> None:
    engine = build_engine(Settings(data_dir=tmp_path), clock=SteppingClock())
    try:
        for handle, roles in (("mia", ["manager"]), ("cat", ["contributor"]), ("dan", ["owner"])):
            engine.register_person(handle, name=handle.title(), department="Ops", roles=roles)
        engine.choose_pseudonym("dan", "Brave Owl")
        engine.draft_challenge("mia", **challenge_terms(title="Secret clamps"))
        cid = engine.draft_challenge("mia", **challenge_terms(title="Open ideas")).id
        engine.open_challenge("mia", cid)
        idea = engine.submit_idea("dan", cid, title="Clamps [bold]x[/bold]", description="Fast.")
        rude = engine.comment("cat", idea.id, "Rude clamps").id
        engine.hide_contribution("mia", rude, "Rude.")
    finally:
        engine.close()
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            app, ["--data-dir", str(tmp_path), "search", *args],
            env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
        )  # fmt: skip
        return result.exit_code, result.output

    code, said = run("clamps", "--json")
    assert code == 0, said
    assert {h["kind"] for h in json.loads(said)} == {"challenge", "idea", "contribution"}
    code, said = run("clamps", "--as", "cat", "--json")
    hits = json.loads(said)
    assert [(h["kind"], h["author"]) for h in hits] == [
        ("idea", "Brave Owl"),
        ("contribution", "cat"),
    ]
    code, said = run("clamps", "--as", "mia")
    assert code == 0 and "[bold]x[/bold]" in said and "dan" in said  # text never read as markup
    code, said = run('"*(')
    assert code != 0 and "no words to look for" in said
    code, said = run("clamps", "--kind", "person")
    assert code != 0 and "kind must be one of" in said

    # Rebuilt in two shares of the documents, one process each: the same answers.
    searched = run("clamps", "--as", "mia", "--json")
    rebuilt = runner.invoke(
        app, ["--data-dir", str(tmp_path), "projections", "rebuild", "search", "--workers", "2"],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None},
    )  # fmt: skip
    assert rebuilt.exit_code == 0 and "rebuilt search in 2 shares:" in rebuilt.output, (
        rebuilt.output
    )
    assert run("clamps", "--as", "mia", "--json") == searched
