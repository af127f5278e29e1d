"""The desk over HTTP and the CLI: what waits on whom, due when; who may look."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID

from tests.http_support import Org, challenge_terms


def story(org: Org) -> tuple[str, str]:
    """cat's idea in mia's challenge; dan asks on it; owen is asked to review; dan is invited."""
    challenge = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    org.post("mia", f"/v1/challenges/{challenge}/open")
    idea = org.post(
        "cat", f"/v1/challenges/{challenge}/ideas", {"title": "Carts", "description": "d"}
    ).json()["id"]
    org.engine.comment("dan", UUID(idea), "Which carts?")
    org.engine.ask_reviewer("mia", UUID(idea), "owen")
    org.engine.invite_to_team("cat", UUID(idea), "dan")
    return challenge, idea


def test_each_person_sees_what_waits_on_them_with_its_due_date(org: Org) -> None:
    _, idea = story(org)
    org.clock.advance(days=20)
    mine = org.get("mia", "/v1/me/desk").json()
    assert (mine["handle"], mine["waiting"], mine["overdue"]) == ("mia", 1, 1)
    (decision,) = mine["items"]
    assert (decision["kind"], decision["idea_id"], decision["title"]) == ("decision", idea, "Carts")
    assert decision["overdue_days"] >= 5.9  # 14 decision days, 20 waited
    assert decision["due"][:10] == (org.clock.now - timedelta(days=6)).date().isoformat()
    kinds = {
        handle: [item["kind"] for item in org.get(handle, "/v1/me/desk").json()["items"]]
        for handle in ("cat", "dan", "owen")
    }
    assert kinds == {"cat": ["answer"], "dan": ["invitation"], "owen": ["review"]}
    org.engine.join_team("dan", UUID(idea))
    org.engine.comment("cat", UUID(idea), "The blue ones.")
    assert org.get("dan", "/v1/me/desk").json()["items"] == []
    assert org.get("cat", "/v1/me/desk").json()["items"] == []


def test_a_persons_desk_is_for_them_their_managers_auditors_and_admins(org: Org) -> None:
    story(org)
    assert org.get("mia", "/v1/people/cat/desk").status_code == 200
    assert org.get("aud", "/v1/people/cat/desk").json()["waiting"] == 1
    refused = org.get("dan", "/v1/people/cat/desk")
    assert refused.status_code == 403
    assert "only cat, the managers of cat's challenges" in refused.json()["detail"]
    assert org.get("aud", "/v1/people/nobody/desk").status_code == 404


def test_the_cli_prints_a_desk(org: Org) -> None:
    from typer.testing import CliRunner

    from groundswell.cli import app

    if org.settings.database_url:
        return  # the CLI reads the same projection; once on SQLite is enough
    story(org)
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(org.settings.data_dir), "desk", "owen", "--json"],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None},
    )
    assert result.exit_code == 0, result.output
    assert [item["kind"] for item in json.loads(result.stdout)] == ["review"]
    table = CliRunner().invoke(
        app,
        ["--data-dir", str(org.settings.data_dir), "desk", "--as", "mia"],
        env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
    )
    assert "Desk of mia" in table.stdout and "1 waiting on mia" in table.stdout


def test_the_desk_page_lists_what_waits_with_links_to_the_ideas(org: Org) -> None:
    from tests.e2e.test_web_pages import page

    _, idea = story(org)
    org.clock.advance(days=20)
    shown = page(org, "mia", "/web/desk")
    assert "Decide on the idea" in shown and f'href="/web/ideas/{idea}"' in shown
    assert "1 waiting, 1 overdue" in shown
    assert 'href="/web/desk"' in shown  # in the navigation
    assert "Review the idea" in page(org, "owen", "/web/desk")
    assert "Nothing waits on you." in page(org, "ada", "/web/desk")
