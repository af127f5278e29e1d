"""`groundswell tokens`: an administrator issues, lists and revokes API tokens; the API obeys."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from groundswell.access.tokens import hash_token
from groundswell.bootstrap import build_http_app
from groundswell.cli import app
from groundswell.settings import Settings


def cli(data_dir: Path, command: str) -> Result:
    return CliRunner().invoke(
        app,
        ["--data-dir", str(data_dir), *shlex.split(command)],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
    )


def test_a_token_is_issued_once_stored_hashed_listed_and_revoked(tmp_path: Path) -> None:
    assert cli(tmp_path, "people add anna --name Anna --department Sales").exit_code == 0
    issued = cli(tmp_path, "tokens issue anna --label 'chat bot'")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    token_id = issued.stdout.split()[1]
    assert token.startswith("gs_") and len(token) > 40

    stored = sqlite3.connect(tmp_path / "groundswell.sqlite").execute(
        "SELECT token_hash, handle, label FROM api_tokens"
    )
    assert stored.fetchall() == [(hash_token(token), "anna", "chat bot")]  # never the token

    listed = cli(tmp_path, "tokens list")
    assert token_id in listed.stdout and "chat bot" in listed.stdout and token not in listed.stdout

    # localhost: a Host the served engine answers by default.
    client = TestClient(build_http_app(Settings(data_dir=tmp_path)), base_url="http://localhost")
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["handle"] == "anna"

    assert cli(tmp_path, f"tokens revoke {token_id}").exit_code == 0
    refused = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "token-unknown"

    again = cli(tmp_path, f"tokens revoke {token_id}")
    assert again.exit_code == 1 and "no live token" in again.stderr


def test_tokens_are_only_issued_to_registered_people(tmp_path: Path) -> None:
    result = cli(tmp_path, "tokens issue nobody")
    assert result.exit_code == 1
    assert "nobody with handle 'nobody' is registered" in result.stderr
    assert "No tokens issued yet." in cli(tmp_path, "tokens list").stdout
