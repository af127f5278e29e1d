"""Pseudonyms cannot be unmasked (issue 16.5): for any history, nothing a contributor or an
owner can read (their API reads, their pages) links someone's pseudonym to that person's
handle or real name. Managers, auditors and administrators see identities.

Before the fix, idea pages named every reward share's beneficiary by real name and the
API named authors, teams and owners by handle, so summing shares on the leaderboard
mapped each pseudonym to a person.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundswell.bootstrap import build_engine, build_http_app, build_tokens
from groundswell.settings import Settings
from tests.e2e.test_http_stories import accepted, do, open_challenge
from tests.e2e.test_web_pages import page
from tests.histories import CONTRIBUTORS, OWNERS, Plan, _Player, plans
from tests.http_support import Org, signed_in
from tests.support import SteppingClock

READERS = (*CONTRIBUTORS, *OWNERS)


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON answer, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, found in value.items():
            yield key
            yield from strings(found)
    elif isinstance(value, list):
        for found in value:
            yield from strings(found)


def word(handle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.-]){re.escape(handle)}(?![\w.-])")


def readable(client: TestClient, token: str, data_dir: Path) -> tuple[list[Any], list[str]]:
    """What the reader can read: every API read open to them, and their pages."""
    auth = {"Authorization": f"Bearer {token}"}

    def get(path: str, **params: Any) -> Any:
        answer = client.get(path, params={"limit": 500, **params}, headers=auth)
        return answer.json() if answer.status_code == 200 else None

    challenges = [c["challenge_id"] for c in get("/v1/challenges")["items"]]
    ideas = [i["idea_id"] for i in get("/v1/ideas")["items"]]
    paths = ["/v1/me", "/v1/me/ideas", "/v1/me/contributions", "/v1/me/ledger"]
    paths += ["/v1/me/notifications", "/v1/me/redemptions", "/v1/challenges", "/v1/ideas"]
    paths += ["/v1/contributions", "/v1/leaderboard", "/v1/departments", "/v1/funnel"]
    paths += ["/v1/store/items"]
    for c in challenges:
        paths += [f"/v1/challenges/{c}", f"/v1/pots/{c}", f"/v1/breadth/{c}"]
        paths += [f"/v1/leaderboard?challenge={c}", f"/v1/funnel?challenge={c}"]
    for i in ideas:
        paths += [f"/v1/ideas/{i}", f"/v1/ideas/{i}/contributions"]
    answers = [get(p) for p in paths]
    signed_in(client, token)
    pages = ["/web/me", "/web/challenges", "/web/owner"]
    pages += [f"/web/challenges/{c}" for c in challenges] + [f"/web/ideas/{i}" for i in ideas]
    html = [client.get(p).text for p in pages]
    client.cookies.clear()
    return [a for a in answers if a is not None], html


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plan=plans(max_steps=60), reader=st.sampled_from(READERS))
def test_nothing_a_contributor_reads_links_a_pseudonym_to_a_person(plan: Plan, reader: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        config = Settings(data_dir=data_dir)
        clock = SteppingClock()
        engine = build_engine(config, clock=clock)
        try:
            player = _Player(engine, clock)
            player.cast(plan.contributors)
            for challenge in plan.challenges:
                player.attempt(player.draft, challenge)
            for step in plan.steps:
                player.attempt(player.step, *step)
            if reader not in player.handles:
                return
            masked = {
                h: (p.name, p.pseudonym)
                for h in player.handles
                if h != reader and (p := engine.person(h)).pseudonym
            }
            tokens = build_tokens(config)
            try:
                token = tokens.issue(reader, "test")[0]
            finally:
                tokens.close()
            with TestClient(build_http_app(config, engine), base_url="http://localhost") as client:
                answers, html = readable(client, token, data_dir)
                for handle in masked:
                    for path in ("/v1/ideas", "/v1/contributions"):
                        found = client.get(
                            path,
                            params={"author": handle},
                            headers={"Authorization": f"Bearer {token}"},
                        ).json()
                        assert found["items"] == [], f"filtering by {handle} finds their rows"
        finally:
            engine.close()
    said = [s for answer in answers for s in strings(answer)]
    for handle, (name, pseudonym) in masked.items():
        assert handle not in said, f"{reader} reads {handle}'s handle ({pseudonym})"
        assert not [s for s in said if name in s], f"{reader} reads {name} ({pseudonym})"
        for text in html:
            assert name not in text, f"{reader}'s pages show {name} ({pseudonym})"
            assert not word(handle).search(text), f"{reader}'s pages show {handle}"
    assert json.dumps(answers)  # the answers were JSON all along


def test_an_idea_page_names_a_reward_share_by_pseudonym_for_contributors(org: Org) -> None:
    """The reported defect: the idea page told every reader each share by real name."""
    challenge = open_challenge(org, accepted_idea_points=10)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})
    org.client.put("/v1/me/pseudonym", json={"pseudonym": "Night Owl"}, headers=org.auth("cat"))

    seen_by_dan = page(org, "dan", f"/web/ideas/{idea}")
    assert "Night Owl 10" in seen_by_dan and "Cat Contributor" not in seen_by_dan
    shown = org.get("dan", f"/v1/ideas/{idea}").json()
    assert (shown["author"], shown["team"]) == ("Night Owl", ["Night Owl"])
    assert org.get("dan", "/v1/ideas", author="cat").json()["items"] == []
    assert len(org.get("dan", "/v1/ideas", author="Night Owl").json()["items"]) == 1
    assert "Cat Contributor 10" in page(org, "mia", f"/web/ideas/{idea}")  # managers see
    assert org.get("mia", f"/v1/ideas/{idea}").json()["author"] == "cat"
    assert org.get("cat", f"/v1/ideas/{idea}").json()["author"] == "cat"  # and oneself
