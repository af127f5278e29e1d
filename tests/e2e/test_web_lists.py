"""Lists that scale and the board (issue 20.5), over HTTP without a browser: the challenge
page's filters, order and pages (the query string is the state), the API's same list with
the same vocabulary, readable 400s for unknown parameters, and a board whose moves are the
API's commands.

One served organisation for the module (SQLite): the lists only read the challenge the
module's fixture made, and each test that adds ideas works in a challenge of its own. (The
suite's workers may each run part of this module, in either order: no test may rely on
another's writes, nor on their absence.)
"""

from __future__ import annotations

import contextlib
import html
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import AlreadyRewarded, DomainError
from domain.idea import IdeaStatus
from groundswell.http.lists import IDEA_SORTS, WAITING
from groundswell.settings import Settings
from tests.e2e.test_http_stories import do, open_challenge, read, refused, submit
from tests.e2e.test_web_pages import form_key, page, send
from tests.http_support import Org, served_org

AUTHORS = {"cat": "Sales", "dan": "Finance", "owen": "Production"}
IDEAS = 40


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Org, str, list[str]]]:
    """A challenge with ``IDEAS`` ideas in every status, endorsed and discussed at random
    (seeded, so a failure is repeatable)."""
    org = served_org(Settings(data_dir=tmp_path_factory.mktemp("lists")))
    challenge = open_challenge(org, decision_deadline_days=14)
    engine, chance = org.engine, random.Random(20)
    made = []
    for n in range(IDEAS):
        author = chance.choice(sorted(AUTHORS))
        idea = engine.submit_idea(author, challenge_uuid(challenge), title=f"Idea {n:02}",
                                  description="Something worth trying.").id  # fmt: skip
        assert idea is not None
        made.append(str(idea))
        for other in chance.sample(sorted(AUTHORS), chance.randint(0, 3)):
            if other != author:
                engine.endorse(other, idea)
        for _ in range(chance.randint(0, 3)):
            engine.comment(chance.choice(sorted(AUTHORS)), idea, "What about the night shift?")
        fate = chance.choice(["submitted", "review", "accept", "reject", "withdraw", "hand"])
        if fate != "submitted" and fate != "withdraw":
            engine.start_review("mia", idea)
        if fate in ("accept", "hand"):
            engine.accept_idea("mia", idea, "Go")
        if fate == "hand":
            engine.take_over_idea("mia", idea, core_process="Assembly", owner="owen")
        if fate == "reject":
            engine.reject_idea("mia", idea, "Not now.")
        if fate == "withdraw":
            engine.withdraw_idea(author, idea)
    yield org, challenge, made
    org.client.close()
    org.engine.close()


def challenge_uuid(challenge: str) -> uuid.UUID:
    return uuid.UUID(challenge)


def everything(org: Org, challenge: str, handle: str = "mia") -> list[dict[str, Any]]:
    found = read(org, handle, "/v1/ideas", challenge=challenge, limit=500)
    assert found["total"] == len(found["items"])
    return list(found["items"])


def counts(org: Org, ideas: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Endorsements and discussion per idea, from each idea's contributions over the API."""
    endorsed, discussed = {}, {}
    for idea in ideas:
        said = read(org, "mia", f"/v1/ideas/{idea['idea_id']}/contributions", limit=500)["items"]
        endorsed[idea["idea_id"]] = sum(c["kind"] == "endorsement" for c in said)
        discussed[idea["idea_id"]] = sum(
            c["kind"] in ("comment", "build-on") and not c["hidden"] for c in said
        )
    return endorsed, discussed


def expected(
    ideas: list[dict[str, Any]], sort: str, filters: dict[str, str], tallies: Any
) -> list[str]:
    """The list filtered and sorted in Python, as the API's description of each order says."""
    chosen = [i for i in ideas if all(i[k] == v for k, v in filters.items())]
    chosen.sort(key=lambda i: (i["submitted_at"], i["idea_id"]), reverse=True)
    endorsed, discussed = tallies
    if sort == "most-endorsed":
        chosen.sort(key=lambda i: -endorsed[i["idea_id"]])
    elif sort == "most-discussed":
        chosen.sort(key=lambda i: -discussed[i["idea_id"]])
    elif sort == "waiting-longest":
        chosen.sort(key=lambda i: (i["status"] not in WAITING, i["updated_at"]))
    return [i["idea_id"] for i in chosen]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sort=st.sampled_from(IDEA_SORTS),
    status=st.none() | st.sampled_from([s.value for s in IdeaStatus]),
    department=st.none() | st.sampled_from(sorted(AUTHORS.values())),
    author=st.none() | st.sampled_from(sorted(AUTHORS)),
    limit=st.integers(1, 17),
)
def test_pages_of_any_filter_and_order_concatenate_to_the_whole_list_sorted_in_python(
    world: tuple[Org, str, list[str]],
    sort: str,
    status: str | None,
    department: str | None,
    author: str | None,
    limit: int,
) -> None:
    org, challenge, _ = world
    ideas = everything(org, challenge)
    asked = {"status": status, "department": department, "author": author}
    filters = {k: v for k, v in asked.items() if v}
    want = expected(ideas, sort, filters, tallies(org, ideas))
    got: list[str] = []
    offset = 0
    while True:
        found = read(org, "mia", "/v1/ideas", challenge=challenge, sort=sort, limit=limit,
                     offset=offset, **filters)  # fmt: skip
        assert found["total"] == len(want)
        got += [i["idea_id"] for i in found["items"]]
        offset += limit
        if offset >= found["total"]:
            break
    assert got == want  # no idea twice, none missed, in the order the sort promises


TALLIES: dict[int, Any] = {}


def tallies(org: Org, ideas: list[dict[str, Any]]) -> Any:
    if id(org) not in TALLIES:  # the world only reads in these tests: count once
        TALLIES[id(org)] = counts(org, ideas)
    return TALLIES[id(org)]


def listed_titles(text: str) -> list[str]:
    section = text.split('<section id="ideas"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<li><a href="/web/ideas/[0-9a-f-]+">([^<]+)</a>', section)


def links(text: str, rel: str) -> str:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', text)
    assert found, f"no {rel} link"
    return html.unescape(found.group(1))


def test_the_challenge_page_filters_orders_and_pages_its_ideas_by_the_address(
    world: tuple[Org, str, list[str]],
) -> None:
    org, challenge, _ = world
    ideas = everything(org, challenge)
    first = page(org, "mia", f"/web/challenges/{challenge}")
    assert listed_titles(first) == [i["title"] for i in ideas[:25]]
    assert f"1–25 of {IDEAS} ideas · page 1 of 2" in first
    second = page(org, "mia", links(first, "next"))
    assert listed_titles(second) == [i["title"] for i in ideas[25:]]
    assert links(second, "prev").startswith(f"/web/challenges/{challenge}#ideas")

    # A filter and an order: the next page's address keeps them, as the form sent them.
    query = "department=Sales&sort=most-endorsed&status=submitted"
    chosen = page(org, "mia", f"/web/challenges/{challenge}?{query}")
    want = expected(ideas, "most-endorsed", {"department": "Sales", "status": "submitted"},
                    tallies(org, ideas))  # fmt: skip
    titles = {i["idea_id"]: i["title"] for i in ideas}
    assert listed_titles(chosen) == [titles[i] for i in want[:25]]
    assert '<option value="most-endorsed" selected>' in chosen
    assert '<option value="submitted" selected>' in chosen

    cat = page(org, "mia", f"/web/challenges/{challenge}?author=cat&sort=newest")
    mine = [i["title"] for i in ideas if i["author"] == "cat"]
    assert listed_titles(cat)[:25] == mine[:25]
    if len(mine) > 25:
        kept = parse_qs(urlsplit(links(cat, "next")).query)
        assert kept == {"author": ["cat"], "sort": ["newest"], "page": ["2"]}


def test_only_steering_readers_filter_by_overdue_and_it_finds_what_waited_too_long(
    world: tuple[Org, str, list[str]],
) -> None:
    org, challenge, _ = world
    assert read(org, "mia", "/v1/ideas", challenge=challenge, overdue="true")["total"] == 0
    org.clock.advance(days=15)  # past the 14 days the challenge gives a decision
    late = read(org, "mia", "/v1/ideas", challenge=challenge, overdue="true", limit=500)
    waiting = {i["idea_id"] for i in everything(org, challenge) if i["status"] in
               ("submitted", "under review")}  # fmt: skip
    assert waiting and waiting <= {i["idea_id"] for i in late["items"]}
    on_time = read(org, "mia", "/v1/ideas", challenge=challenge, overdue="false", limit=500)
    assert late["total"] + on_time["total"] == IDEAS
    shown = page(org, "aud", f"/web/challenges/{challenge}?overdue=yes")
    assert f"of {late['total']} ideas" in shown or late["total"] == 0
    problem = refused(org.get("cat", "/v1/ideas", challenge=challenge, overdue="true"), 403)
    assert problem["detail"] == "cat needs the manager role to filter by overdue."
    assert 'name="overdue"' not in page(org, "cat", f"/web/challenges/{challenge}")


@pytest.mark.parametrize(
    ("path", "params", "said"),
    [
        ("/v1/ideas", {"sort": "best"},
         "unknown sort 'best'; one of newest, most-endorsed, most-discussed, waiting-longest."),
        ("/v1/ideas", {"status": "done"}, "unknown status 'done'; one of submitted, under review"),
        ("/v1/challenges", {"sort": "oldest"},
         "unknown sort 'oldest'; one of newest, most-ideas, deadline, title."),
        ("/v1/challenges", {"stage": "live"}, "unknown stage 'live'; one of draft, open"),
        ("/v1/leaderboard", {"sort": "rank"},
         "unknown sort 'rank'; one of points, name, department."),
        ("/v1/departments", {"sort": "x"},
         "unknown sort 'x'; one of points, ideas, contributors, name."),
    ],
)  # fmt: skip
def test_an_unknown_sort_or_filter_is_a_400_naming_the_choices(
    world: tuple[Org, str, list[str]], path: str, params: dict[str, str], said: str
) -> None:
    org, _, _ = world
    problem = refused(org.get("cat", path, **params), 400)
    assert problem["detail"].startswith(said), problem["detail"]


def test_the_page_shows_a_bad_parameter_as_a_400_with_its_sentence(
    world: tuple[Org, str, list[str]],
) -> None:
    org, challenge, _ = world
    for query, said in [
        ("sort=best", "unknown sort &#39;best&#39;; one of newest, most-endorsed"),
        ("page=0", "page must be a whole number from 1 to 40000, not &#39;0&#39;."),
        ("page=two", "page must be a whole number"),
        ("overdue=maybe", "unknown overdue &#39;maybe&#39;; one of yes, no."),
    ]:
        shown = page(org, "mia", f"/web/challenges/{challenge}?{query}", 400)
        assert said in shown, query
    assert "unknown sort" in page(org, "cat", "/web/challenges?sort=oldest", 400)


def test_the_challenges_and_the_boards_sort_and_page(world: tuple[Org, str, list[str]]) -> None:
    org, challenge, _ = world
    for n in range(3):
        open_challenge(org, title=f"Challenge {chr(ord('C') - n)}")
    by_title = read(org, "cat", "/v1/challenges", sort="title")["items"]
    assert [c["title"] for c in by_title] == sorted(c["title"] for c in by_title)
    most = read(org, "cat", "/v1/challenges", sort="most-ideas", limit=1)["items"]
    assert most[0]["challenge_id"] == challenge
    listing = page(org, "cat", "/web/challenges?sort=title")
    shown = re.findall(r'<h3><a href="/web/challenges/[0-9a-f-]+">([^<]+)</a>', listing)
    assert shown == [c["title"] for c in by_title]

    with contextlib.suppress(AlreadyRewarded):  # by the standings test, if it ran first
        accepted = challenge_uuid(next_accepted(org, challenge))
        org.engine.grant_reward("mia", "idea-accepted", accepted)
    board = read(org, "cat", "/v1/leaderboard", challenge=challenge, sort="name")["items"]
    assert [s["shown_as"] for s in board] == sorted(
        (s["shown_as"] for s in board), key=str.casefold
    )
    departments = read(org, "cat", "/v1/departments", challenge=challenge, sort="name")
    assert [d["department"] for d in departments] == sorted(d["department"] for d in departments)
    one = read(org, "cat", "/v1/departments", challenge=challenge, sort="ideas", limit=1, offset=1)
    by_ideas = read(org, "cat", "/v1/departments", challenge=challenge, sort="ideas")
    assert one == by_ideas[1:2]


def next_accepted(org: Org, challenge: str) -> str:
    found = read(org, "mia", "/v1/ideas", challenge=challenge, status="accepted")["items"]
    return str(found[0]["idea_id"])


def test_a_new_idea_shows_on_the_first_page_of_the_newest(
    world: tuple[Org, str, list[str]],
) -> None:
    # A challenge of its own, with more than a page of ideas: the module's challenge keeps
    # the IDEAS the other tests count.
    org, _, _ = world
    challenge = open_challenge(org, title="Newest first")
    for n in range(26):
        org.engine.submit_idea("cat", challenge_uuid(challenge), title=f"Older {n:02}",
                               description="Something worth trying.")  # fmt: skip
    submit(org, "dan", challenge, "Brand new")
    shown = page(org, "cat", f"/web/challenges/{challenge}")
    assert listed_titles(shown)[0] == "Brand new"
    assert "1–25 of 27 ideas · page 1 of 2" in shown


MOVES = [
    ("review", {}),
    ("accept", {"note": "Worth a pilot."}),
    ("hand-over", {"owner": "owen", "core_process": "Assembly"}),
]


def board_key(board: str, idea: str) -> str:
    """The form key of the move form on ``idea``'s card."""
    card = board.split(f'name="idea_id" value="{idea}"', 1)[0].rsplit("<form", 1)[1]
    return form_key(card)


def story(org: Org, idea: str) -> list[tuple[str, str, dict[str, Any]]]:
    """An idea's events as the audit API tells them, without what differs by nature (ids,
    times, positions)."""
    told = read(org, "aud", f"/v1/audit/history/{idea}")
    return [(e["event_type"], e["actor"], {k: v for k, v in e["fields"].items()
             if k not in ("title", "description")}) for e in told]  # fmt: skip


def test_the_boards_moves_are_the_api_commands(world: tuple[Org, str, list[str]]) -> None:
    org, _, _ = world
    challenge = open_challenge(org, title="On the board")
    on_board = submit(org, "cat", challenge, "Moved on the board")
    over_api = submit(org, "cat", challenge, "Moved over the API")
    move = f"/web/challenges/{challenge}/board/move"
    for to, fields in MOVES:
        board = page(org, "mia", f"/web/challenges/{challenge}/board")
        form = {"form_key": board_key(board, on_board), "idea_id": on_board, "to": to, **fields}
        asked = send(org, "mia", move, form)
        assert asked.status_code == 200 and "Please confirm" in asked.text  # nothing written yet
        answer = send(org, "mia", move, {**form, "confirm": "yes"})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(f"/web/challenges/{challenge}/board?at_least=")
        again = send(org, "mia", move, {**form, "confirm": "yes"})  # a double click acts once
        assert again.status_code == 303
    for path, body in [("review", None), ("accept", {"note": "Worth a pilot."}),
                       ("take-over", {"owner": "owen", "core_process": "Assembly"})]:  # fmt: skip
        do(org, "mia", f"/v1/ideas/{over_api}/{path}", body)
    assert story(org, on_board) == story(org, over_api)
    shown = {i: read(org, "mia", f"/v1/ideas/{i}") for i in (on_board, over_api)}
    for idea in shown.values():
        for differs in ("id", "title", "description"):
            idea.pop(differs)
    assert shown[on_board] == shown[over_api]
    assert shown[on_board]["status"] == "in implementation"
    board = page(org, "mia", f"/web/challenges/{challenge}/board")
    column = board.split('id="column-in-implementation"', 1)[1].split("</section>", 1)[0]
    assert "Moved on the board" in column and "Moved over the API" in column


def test_the_board_is_read_only_for_others_and_refuses_their_moves(
    world: tuple[Org, str, list[str]],
) -> None:
    org, _, _ = world
    challenge = open_challenge(org, title="Read-only board")
    idea = submit(org, "cat", challenge, "Only looked at")
    for reader in ("cat", "aud", "owen"):
        board = page(org, reader, f"/web/challenges/{challenge}/board")
        assert "Only looked at" in board and "/board/move" not in board
    manager = page(org, "mia", f"/web/challenges/{challenge}/board")
    assert 'Move <span class="visually-hidden">“Only looked at” </span>to under review' in manager
    before = org.engine.last_position
    form = {"form_key": "ab" * 8, "idea_id": idea, "to": "review", "confirm": "yes"}
    refused_move = send(org, "cat", f"/web/challenges/{challenge}/board/move", form)
    assert refused_move.status_code == 403 and 'role="alert"' in refused_move.text
    # A stale move (already done by someone else) is refused as the API refuses it.
    do(org, "mia", f"/v1/ideas/{idea}/review")
    after = org.engine.last_position
    stale = send(
        org, "mia", f"/web/challenges/{challenge}/board/move", {**form, "form_key": "cd" * 8}
    )
    assert stale.status_code == 409, stale.status_code
    assert org.engine.last_position == after > before
    # An idea of another challenge is not moved from this board.
    other = open_challenge(org, title="Elsewhere")
    form = {"form_key": "ef" * 8, "idea_id": submit(org, "cat", other, "Not here"), "to": "review",
            "confirm": "yes"}  # fmt: skip
    written = org.engine.last_position
    elsewhere = send(org, "mia", f"/web/challenges/{challenge}/board/move", form)
    assert elsewhere.status_code == 404 and org.engine.last_position == written


def test_the_standings_page_orders_people_and_departments_as_asked(
    world: tuple[Org, str, list[str]],
) -> None:
    org, challenge, _ = world
    for idea in read(org, "mia", "/v1/ideas", challenge=challenge, status="accepted")["items"]:
        with contextlib.suppress(DomainError):  # granted once already by another test
            org.engine.grant_reward("mia", "idea-accepted", uuid.UUID(idea["idea_id"]))
    people = read(org, "cat", "/v1/leaderboard", challenge=challenge, sort="name")["items"]
    assert len(people) >= 2
    shown = page(org, "cat", f"/web/challenges/{challenge}/standings?sort=name&by=ideas")
    rows = re.findall(r'<td class="num">\d+</td><th scope="row">([^<]+)</th>', shown)
    assert rows == [p["shown_as"] for p in people]
    by_ideas = read(org, "cat", "/v1/departments", challenge=challenge, sort="ideas")
    section = shown.split('id="departments"', 1)[1]
    assert re.findall(r'<tr><th scope="row">([^<]+)</th>', section) == [
        d["department"] for d in by_ideas
    ]
    assert '<input type="hidden" name="by" value="ideas">' in shown  # kept by the other form
    assert "unknown sort &#39;rank&#39;" in page(
        org, "cat", f"/web/challenges/{challenge}/standings?sort=rank", 400
    )
