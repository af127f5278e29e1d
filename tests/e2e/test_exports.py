"""A challenge's CSV exports: parsed back, each equals the JSON API's rows for the same
caller (drafts, hidden contributions and pseudonyms as the API masks them); cells a
spreadsheet would run as formulas are defused; who may not export is refused."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from uuid import UUID

from groundswell.bootstrap import build_tokens
from tests.e2e.test_web_pages import cookie
from tests.http_support import Org, challenge_terms

JSON_ROWS = {  # each export and the JSON read that answers the same rows
    "ideas": ("/v1/ideas", lambda answer: answer["items"]),
    "contributions": ("/v1/contributions", lambda answer: answer["items"]),
    "leaderboard": ("/v1/leaderboard", lambda answer: answer["items"]),
    "follow-up": ("/v1/follow-up", lambda answer: answer["debt"]["items"]),
}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def story(org: Org) -> str:
    """mia's challenge: an idea titled like a formula, a helpful rewarded comment, a hidden
    one, a pseudonym, and a decision overdue."""
    challenge = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    org.post("mia", f"/v1/challenges/{challenge}/open")
    e = org.engine
    idea = e.submit_idea(
        "cat", UUID(challenge), title='=HYPERLINK("http://x")', description='Ünï, "q"\nline'
    ).id
    e.submit_idea("dan", UUID(challenge), title="Carts", description="+ more carts")
    helpful = e.comment("dan", idea, "@mia -40 % scrap").id
    e.mark_helpful("mia", helpful)
    e.grant_reward("mia", "helpful-contribution", helpful)
    e.hide_contribution("mia", e.comment("owen", idea, "Off topic").id, "off topic")
    e.choose_pseudonym("dan", "Night Owl")
    org.clock.advance(days=20)
    return str(challenge)


def parsed(text: str) -> tuple[list[str], list[list[str]]]:
    header, *body = list(csv.reader(io.StringIO(text)))
    return header, body


def without_days(text: str) -> list[list[str]]:
    header, body = parsed(text)
    kept = [n for n, column in enumerate(header) if not column.endswith("_days")]
    return [[row[n] for n in kept] for row in [header, *body]]


def decoded(text: str, like: Any) -> Any:
    """A cell back to the JSON value it stands for (``like``: the API's value, for its type)."""
    if like is None:
        assert text == ""
        return None
    if isinstance(like, bool):
        return {"true": True, "false": False}[text]
    if isinstance(like, int | float):
        return type(like)(text)
    if isinstance(like, str):
        if text[:1] == "'" and text[1:2] and text[1:2] in "=+-@\t\r'":
            return text[1:]
        assert not text.startswith(DANGEROUS), f"a formula left in a cell: {text!r}"
        return text
    return json.loads(text)


def test_each_export_parses_back_to_the_apis_rows_for_the_same_caller(org: Org) -> None:
    challenge = story(org)
    for handle in ("mia", "ada", "aud"):
        for table, (path, items_of) in JSON_ROWS.items():
            answer = org.get(handle, f"/v1/challenges/{challenge}/export/{table}.csv")
            assert answer.status_code == 200, (handle, table, answer.text)
            assert answer.headers["content-type"] == "text/csv; charset=utf-8"
            assert "attachment" in answer.headers["content-disposition"]
            expected = items_of(org.get(handle, path, challenge=challenge, limit=500).json())
            header, body = parsed(answer.content.decode("utf-8"))
            assert len(body) == len(expected) > 0, (handle, table)
            assert header == list(expected[0]), (handle, table)
            back = [
                {
                    column: decoded(text, row[column])
                    for column, text in zip(header, cells, strict=True)
                }
                for cells, row in zip(body, expected, strict=True)
            ]
            assert back == expected, (handle, table)


def test_formulas_are_defused_and_text_is_utf8(org: Org) -> None:
    challenge = story(org)
    text = org.get("mia", f"/v1/challenges/{challenge}/export/ideas.csv").text
    assert "'=HYPERLINK" in text and "'+ more carts" in text and "Ünï" in text
    said = org.get("mia", f"/v1/challenges/{challenge}/export/contributions.csv").text
    assert "'@mia -40 % scrap" in said and "Off topic" in said  # managers moderate


def test_who_may_not_export_is_refused(org: Org) -> None:
    challenge = story(org)
    org.engine.register_person("max", name="Max", department="R&D", roles=["manager"])
    store = build_tokens(org.settings)
    org.tokens["max"] = store.issue("max", "test")[0]
    store.close()
    for handle in ("cat", "owen", "max"):  # max manages other challenges, not this one
        refused = org.get(handle, f"/v1/challenges/{challenge}/export/ideas.csv")
        assert refused.status_code == 403, refused.text
        assert "only this challenge's managers" in refused.json()["detail"]
    assert org.get("cat", f"/v1/challenges/{challenge}/export/tables.csv").status_code == 422
    unknown = "00000000-0000-4000-8000-000000000000"
    assert org.get("mia", f"/v1/challenges/{unknown}/export/ideas.csv").status_code == 404
    draft = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    assert org.get("cat", f"/v1/challenges/{draft}/export/ideas.csv").status_code == 404


def test_the_challenge_page_links_the_exports_for_those_who_may_download_them(org: Org) -> None:
    challenge = story(org)
    page = f"/web/challenges/{challenge}"
    link = f"/web/challenges/{challenge}/export/leaderboard.csv"
    assert link in org.client.get(page, headers=cookie(org, "mia")).text
    assert link in org.client.get(page, headers=cookie(org, "aud")).text
    assert "Export as CSV" not in org.client.get(page, headers=cookie(org, "cat")).text
    got = org.client.get(link, headers=cookie(org, "mia"))
    api = org.get("mia", f"/v1/challenges/{challenge}/export/leaderboard.csv")
    assert got.status_code == 200 and got.content == api.content
    refused = org.client.get(link, headers=cookie(org, "cat"))
    assert refused.status_code == 403 and "only this challenge" in refused.text


def test_the_cli_exports_what_the_api_exports_and_refuses_alike(org: Org, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from groundswell.cli import app

    if org.settings.database_url:
        return  # the CLI calls the same rows; once on SQLite is enough
    challenge = story(org)
    env = {"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None}
    base = ["--data-dir", str(org.settings.data_dir), "export", challenge]
    for table in JSON_ROWS:
        shown = CliRunner().invoke(app, [*base, table, "--as", "mia"], env=env)
        assert shown.exit_code == 0, shown.output
        api = org.get("mia", f"/v1/challenges/{challenge}/export/{table}.csv").text
        # Days waited count to the CLI's clock, not the test's stepping one: left out.
        assert without_days(shown.stdout) == without_days(api), table
    written = tmp_path / "ideas.csv"
    saved = CliRunner().invoke(app, [*base, "ideas", "--as", "aud", "-o", str(written)], env=env)
    assert saved.exit_code == 0 and "2 rows written" in saved.stderr
    assert (
        written.read_bytes()
        == org.get("aud", f"/v1/challenges/{challenge}/export/ideas.csv").content
    )
    refused = CliRunner().invoke(app, [*base, "ideas", "--as", "cat"], env=env)
    assert refused.exit_code == 1 and "only this challenge's managers" in refused.stderr
    wrong = CliRunner().invoke(app, [*base, "tables", "--as", "mia"], env=env)
    assert wrong.exit_code == 1 and "TABLE must be one of" in wrong.stderr
