"""The challenge page's figures are folded once per state of the read model, and never
shown stale: a new event refolds them, and so does the clock passing a decision deadline
(groundswell.reads.folds)."""

from __future__ import annotations

import re

from groundswell.reads.folds import FoldCache
from groundswell.web.session import COOKIE
from tests.e2e.test_http_stories import open_challenge, read, submit
from tests.http_support import Org


def folds_of(org: Org) -> FoldCache:
    found: FoldCache = org.client.app.state.api.folds  # type: ignore[attr-defined]
    return found


def challenge_page(org: Org, challenge: str) -> str:
    cookie = {"Cookie": f"{COOKIE}={org.session('mia')}"}
    answer = org.client.get(f"/web/challenges/{challenge}", headers=cookie)
    assert answer.status_code == 200, answer.text
    return answer.text


def without_form_keys(page: str) -> str:
    return re.sub(r'name="form_key" value="[0-9a-f]+"', "", page)


def waiting_on(page: str, handle: str) -> str:
    """The accountability row's "waiting" cell for ``handle``."""
    row = page.split('id="accountability"', 1)[1].split(f'<th scope="row">{handle}</th>', 1)[1]
    return re.findall(r'<td class="num">([^<]*)</td>', row)[1]


def test_a_new_event_and_a_passed_deadline_refold_the_page(org: Org) -> None:
    challenge = open_challenge(org)  # decisions due in 14 days
    submit(org, "cat", challenge, "Quick-release clamps")
    first = challenge_page(org, challenge)
    assert "Nothing waits past its decision deadline." in first
    assert waiting_on(first, "mia") == "1"

    folds = folds_of(org).folds
    assert without_form_keys(challenge_page(org, challenge)) == without_form_keys(first)
    assert folds_of(org).folds == folds  # read again between events: nothing refolded

    submit(org, "dan", challenge, "Colour-coded tooling")  # a new event
    second = challenge_page(org, challenge)
    assert folds_of(org).folds > folds
    assert re.search(r"Ideas \(2\)</h2>", second)
    assert waiting_on(second, "mia") == "2"
    assert "Nothing waits past its decision deadline." in second

    org.clock.advance(days=14, hours=1)  # both decisions now overdue, no event since
    late = challenge_page(org, challenge)
    assert "2 items waited past the decision deadline for an answer." in late
    assert waiting_on(late, "mia") == "2 (2 overdue)"

    # Between deadlines the overdue items stay folded, but their waits are measured at
    # each read.
    before = read(org, "mia", "/v1/follow-up", challenge=challenge)["debt"]["items"]
    org.clock.advance(days=2)
    after = read(org, "mia", "/v1/follow-up", challenge=challenge)["debt"]["items"]
    assert [d["id"] for d in after] == [d["id"] for d in before]
    waits = [round(a["waited_days"] - b["waited_days"]) for a, b in zip(after, before, strict=True)]
    assert waits == [2, 2]
