"""Hostile text in every text field of every command: never a 5xx, never a half-write.

Each drawn recipe (huge, arbitrary Unicode, SQL, HTML and template fragments, NUL and
control characters, escaped lone surrogates) goes into every field in turn, each against a
fresh state. The answer is either 2xx, and reading the thing back gives exactly what
arrived with surrounding whitespace stripped, or a 4xx problem+json naming the field,
with nothing written. Which of the two is decided by the documented rules (``verdict``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from groundswell.http.app import MAX_BODY
from tests.http_support import Org, challenge_terms

PROBLEM = "application/problem+json"
TITLE, TEXT, NAME = 200, 10_000, 100

FRAGMENTS = [
    "'; DROP TABLE stored_events;--", '" OR 1=1 --', "%s", "%(title)s", "$1", "?", "\\", "\\'",
    "<script>alert(1)</script>", "&lt;b&gt;", "{{7*7}}", "${7*7}", "{0}", "%n", "null",
    "\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\x1c", "\ufffe", "\uffff", "\ufdd0",
    "\U0010ffff", "\U0001fffe", "\ud800", "\udfff", "\ud83d\ude00", "\u200b", "\u200d",
    "\u2060", "\ufeff", "\u202e", "\u2066", "مرحبا", "שלום", "e\u0301", "Z\u0351\u0352\u0353",
    "👩\u200d👩\u200d👧", "🇺🇳", "𝕳", "\t", "\n", "\r\n", " ", "\u00a0", "\u3000", "\u2028",
]  # fmt: skip
PIECES = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=12),  # any script
    st.text(st.characters(exclude_categories=()), max_size=12),  # controls, non-characters
    st.characters(categories=["Cs"]),  # a lone surrogate
)
SIZES = [None, None, None, "limit-1", "limit", "limit+1", "twice"]
# (core, size, pad): pad + core (cycled to the field's limit when size is given) + pad
RECIPES = st.tuples(
    st.lists(PIECES, max_size=6).map("".join),
    st.sampled_from(SIZES),
    st.sampled_from(["", " ", "\n\t ", "\u3000", "\x1f"]),
)


def made(recipe: tuple[str, str | None, str], limit: int) -> str:
    core, size, pad = recipe
    if size is not None:
        length = {"limit-1": limit - 1, "limit": limit, "limit+1": limit + 1}.get(size, 2 * limit)
        core = (core or "x") * (length // max(len(core), 1) + 1)
        core = core[:length]
    return pad + core + pad


def encoded(body: Any) -> bytes:
    """JSON as UTF-8; lone surrogates escaped (\\ud800), the only way JSON can carry them."""
    text = json.dumps(body, ensure_ascii=False)
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text).encode()


@dataclass(frozen=True)
class Field:
    name: str
    limit: int
    required: bool = True  # blank refused (else blank is stored as ``blank``)
    min_one: bool = True  # "" refused before stripping (the request schema's min_length=1)
    blank: Any = ""
    person_name: bool = False  # a name or pseudonym: no direction controls either


# Bidi embeddings, overrides and isolates: refused in names, which they could disguise.
DIRECTIONS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def invisible(value: str) -> bool:
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Zs") for c in value)


def unreadable(value: str) -> bool:
    """Control characters other than tab/LF/CR, surrogates, non-characters (the rules)."""
    for char in value:
        code, kind = ord(char), unicodedata.category(char)
        if char not in "\t\n\r" and (
            kind in ("Cc", "Cs") or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
        ):
            return True
    return False


def verdict(field: Field, arrived: str) -> tuple[bool, Any]:
    """(accepted?, the value read back): limits hold on the text as sent, then on it stripped."""
    stripped = arrived.strip()
    if len(arrived) > field.limit or (field.min_one and not arrived) or unreadable(stripped):
        return False, None
    if not stripped:
        return not field.required, field.blank
    if invisible(stripped):  # only spaces and format characters: empty to the eye
        return False, None
    if field.person_name and any(c in DIRECTIONS for c in stripped):
        return False, None
    return True, stripped


# -- the fields: where each goes, the state it needs, and where it is read back -------------

V = "\x00VALUE\x00"  # stands for the hostile value in a body (or in a one-entry list)


@dataclass(frozen=True)
class Target:
    field: Field
    who: str
    call: str  # "METHOD path"; {cid}: the example's challenge; {iid}, {other}, {handle}: state's
    body: dict[str, Any]
    state: str  # "", idea:STATUS, ideas, reviewer, comment, draft, person, points
    read: str  # GET as ada after a success; {id}: the id the command answered
    key: str  # where the value is in what was read: "entries.items.0.reason"


def t(name: str, limit: int, *rest: Any, optional: bool = False, blank: Any = "") -> Target:
    """``optional``: blank is stored as ``blank`` (and "" passes the schema unless ``blank``
    is None, as for pseudonyms)."""
    person_name = name in ("name", "pseudonym") and rest[1] != "POST /v1/store/items"
    field = Field(name, limit, not optional, not optional or blank is None, blank, person_name)
    return Target(field, *rest)


IDEA, NEW_IDEA, CHALLENGE = "/v1/ideas/{iid}", "POST /v1/challenges/{cid}/ideas", "/v1/challenges"
CHANGE = {"title": "T", "description": "D"}
PERSON = {"handle": "{handle}", "name": "N. Ew", "department": "Ops"}
DAN, SOMEONE, CONTRIBUTION = "/v1/people/dan", "/v1/people/{handle}", "/v1/contributions/{id}"
LISTED = "target_departments"
# fmt: off
TARGETS = {
    "idea title": t("title", TITLE, "cat", NEW_IDEA, {**CHANGE, "title": V},
                    "", "/v1/ideas/{id}", "title"),
    "idea description": t("description", TEXT, "cat", NEW_IDEA, {**CHANGE, "description": V},
                          "", "/v1/ideas/{id}", "description"),
    "edited idea title": t("title", TITLE, "cat", "PATCH " + IDEA, {**CHANGE, "title": V},
                           "idea:submitted", IDEA, "title"),
    "edited idea description": t("description", TEXT, "cat", "PATCH " + IDEA,
                                 {**CHANGE, "description": V}, "idea:submitted", IDEA,
                                 "description"),
    "comment": t("body", TEXT, "dan", f"POST {IDEA}/comments", {"body": V},
                 "idea:submitted", CONTRIBUTION, "body"),
    "build-on": t("body", TEXT, "dan", f"POST {IDEA}/build-ons",
                  {"body": V, "linked_idea_id": "{other}"}, "ideas", CONTRIBUTION, "body"),
    "review score": t("body", TEXT, "dan", f"POST {IDEA}/review-scores", {"score": 3, "body": V},
                      "reviewer", CONTRIBUTION, "body", optional=True),
    "accept note": t("note", TEXT, "mia", f"POST {IDEA}/accept", {"note": V},  # newest first
                     "idea:under_review", "/v1/ideas?challenge={cid}", "items.0.decision.reason",
                     optional=True),
    "reject reason": t("reason", TEXT, "mia", f"POST {IDEA}/reject", {"reason": V},
                       "idea:submitted", IDEA, "decision_reason"),
    "progress note": t("note", TEXT, "owen", f"POST {IDEA}/progress", {"note": V},
                       "idea:in_implementation", IDEA, "progress.-1"),
    "impact": t("impact", TEXT, "owen", f"POST {IDEA}/implemented", {"impact": V},
                "idea:in_implementation", IDEA, "impact"),
    "abandon reason": t("reason", TEXT, "owen", f"POST {IDEA}/abandon", {"reason": V},
                        "idea:in_implementation", IDEA, "decision_reason"),
    "core process": t("core_process", NAME, "mia", f"POST {IDEA}/take-over",
                      {"core_process": V, "owner": "owen"}, "idea:accepted", IDEA,
                      "core_process"),
    "external ref": t("external_ref", NAME, "mia", f"POST {IDEA}/take-over",
                      {"core_process": "Line 3", "external_ref": V, "owner": "owen"},
                      "idea:accepted", IDEA, "external_ref", optional=True),
    "hide reason": t("reason", TEXT, "mia", "POST /v1/contributions/{iid}/hide", {"reason": V},
                     "comment", CONTRIBUTION, "hidden_reason"),
    "drafted departments": t(LISTED, NAME, "mia", "POST " + CHALLENGE,
                             challenge_terms(**{LISTED: [V]}), "", CHALLENGE + "/{id}",
                             LISTED + ".0"),
    "edited departments": t(LISTED, NAME, "mia", "PATCH /v1/challenges/{iid}", {LISTED: [V]},
                            "draft", "/v1/challenges/{iid}", LISTED + ".0"),
    "person name": t("name", NAME, "ada", "POST /v1/people", {**PERSON, "name": V},
                     "person", SOMEONE, "name"),
    "person department": t("department", NAME, "ada", "POST /v1/people",
                           {**PERSON, "department": V}, "person", SOMEONE, "department"),
    "person pseudonym": t("pseudonym", NAME, "ada", "POST /v1/people", {**PERSON, "pseudonym": V},
                          "person", SOMEONE, "pseudonym", optional=True, blank=None),
    "changed department": t("department", NAME, "ada", f"PUT {DAN}/department",
                            {"department": V}, "", DAN, "department"),
    "chosen pseudonym": t("pseudonym", NAME, "dan", "PUT /v1/me/pseudonym", {"pseudonym": V},
                          "", DAN, "pseudonym", optional=True, blank=None),
    "store item name": t("name", NAME, "ada", "POST /v1/store/items", {"name": V, "price": 1},
                         "", "/v1/store/items/{id}", "name"),
}
for term, limit in [("title", TITLE), ("question", TEXT), ("sponsor", NAME)]:
    TARGETS[f"drafted {term}"] = t(term, limit, "mia", "POST " + CHALLENGE,
                                   challenge_terms(**{term: V}), "", CHALLENGE + "/{id}", term)
    TARGETS[f"edited {term}"] = t(term, limit, "mia", "PATCH /v1/challenges/{iid}", {term: V},
                                  "draft", "/v1/challenges/{iid}", term)
# fmt: on


class World:
    """One example's open challenge, managed by mia; each attempt's state is built in it."""

    def __init__(self, org: Org) -> None:
        self.org, self.e = org, org.engine
        self.cid = self.e.draft_challenge("mia", **challenge_terms()).id
        self.e.open_challenge("mia", self.cid)

    def idea(self, status: str = "submitted") -> UUID:
        iid = self.e.submit_idea("cat", self.cid, title="Clamps", description="Why.").id
        if status != "submitted":
            self.e.start_review("mia", iid)
        if status in ("accepted", "in_implementation"):
            self.e.accept_idea("mia", iid)
        if status == "in_implementation":
            self.e.take_over_idea("mia", iid, core_process="Line 3", owner="owen")
        return iid

    def prepare(self, state: str) -> dict[str, Any]:
        """Path and body parameters for ``state``; the If-Match header for edits."""
        found: dict[str, Any] = {"cid": self.cid, "handle": f"h{uuid4().hex[:12]}"}
        if state.startswith("idea:"):
            found["iid"] = self.idea(state.removeprefix("idea:"))
            found["If-Match"] = f'"{self.e.idea(found["iid"]).version}"'
        elif state == "ideas":
            found.update(iid=self.idea(), other=self.idea())
        elif state == "reviewer":
            found["iid"] = self.idea()
            self.e.ask_reviewer("mia", found["iid"], "dan")
        elif state == "comment":
            found["iid"] = self.e.comment("dan", self.idea(), "Try magnets.").id
        elif state == "draft":
            found["iid"] = self.e.draft_challenge("mia", **challenge_terms()).id
            found["If-Match"] = f'"{self.e.challenge(found["iid"]).version}"'
        elif state == "points" and self.e.person("dan").balance < 1:
            self.earn("dan")
        return found

    def earn(self, handle: str) -> None:
        """A generous reward for a helpful comment, granted by ada (an admin manages too)."""
        terms = challenge_terms(helpful_contribution_points=10**6, pot=10**6)
        cid = self.e.draft_challenge("ada", **terms).id
        self.e.open_challenge("ada", cid)
        idea = self.e.submit_idea("cat", cid, title="T", description="D").id
        comment = self.e.comment(handle, idea, "C").id
        self.e.mark_helpful("ada", comment)
        self.e.grant_reward("ada", "helpful-contribution", comment)


def looks_taken(org: Org, name: str, me: str) -> bool:
    def folded(value: str) -> str:
        plain = "".join(c for c in value if unicodedata.category(c) != "Cf")
        twice = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", plain).casefold())
        return "".join(twice.split())

    people = [p for p in org.engine.identities() if p.handle != me]
    names = {folded(n) for p in people for n in (p.handle, p.name, p.pseudonym or "") if n}
    return folded(name) in names


def filled(body: Any, value: str, params: dict[str, Any]) -> Any:
    if body == V:
        return value
    if isinstance(body, str):
        return body.format(**params)
    if isinstance(body, list):
        return [filled(item, value, params) for item in body]
    if isinstance(body, dict):
        return {key: filled(item, value, params) for key, item in body.items()}
    return body


# -- the property ------------------------------------------------------------------------------


def attempt(org: Org, w: World, name: str, value: str) -> None:
    aim = TARGETS[name]
    params = w.prepare(aim.state)
    method, path = aim.call.format(**params).split(" ", 1)
    payload = encoded(filled(aim.body, value, params))
    accepted, expected = verdict(aim.field, json.loads(encoded(value)))
    if accepted and aim.field.name == "pseudonym" and expected:
        # A pseudonym like anyone else's name, handle or pseudonym is refused; an earlier
        # target of this example may have registered a person named with this very value.
        me = aim.who if aim.who == "dan" else params["handle"]
        accepted = not looks_taken(org, expected, me)
    before = org.engine.last_position
    headers = {**org.auth(aim.who), "Content-Type": "application/json"}
    headers.update({"If-Match": params["If-Match"]} if method == "PATCH" else {})

    answer = org.client.request(method, path, content=payload, headers=headers)

    said = (
        f"{name}: {method} {path} with {aim.field.name}={ascii(value)[:150]} "
        f"({len(value)} chars) answered {answer.status_code} {answer.text[:300]}"
    )
    assert answer.status_code < 500, said
    if len(payload) > MAX_BODY:
        assert answer.status_code == 413, said
    elif accepted:
        assert 200 <= answer.status_code < 300, said
        got = answer.json()
        read = org.get("ada", aim.read.format(**params, id=got["id"]), at_least=got["position"])
        assert read.status_code == 200, f"{said}; read back: {read.text[:300]}"
        found = read.json()
        for step in aim.key.split("."):
            found = found[int(step) if step.lstrip("-").isdigit() else step]
        assert found == expected, f"{said}; read back {ascii(found)[:150]}"
        if aim.field.name == "pseudonym" and expected:
            # Pseudonyms are unique: the next example may send the same one.
            org.engine.choose_pseudonym("dan" if aim.who == "dan" else params["handle"], None)
        return
    else:
        assert 400 <= answer.status_code < 500, said
        named = answer.json().get("field") or ""
        assert named == aim.field.name or named.startswith(aim.field.name + "."), said
    assert answer.headers["content-type"] == PROBLEM, said
    assert org.engine.last_position == before, f"a refused request wrote events: {said}"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(recipe=RECIPES)
@example(recipe=("'; DROP TABLE stored_events;--%s$1", None, " "))
@example(recipe=("<script>alert(1)</script>{{7*7}}&lt;", None, "\n"))
@example(recipe=("a\x00b", None, ""))  # PostgreSQL's JSONB refuses \u0000
@example(recipe=("\ud800", None, ""))  # a lone surrogate, escaped in the JSON
@example(recipe=("\u200b\u202eمرحبا e\u0301 👩\u200d👩\u200d👧", None, "\u3000"))
@example(recipe=("😀", "limit", ""))  # exactly the limit, in characters beyond the BMP
@example(recipe=("x", "limit+1", ""))
@example(recipe=("😀", "twice", ""))  # 20,000 emoji: 240 kB escaped, near the body limit
@example(recipe=("é", "limit", " "))  # the limit, plus whitespace that stripping removes
@example(recipe=(" ", None, "\t"))  # blank
def test_hostile_text_in_every_field(org: Org, recipe: tuple[str, str | None, str]) -> None:
    w = World(org)
    for name, aim in TARGETS.items():
        attempt(org, w, name, made(recipe, aim.field.limit))


# -- around the fields: bodies that are not JSON objects, filters, path segments, headers -----

BROKEN_BODIES = [
    b'{"title":"\xff","description":"d"}',  # not UTF-8
    b'{"title":"\xed\xa0\x80","description":"d"}',  # a surrogate encoded raw
    b"[" * 60_000,  # nesting deeper than any parser's recursion
    b'{"title":' + b"9" * 5_000 + b',"description":"d"}',  # an integer too long to parse
    b'{"title":"t","description":"d","title":"\\u0000"}',  # a duplicate key; the last wins
    b'{"title":NaN,"description":"d"}',
    b'{"title":"t","description":"d"}\x00',
    b"",
    b"null",
    b'"{\\"title\\": \\"t\\"}"',
    b'{"title":"t","description":"d","author":"ada"}',  # a field nobody may set
]


def test_a_broken_body_is_refused_as_a_problem(org: Org) -> None:
    cid = org.engine.draft_challenge("mia", **challenge_terms()).id
    org.engine.open_challenge("mia", cid)
    headers = {**org.auth("cat"), "Content-Type": "application/json"}
    for payload in BROKEN_BODIES:
        before = org.engine.last_position
        answer = org.client.post(f"/v1/challenges/{cid}/ideas", content=payload, headers=headers)
        said = f"{payload[:60]!r}: {answer.status_code} {answer.text[:300]}"
        assert answer.status_code in (400, 422), said
        assert answer.headers["content-type"] == PROBLEM, said
        assert org.engine.last_position == before, said


SENDABLE = st.text(st.characters(exclude_categories=["Cs"]), max_size=250)  # URLs are UTF-8
FILTERS = [  # a list, its filters, and what a filter value must equal in every row it lets by
    ("/v1/ideas", {"author": "author", "status": "status"}),
    ("/v1/contributions", {"kind": "kind", "challenge": "challenge_id"}),
    ("/v1/people", {"department": "department"}),
    ("/v1/leaderboard", {"department": "department"}),
]
ENUMERATED = {"status"}  # filters with a closed set of values: anything else is a 400


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=st.one_of(st.sampled_from(FRAGMENTS), SENDABLE))
def test_hostile_filters_paths_and_headers_never_fail(org: Org, value: str) -> None:
    """Filters match literally (no wildcard, no injection); odd paths and headers are refused."""
    value = "".join(c for c in value if not 0xD800 <= ord(c) <= 0xDFFF)
    cid = org.engine.draft_challenge("mia", **challenge_terms()).id  # rows a filter could let by
    org.engine.open_challenge("mia", cid)
    org.engine.comment(
        "dan", org.engine.submit_idea("cat", cid, title="T", description="D").id, "C"
    )
    for path, fields in FILTERS:
        params = {name: value for name in fields}
        answer = org.client.get(path, params=params, headers=org.auth("ada"))
        said = f"GET {path} {params}: {answer.status_code} {answer.text[:300]}"
        if len(value) > 200:
            assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, said
            continue
        if answer.status_code == 400 and ENUMERATED & set(fields):
            # An enumerated filter (an idea's status) names its choices instead of matching.
            assert answer.headers["content-type"] == PROBLEM, said
            assert answer.json()["detail"].startswith("unknown "), said
            continue
        assert answer.status_code == 200, said
        for row in answer.json()["items"]:
            assert all(row[key] == value for key in fields.values()), said
    for path in (f"/v1/people/{quote(value, safe='')}", f"/v1/ideas/{quote(value, safe='')}"):
        answer = org.client.get(path, headers=org.auth("ada"))
        said = f"GET {path}: {answer.status_code} {answer.text[:300]}"
        assert answer.status_code < 500, said
        assert answer.status_code < 300 or answer.headers["content-type"] == PROBLEM, said
    visible = "".join(c for c in value if " " <= c <= "~")  # what an HTTP header can carry
    for header in ("Idempotency-Key", "If-Match"):
        cid = org.engine.draft_challenge("mia", **challenge_terms()).id
        before = org.engine.last_position
        answer = org.client.patch(
            f"/v1/challenges/{cid}",
            json={"title": "T"},
            headers={**org.auth("mia"), header: visible},
        )
        said = f"{header}: {visible!r}: {answer.status_code} {answer.text[:300]}"
        assert answer.status_code < 500, said
        if answer.status_code >= 300:
            assert answer.headers["content-type"] == PROBLEM, said
            assert org.engine.last_position == before, said
