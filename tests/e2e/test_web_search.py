"""Search on the pages, without a browser: the box on every page, ranked hits with the
matches marked and everything else escaped (no script through indexed text), refusals
said on the page, and similar ideas (while typing a title; on an idea's page for its
managers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from groundswell.settings import Settings
from tests.e2e.test_web_pages import cookie, page
from tests.http_support import Org, challenge_terms, served_org

ATTACK = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    served = served_org(Settings(data_dir=Path(tmp_path_factory.mktemp("web-search"))))
    yield served
    served.client.close()
    served.engine.close()


def test_the_search_page_marks_matches_and_escapes_everything_else(org: Org) -> None:
    e = org.engine
    cid = e.draft_challenge("mia", **challenge_terms(title="Changeover clamps")).id
    e.open_challenge("mia", cid)
    idea = e.submit_idea("cat", cid, title=f"Clamps {ATTACK}", description=f"Fast {ATTACK}").id
    e.comment("dan", idea, f"Clamps {ATTACK} again")

    assert 'action="/web/search"' in page(org, "cat", "/web/me")  # the box on every page
    html = page(org, "cat", "/web/search?q=clamps")

    assert "3 found" in html
    assert "<mark>Clamps</mark>" in html and "<mark>clamps</mark>" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    # Searching for the markup itself finds it as words, still escaped.
    html = page(org, "cat", "/web/search?q=" + "script alert onerror")
    assert "<script>alert" not in html and "<mark>script</mark>" in html


def test_a_query_that_cannot_be_searched_is_said_on_the_page(org: Org) -> None:
    html = page(org, "cat", '/web/search?q="*()', status=422)
    assert "no words to look for" in html and 'id="search-q"' in html
    html = page(org, "cat", "/web/search?q=" + "a" * 300, status=422)
    assert "at most 200" in html
    assert "found" not in page(org, "cat", "/web/search")  # an empty box: nothing searched


def test_similar_ideas_while_typing_and_for_managers_on_the_idea(org: Org) -> None:
    e = org.engine
    cid = e.draft_challenge("mia", **challenge_terms(title="Paper")).id
    e.open_challenge("mia", cid)
    first = e.submit_idea("cat", cid, title="Digital shift handover", description="No paper.").id
    second = e.submit_idea("dan", cid, title="Shift handover on tablets", description="Go.").id
    other = e.draft_challenge("mia", **challenge_terms(title="Elsewhere")).id
    e.open_challenge("mia", other)
    e.submit_idea("dan", other, title="Shift handover elsewhere", description="Other.")

    form = page(org, "cat", f"/web/challenges/{cid}")
    assert f'data-similar="/web/challenges/{cid}/similar-ideas"' in form
    answer = org.client.get(
        f"/web/challenges/{cid}/similar-ideas", params={"title": "handover of the shift"},
        headers=cookie(org, "dan"),
    )  # fmt: skip
    assert answer.status_code == 200
    assert f"/web/ideas/{first}" in answer.text and f"/web/ideas/{second}" in answer.text
    assert "elsewhere" not in answer.text  # only this challenge's ideas
    assert answer.text.count("<li>") == 2
    short = org.client.get(
        f"/web/challenges/{cid}/similar-ideas", params={"title": "?"}, headers=cookie(org, "dan")
    )
    assert short.status_code == 200 and "<li>" not in short.text

    managing = page(org, "mia", f"/web/ideas/{first}")
    assert "Similar ideas" in managing and f"/web/ideas/{second}" in managing
    assert "Similar ideas" not in page(org, "cat", f"/web/ideas/{first}")
