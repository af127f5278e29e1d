"""One count of a challenge's ideas: the card, the API's list, the funnel and the challenge
page agree (withdrawn ideas and merged duplicates are left out), and the pages say so."""

from __future__ import annotations

import re

from groundswell.web.render import IDEAS_COUNTED
from groundswell.web.session import COOKIE
from tests.e2e.test_http_stories import do, open_challenge, read, submit
from tests.http_support import Org


def counts(org: Org, challenge: str) -> tuple[int, int, str, str]:
    """The API list's count, the funnel's submitted step, the card and the page."""
    listed = next(c for c in read(org, "mia", "/v1/challenges")["items"]
                  if c["challenge_id"] == challenge)  # fmt: skip
    funnel = read(org, "mia", "/v1/funnel", challenge=challenge)["funnel"]
    cookie = {"Cookie": f"{COOKIE}={org.session('mia')}"}
    cards = org.client.get("/web/challenges", headers=cookie).text
    card = cards.split(f'href="/web/challenges/{challenge}"', 1)[1].split("</li>", 1)[0]
    page = org.client.get(f"/web/challenges/{challenge}", headers=cookie).text
    assert IDEAS_COUNTED in cards and IDEAS_COUNTED in page
    return listed["ideas"], funnel[0]["ideas"], card, page


def test_cards_and_funnel_count_ideas_the_same_way(org: Org) -> None:
    challenge = open_challenge(org)
    ideas = [submit(org, "cat", challenge, f"Idea {n}") for n in range(4)]
    do(org, "cat", f"/v1/ideas/{ideas[3]}/withdraw")
    do(org, "mia", f"/v1/ideas/{ideas[2]}/merge", {"into": ideas[0]})

    listed, submitted, card, page = counts(org, challenge)
    assert listed == submitted == 2
    assert "· 2 ideas" in card
    assert re.search(r"Ideas \(2\)</h2>", page)
    assert "Also listed: 2 withdrawn or merged into another, not counted." in page

    do(org, "mia", f"/v1/ideas/{ideas[2]}/unmerge")
    listed, submitted, card, page = counts(org, challenge)
    assert listed == submitted == 3
    assert "· 3 ideas" in card and re.search(r"Ideas \(3\)</h2>", page)
