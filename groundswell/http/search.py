"""Full-text search over challenges, ideas and contributions, as the caller may read them.

A search finds only what the same caller could read over the API: a draft challenge only
for its managers (auditors and administrators read all), a hidden contribution only for
its author and those who moderate, and authors behind a pseudonym only as that pseudonym.
"""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from groundswell.http import models
from groundswell.http.auth import AnyCaller, Caller
from groundswell.http.boards import require_visible
from groundswell.http.common import Api, ApiDep, AtLeast, Filter, rows
from groundswell.http.privacy import masks_for
from groundswell.http.problems import COMMON, ApiProblem
from groundswell.readstore import search_index
from groundswell.readstore.search_index import Hit, Reader
from projections.search import KINDS, document_key

router = APIRouter(tags=["search"], responses=COMMON)

QUERY_MAX = 200
WORDS_MAX = 12
WORD = re.compile(r"\w+")


def words_of(text: str, field: str = "q") -> tuple[str, ...]:
    """The words of a query: letters and digits only, so no query syntax reaches the index
    (quotes, operators, parentheses and stars are spaces here). Refused when empty or long."""
    if len(text) > QUERY_MAX:
        raise ApiProblem(
            422, "invalid-input",
            f"the search is {len(text)} characters long; at most {QUERY_MAX} are searched.",
            field=field,
        )  # fmt: skip
    words = tuple(word.lower() for word in WORD.findall(text))
    if not words:
        raise ApiProblem(
            422, "invalid-input",
            "the search has no words to look for; type a word or two (letters or digits).",
            field=field,
        )  # fmt: skip
    if len(words) > WORDS_MAX:
        raise ApiProblem(
            422, "invalid-input",
            f"the search has {len(words)} words; at most {WORDS_MAX} are searched.", field=field,
        )  # fmt: skip
    return words


def reader_of(caller: Caller) -> Reader:
    return Reader(caller.handle, caller.sees_identities, caller.reads_all)


def found(
    api: Api, caller: Caller, query: search_index.Query, at_least: int = 0
) -> list[models.SearchHit]:
    """Run ``query`` (caught up to ``at_least``) and shape its hits as the caller may see them."""
    if api.search is None:
        raise ApiProblem(503, "not-available", "search is not set up on this server.")
    api.reads.caught_up(search_index.PROJECTION, at_least)
    hits = api.search.search(query)
    masks = masks_for(api, caller, at_least)
    with rows(api, "directory", at_least) as directory:
        titles = {
            hit.idea_id: (directory.get("ideas", hit.idea_id) or {}).get("title", "")
            for hit in hits
            if hit.kind == "contribution" and hit.idea_id
        }
    return [shown(hit, masks.handle, titles) for hit in hits]


def shown(hit: Hit, name: object, titles: dict[str, str]) -> models.SearchHit:
    plain = "".join(text for text, _ in hit.title)
    return models.SearchHit(
        kind=hit.kind,
        id=hit.id,
        challenge_id=hit.challenge_id,
        idea_id=hit.idea_id,
        title=titles.get(hit.idea_id or "", "") if hit.kind == "contribution" else plain,
        author=name(hit.author) if hit.author is not None else None,  # type: ignore[operator]
        hidden=hit.hidden,
        highlighted_title=[models.Marked(text=t, match=m) for t, m in hit.title],
        snippet=[models.Marked(text=t, match=m) for t, m in hit.snippet],
        rank=round(hit.rank, 6),
    )


SearchText = Annotated[str, Query(description="Words to find (at most 200 characters).")]
SearchLimit = Annotated[int, Query(ge=1, le=50, description="How many hits at most.")]


@router.get("/v1/search")
def search(
    caller: AnyCaller,
    api: ApiDep,
    q: SearchText = "",
    kind: Filter = None,
    challenge: Filter = None,
    at_least: AtLeast = 0,
    limit: SearchLimit = 20,
) -> models.SearchOut:
    """Challenges, ideas and contributions whose title or text hold every word of ``q``
    (the last word may be the start of one), best first, with the matches marked."""
    words = words_of(q)
    if kind is not None and kind not in KINDS:
        raise ApiProblem(
            422, "invalid-input", f"kind must be one of {', '.join(KINDS)}, not {kind!r}.",
            field="kind",
        )  # fmt: skip
    query = search_index.Query(
        words, reader_of(caller), kind=kind, challenge_id=challenge, limit=limit
    )
    items = found(api, caller, query, at_least)
    return models.SearchOut(query=q, words=list(words), items=items, position=api.reads.position())


def similar_ideas(
    api: Api, caller: Caller, challenge_id: str, title: str, leave_out: str | None = None,
    limit: int = 5, at_least: int = 0,
) -> list[models.SearchHit]:  # fmt: skip
    """The ideas of a challenge most like ``title``: any of its words, best matches first."""
    words = tuple(w for w in words_of(title, "title") if len(w) > 2) or words_of(title, "title")
    query = search_index.Query(
        words, reader_of(caller), any_word=True, kind="idea", challenge_id=challenge_id,
        leave_out=document_key("idea", leave_out) if leave_out else None, limit=limit,
    )  # fmt: skip
    return found(api, caller, query, at_least)


@router.get("/v1/challenges/{challenge_id}/similar-ideas")
def get_similar_ideas(
    challenge_id: UUID,
    caller: AnyCaller,
    api: ApiDep,
    title: SearchText = "",
    at_least: AtLeast = 0,
    limit: Annotated[int, Query(ge=1, le=20, description="How many ideas at most.")] = 5,
) -> models.SearchOut:
    """The challenge's existing ideas most like a title being written (to find duplicates
    before they are submitted): any of its words, best matches first."""
    require_visible(api, caller, challenge_id)
    items = similar_ideas(api, caller, str(challenge_id), title, limit=limit, at_least=at_least)
    words = list(words_of(title, "title"))
    return models.SearchOut(query=title, words=words, items=items, position=api.reads.position())
