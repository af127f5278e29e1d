"""Auditors over HTTP: an idea's story, read models as of a moment, replay-and-diff, verify,
and the export — each answering a question an auditor asks, without trusting the read models."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import fastavro

from tests.http_support import Org, challenge_terms


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.headers["content-type"].endswith("json") else response


def rewarded_idea(org: Org) -> tuple[str, str]:
    challenge = ok(org.post("mia", "/v1/challenges", challenge_terms()))["id"]
    ok(org.post("mia", f"/v1/challenges/{challenge}/open"))
    idea = ok(
        org.post("cat", f"/v1/challenges/{challenge}/ideas", {"title": "T", "description": "D"})
    )["id"]
    ok(org.post("dan", f"/v1/ideas/{idea}/comments", {"body": "Try it on line 3"}))
    ok(org.post("mia", f"/v1/ideas/{idea}/review"))
    ok(org.post("mia", f"/v1/ideas/{idea}/accept", {"note": "Pilot it"}))
    ok(org.post("mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea}))
    return challenge, idea


def test_why_does_this_person_have_this_balance(org: Org) -> None:
    _, idea = rewarded_idea(org)
    story = ok(org.get("aud", f"/v1/audit/ideas/{idea}/story"))
    types = [entry["event_type"] for entry in story]
    assert types[0] == "Idea.Submitted" and "Contribution.Added" in types
    assert types.index("Idea.Accepted") < types.index("Challenge.RewardGranted")
    granted = next(e for e in story if e["event_type"] == "Challenge.RewardGranted")
    assert granted["fields"]["shares"] == {"cat": 50} and granted["actor"] == "mia"
    ledger = ok(org.get("aud", "/v1/people/cat/balance"))
    assert [e["event_id"] for e in ledger["entries"]["items"]] == [granted["event_id"]]
    person = ok(org.get("aud", "/v1/audit/history/cat"))
    assert [e["event_type"] for e in person] == ["Person.Registered", "Person.RewardReceived"]


def test_what_did_the_leaderboard_look_like_on_a_past_day(org: Org) -> None:
    before = org.clock.now
    org.clock.advance(days=1)
    rewarded_idea(org)
    then = ok(org.get("aud", "/v1/audit/as-of", moment=before.isoformat(), board="leaderboard"))
    assert then["leaderboard"] == []
    now = ok(org.get("aud", "/v1/audit/as-of", moment=org.clock.now.isoformat()))
    assert [(s["handle"], s["points"]) for s in now["leaderboard"]] == [("cat", 50)]
    assert now["balances"]["balances"]["cat"] == 50
    assert set(now) == {"as_of", "leaderboard", "balances", "funnel", "follow-up"}
    refused = org.get("aud", "/v1/audit/as-of", moment="last tuesday")
    assert refused.status_code == 422 and refused.json()["field"] == "moment"


def test_has_anything_been_changed(org: Org) -> None:
    rewarded_idea(org)
    ok(org.get("aud", "/v1/leaderboard"))  # the live read models catch up
    replayed = ok(org.get("aud", "/v1/audit/replay"))
    assert replayed["identical"] and replayed["differences"] == []
    assert replayed["live_rows"] == replayed["replayed_rows"]
    verified = ok(org.get("aud", "/v1/audit/verify"))
    assert verified["ok"] and verified["head"]["position"] == org.engine.last_position
    assert verified["problem"] is None


def test_the_export_reads_back_with_any_avro_tool(org: Org) -> None:
    challenge, _ = rewarded_idea(org)
    answer = org.get("aud", "/v1/audit/export", challenge=challenge)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(answer.content))
    manifest = json.loads(files.read("manifest.json"))
    records = list(fastavro.reader(io.BytesIO(files.read("events.avro"))))
    lines = files.read("events.jsonl").decode().splitlines()
    assert manifest["total"] == len(records) == len(lines) > 0
    # the challenge's own events, and the wallet credits it paid (they belong to no challenge)
    for record in records:
        event = record["event"]
        assert str(event["challenge_id"]) == challenge or event["event_type"] == (
            "Person.RewardReceived"
        )
    assert manifest["chain_head"]["position"] == org.engine.last_position
