"""Search over HTTP: ranked, highlighted hits; refusals of queries that cannot be searched;
and the property that a search never returns what the same caller could not read over the
API (drafts, hidden contributions, the handle behind a pseudonym). One served organisation
per backend for the module; each case marks its texts with a word of its own."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundswell.settings import Settings
from tests.http_support import Org, challenge_terms, served_org
from tests.support import database_url_or_fail, postgres_schema

_tags = itertools.count(1)
READERS = ("ada", "mia", "max", "cat", "dan", "owen", "aud")
SEES_IDENTITIES = {"ada", "mia", "max", "aud"}
READS_ALL = {"ada", "aud"}
PSEUDONYMS = {"cat": "Quiet Fox", "dan": "Brave Owl"}


def tag() -> str:
    """A word no other case uses, so each case finds only its own texts."""
    return f"zq{next(_tags)}x"


def _serve(settings_: Settings) -> Org:
    org = served_org(settings_)
    org.engine.register_person("max", name="Max Manager", department="Ops", roles=["manager"])
    from groundswell.bootstrap import build_tokens

    store = build_tokens(org.settings)
    try:
        org.tokens["max"] = store.issue("max", "test")[0]
    finally:
        store.close()
    return org


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    if request.param == "sqlite":
        served = _serve(Settings(data_dir=Path(tmp_path_factory.mktemp("search"))))
        yield served
    else:
        url = database_url_or_fail()
        with postgres_schema(url) as schema:
            served = _serve(Settings(database_url=url, postgres_schema=schema))
            yield served
    served.client.close()
    served.engine.close()


def search(org: Org, handle: str, q: str, **params: Any) -> Any:
    answer = org.get(handle, "/v1/search", q=q, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def marked(parts: list[dict[str, Any]]) -> str:
    return "".join(f"[{p['text']}]" if p["match"] else p["text"] for p in parts)


def test_hits_are_ranked_and_highlighted_title_first(org: Org) -> None:
    t, e = tag(), org.engine
    cid = e.draft_challenge("mia", **challenge_terms(title=f"Changeovers {t}")).id
    e.open_challenge("mia", cid)
    in_body = e.submit_idea("cat", cid, title="Jigs", description=f"Use {t} clamps.").id
    in_title = e.submit_idea("dan", cid, title=f"The {t} clamp", description="Faster.").id
    e.comment("owen", in_body, f"The {t} works.")

    hits = search(org, "cat", f"{t} clamp", kind="idea")

    assert [h["id"] for h in hits] == [str(in_title), str(in_body)]
    assert marked(hits[0]["highlighted_title"]) == f"The [{t}] [clamp]"
    assert marked(hits[1]["snippet"]) == f"Use [{t}] [clamps]."  # the last word is a prefix
    kinds = {h["kind"] for h in search(org, "cat", t)}
    assert kinds == {"challenge", "idea", "contribution"}
    said = search(org, "cat", t, kind="contribution")
    assert [(h["title"], h["idea_id"]) for h in said] == [("Jigs", str(in_body))]
    assert search(org, "cat", t, challenge=str(cid), kind="challenge")[0]["id"] == str(cid)


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("", "no words to look for"),
        ('"*() ^:-', "no words to look for"),
        ("a" * 201, "at most 200"),
        (" ".join(["w"] * 13), "at most 12"),
    ],
)
def test_a_query_that_cannot_be_searched_is_refused_in_a_sentence(
    org: Org, q: str, says: str
) -> None:
    answer = org.get("cat", "/v1/search", q=q)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"]
    assert answer.json()["field"] == "q"


def test_query_syntax_is_searched_as_words_never_as_syntax(org: Org) -> None:
    """FTS5 and tsquery operators, quotes and stars are only spaces to a search."""
    t, e = tag(), org.engine
    cid = e.draft_challenge("mia", **challenge_terms(title=f"Quotes {t}")).id
    e.open_challenge("mia", cid)
    for q in (f'"{t}', f"{t} AND", f"NEAR({t})", f"{t}:*", f"{t} | !{t}", f"title:{t}", "OR"):
        assert org.get("cat", "/v1/search", q=q).status_code == 200, q
    assert len(search(org, "cat", f'"{t}" OR')) == 0  # "or" is a word here, found nowhere
    assert org.get("cat", "/v1/search", q=t, kind="person").status_code == 422


# -- the property -------------------------------------------------------------------------------

Step = tuple[str, int, int]  # (what, who or which, which)
steps = st.lists(
    st.tuples(
        st.sampled_from(["draft", "open", "idea", "comment", "hide", "pseudonym"]),
        st.integers(0, 5),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=14,
)


def readable(org: Org, reader: str, hit: dict[str, Any]) -> dict[str, Any] | None:
    """The item a hit names as the API answers ``reader`` (None: not readable)."""
    path = {
        "challenge": "/v1/challenges/{}",
        "idea": "/v1/ideas/{}",
        "contribution": "/v1/contributions/{}",
    }[hit["kind"]].format(hit["id"])
    answer = org.get(reader, path)
    if answer.status_code != 200:
        return None
    item: dict[str, Any] = answer.json()
    if hit["kind"] == "contribution" and item["body"] is None:
        return None  # hidden from this reader: its text is not theirs to read
    return item


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps)
def test_a_search_never_returns_what_the_caller_could_not_read(org: Org, plan: list[Step]) -> None:
    t, e = tag(), org.engine
    managers = ("mia", "max")
    authors = ("cat", "dan", "owen")
    challenges: list[tuple[Any, str]] = []
    ideas: list[Any] = []
    comments: list[tuple[Any, str]] = []
    # Every case starts from an open challenge with an idea and a comment, so each step
    # (hiding, a pseudonym) has something to act on.
    first = e.draft_challenge("mia", **challenge_terms(title=f"Open {t}")).id
    e.open_challenge("mia", first)
    challenges.append((first, "mia"))
    ideas.append(e.submit_idea("cat", first, title=f"First {t}", description="Why.").id)
    comments.append((e.comment("dan", ideas[0], f"Agree {t}").id, ideas[0]))
    for what, a, b in plan:
        if what == "draft":
            by = managers[a % 2]
            terms = challenge_terms(title=f"Draft {t}", question=f"Why {t}?")
            challenges.append((e.draft_challenge(by, **terms).id, by))
        if what == "open":
            cid, by = challenges[b % len(challenges)]
            if e.challenge(cid).stage.value == "draft":
                e.open_challenge(by, cid)
        elif what == "idea":
            opened = [(c, m) for c, m in challenges if e.challenge(c).stage.value == "open"]
            if opened:
                cid, _ = opened[b % len(opened)]
                author = authors[a % 3]
                ideas.append(e.submit_idea(author, cid, title=f"Idea {t}", description=t).id)
        elif what == "comment" and ideas:
            idea_id = ideas[b % len(ideas)]
            comments.append((e.comment(authors[a % 3], idea_id, f"Comment {t}").id, idea_id))
        elif what == "hide" and comments:
            contribution_id, idea_id = comments[b % len(comments)]
            challenge = e.challenge(e.idea(idea_id).challenge_id)
            if not e.contribution(contribution_id).hidden:
                e.hide_contribution(challenge.managers[0], contribution_id, "Off topic.")
        elif what == "pseudonym":
            who = ("cat", "dan")[a % 2]
            e.choose_pseudonym(who, PSEUDONYMS[who] if b % 2 else None)

    for reader in READERS:
        hits = search(org, reader, t, limit=50)
        for hit in hits:
            item = readable(org, reader, hit)
            assert item is not None, f"{reader} found what they cannot read: {hit}"
            assert hit["author"] == item.get("author"), (reader, hit, item)
        # Nothing readable is missing either: the property is not met by finding nothing.
        seen = {(h["kind"], h["id"]) for h in hits}
        expected = {
            ("challenge", str(c))
            for c, by in challenges
            if e.challenge(c).stage.value != "draft" or reader == by or reader in READS_ALL
        }
        expected |= {("idea", str(i)) for i in ideas}
        expected |= {
            ("contribution", str(c))
            for c, _ in comments
            if not e.contribution(c).hidden
            or reader in SEES_IDENTITIES
            or e.contribution(c).author == reader
        }
        assert seen == expected, reader
        for hit in hits:
            real = hit["author"]
            if reader not in SEES_IDENTITIES and real in PSEUDONYMS and real != reader:
                person = e.person(real)
                assert person.pseudonym is None, f"{reader} saw {real} behind {person.pseudonym}"
