"""The follow-up policy over HTTP and the CLI: shown to those who see the challenge, set by
its managers, refused with a reason otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_cli import Cli, draft, register_cast
from tests.http_support import Org, challenge_terms


def test_over_http_a_manager_sets_the_policy_and_everyone_reads_it(org: Org) -> None:
    created = org.post(
        "mia", "/v1/challenges", challenge_terms(follow_up={"answer_days": 3})
    ).json()
    path = f"/v1/challenges/{created['id']}/follow-up-policy"
    org.post("mia", f"/v1/challenges/{created['id']}/open")
    assert org.get("cat", path).json() == {
        "decision_deadline_days": 14,
        "answer_days": 3,
        "progress_days": 30,
        "remind_every_days": 7,
        "escalate_to_managers_after_days": 7,
        "escalate_to_sponsor_after_days": 21,
        "sponsor_handle": "",
    }
    changed = org.client.put(
        path, json={"remind_every_days": 2, "sponsor_handle": "ada"}, headers=org.auth("mia")
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == 1
    found = org.get("aud", path).json()
    assert (found["remind_every_days"], found["sponsor_handle"], found["answer_days"]) == (
        2,
        "ada",
        3,
    )


def test_over_http_a_bad_or_unauthorised_change_is_refused_and_writes_nothing(org: Org) -> None:
    created = org.post("mia", "/v1/challenges", challenge_terms()).json()
    path = f"/v1/challenges/{created['id']}/follow-up-policy"
    before = org.engine.last_position
    by_contributor = org.client.put(path, json={"answer_days": 2}, headers=org.auth("cat"))
    assert by_contributor.status_code == 403, by_contributor.text
    too_long = org.client.put(path, json={"answer_days": 900}, headers=org.auth("mia"))
    assert too_long.status_code == 422
    unknown = org.client.put(path, json={"reply_days": 2}, headers=org.auth("mia"))
    assert unknown.status_code == 422
    ladder = org.client.put(
        path,
        json={"escalate_to_managers_after_days": 9, "escalate_to_sponsor_after_days": 3},
        headers=org.auth("mia"),
    )
    assert ladder.status_code == 422
    assert "the sponsor is told after the other managers" in ladder.json()["detail"]
    assert ladder.json()["field"] == "escalate_to_sponsor_after_days"
    assert org.engine.last_position == before
    # A draft is seen only by its managers: nobody else learns it exists.
    assert org.get("cat", path).status_code == 404


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_the_cli_shows_and_changes_the_policy(cli: Cli) -> None:
    register_cast(cli)
    c = draft(cli)
    shown = cli(f"follow-up policy {c} --json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["answer_days"] == 7
    changed = cli(f"follow-up policy {c} --as mia --answer-days 4 --sponsor-handle omar --json")
    assert changed.exit_code == 0, changed.output
    assert "follow-up policy set: id" in changed.stdout
    terms = json.loads(changed.stdout[changed.stdout.index("{") :])
    assert (terms["answer_days"], terms["sponsor_handle"]) == (4, "omar")
    refused = cli(f"follow-up policy {c} --as anna --answer-days 2")
    assert refused.exit_code == 1
    assert "error: only the managers of" in refused.output
    assert "escalate to sponsor after days" in cli(f"follow-up policy {c}").stdout
