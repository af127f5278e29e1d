"""Contributors see the promise: when an answer is expected (in /v1/me/ideas,
/v1/me/contributions and on the idea's page), and in their notifications what the
follow-up did on their behalf."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID

from groundswell.app.follow_up_process import FollowUpProcess
from groundswell.audit import history
from tests.e2e.test_web_pages import page
from tests.http_support import Org, challenge_terms

POLICY = {"escalate_to_managers_after_days": 0, "escalate_to_sponsor_after_days": 7}


def test_the_author_sees_when_and_hears_who_was_told(org: Org) -> None:
    terms = challenge_terms(follow_up={**POLICY, "sponsor_handle": "ada"})
    challenge = org.post("mia", "/v1/challenges", terms).json()["id"]
    org.post("mia", f"/v1/challenges/{challenge}/open")
    idea = org.post(
        "cat", f"/v1/challenges/{challenge}/ideas", {"title": "Carts", "description": "d"}
    ).json()["id"]
    comment = org.engine.comment("dan", UUID(idea), "Which carts?").id
    (mine,) = org.get("cat", "/v1/me/ideas").json()["items"]
    submitted = datetime.fromisoformat(mine["submitted_at"])
    assert mine["answer_expected_by"] == (submitted + timedelta(days=14)).isoformat()
    said = org.get("dan", "/v1/me/contributions").json()["items"]
    assert [c["contribution_id"] for c in said] == [str(comment)]
    added = datetime.fromisoformat(said[0]["added_at"])
    assert said[0]["answer_expected_by"] == (added + timedelta(days=7)).isoformat()

    org.clock.advance(days=22)  # 8 days past the decision date, 15 past the answer date
    reads = org.client.app.state.api.reads  # type: ignore[attr-defined]
    process = FollowUpProcess(org.engine, lambda: reads.reading("follow_up"), org.clock)
    assert process.run_once().recorded == 3 + 4  # idea: 2 reminders, sponsor; comment: 3, sponsor
    cat_news = [n["text"] for n in org.get("cat", "/v1/me/notifications").json()["items"]]
    assert "Your idea “Carts” waited 8 days past its decision date; the sponsor has been told." in (
        cat_news
    )
    reminded = "Your idea “Carts” waited 8 days past its decision date; mia has been reminded."
    assert cat_news.count(reminded) == 2  # both reminders were sent today, 8 days late
    mia_news = [n["text"] for n in org.get("mia", "/v1/me/notifications").json()["items"]]
    assert any(
        t.startswith("Reminder: a decision on the idea 'Carts' was due on") for t in mia_news
    )
    ada_news = [n["text"] for n in org.get("ada", "/v1/me/notifications").json()["items"]]
    assert any(t.startswith("Escalated to you: a decision on the idea 'Carts'") for t in ada_news)
    dan_news = [n["text"] for n in org.get("dan", "/v1/me/notifications").json()["items"]]
    assert any("Your comment “Which carts?” waited" in t for t in dan_news)

    story = history.idea_story(org.engine, UUID(idea))
    followed = [(e.event_type, e.fields.get("step")) for e in story if e.chapter == "follow-up"]
    assert ("FollowUp.Escalated", "escalation-sponsor") in followed
    assert followed.count(("FollowUp.ReminderSent", "reminder-1")) == 2  # idea and comment

    shown = page(org, "cat", f"/web/ideas/{idea}")
    assert "Reminder sent to Mia Manager" in shown and "Escalated to Ada Admin" in shown
    assert "Decision expected by" in shown and "2 reminders sent" in shown
    assert "escalated to the sponsor" in shown and "answer expected by" in shown

    figures = org.get("aud", "/v1/accountability", challenge=challenge).json()
    ours = figures["challenges"][challenge]
    assert (ours["waiting"], ours["overdue"], ours["reminders"], ours["escalations"]) == (
        2,
        2,
        5,
        2,
    )
    assert figures["managers"]["mia"]["reminders"] == 2  # the comment's went to cat's team
    assert org.get("cat", "/v1/accountability").status_code == 403
    if not org.settings.database_url:
        from typer.testing import CliRunner

        from groundswell.cli import app

        cli = CliRunner().invoke(
            app,
            ["--data-dir", str(org.settings.data_dir), "follow-up", "accountability", "--json"],
            env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None},
        )
        assert cli.exit_code == 0, cli.output
        assert json.loads(cli.stdout)["challenges"][challenge]["reminders"] == 5

    overview = page(org, "mia", f"/web/challenges/{challenge}")
    assert 'id="accountability"' in overview and "(1 overdue)" in overview
