"""``groundswell search``: full-text search over challenges, ideas and contributions."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.text import Text

from domain.person import Role
from groundswell.bootstrap import build_search
from groundswell.cli.boards import Json, emit, known_person, rows, table
from groundswell.cli.common import fail, out, session
from groundswell.readstore import search_index
from groundswell.readstore.search_index import Hit, Part, Reader
from projections.search import KINDS

QUERY_MAX, WORDS_MAX = 200, 12
SEE_IDENTITIES = {Role.ADMIN.value, Role.AUDITOR.value, Role.MANAGER.value}
READ_ALL = {Role.ADMIN.value, Role.AUDITOR.value}


def words_of(text: str) -> tuple[str, ...]:
    """The words searched for: the same rule as the API's (groundswell/http/search.py)."""
    if len(text) > QUERY_MAX:
        fail(f"the search is {len(text)} characters long; at most {QUERY_MAX} are searched.")
    words = tuple(w.lower() for w in re.findall(r"\w+", text))
    if not words:
        fail("the search has no words to look for; type a word or two (letters or digits).")
    if len(words) > WORDS_MAX:
        fail(f"the search has {len(words)} words; at most {WORDS_MAX} are searched.")
    return words


def marked(parts: list[Part]) -> Text:
    """Matched words in bold; the text itself never read as Rich markup."""
    shown = Text()
    for said, match in parts:
        shown.append(said, style="bold reverse" if match else "")
    return shown


def search_command(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Words to find.", show_default=False)],
    actor: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="HANDLE",
            help="Search as this person sees (drafts, hidden contributions, pseudonyms); "
            "without it, everything, as an auditor sees it.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only challenge, idea or contribution.", show_default=False)
    ] = None,
    challenge: Annotated[
        str | None, typer.Option(help="Only in this challenge (its id).", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many hits at most.")] = 20,
    as_json: Json = False,
) -> None:
    """Challenges, ideas and contributions holding every word, best first, matches marked."""
    words = words_of(query)
    if kind is not None and kind not in KINDS:
        fail(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.", "kind")
    reader, pseudonyms = Reader("", True, True), {}
    if actor is not None:
        known_person(ctx, actor)
        roles = set(session(ctx).engine.person(actor).roles)
        reader = Reader(actor, bool(roles & SEE_IDENTITIES), bool(roles & READ_ALL))
        if not reader.sees_identities:
            people = rows(ctx, "directory").table("people")
            pseudonyms = {
                h: p["pseudonym"] for h, p in people.items() if p.get("pseudonym") and h != actor
            }
    rows(ctx, search_index.PROJECTION)  # caught up: the index is as far as the rows
    index = build_search(session(ctx).settings)
    try:
        hits = index.search(
            search_index.Query(words, reader, kind=kind, challenge_id=challenge, limit=limit)
        )
    finally:
        index.close()
    titles = rows(ctx, "directory")
    if as_json:
        return emit([shown(hit, pseudonyms, titles) for hit in hits])
    if not hits:
        out().print(f"Nothing found for {query!r}.")
        return
    found = table(f"Found for {query!r}", "=kind", "title", "found in", "=by", "=id")
    for hit in hits:
        row = shown(hit, pseudonyms, titles)
        title = marked(hit.title) if hit.kind != "contribution" else Text(row["title"])
        found.add_row(hit.kind, title, marked(hit.snippet), row["author"] or "—", hit.id[:8])
    out().print(found)


def shown(hit: Hit, pseudonyms: dict[str, str], titles: Any) -> dict[str, Any]:
    idea = titles.get("ideas", hit.idea_id) if hit.idea_id else None
    plain = "".join(t for t, _ in hit.title)
    return {
        "kind": hit.kind,
        "id": hit.id,
        "challenge_id": hit.challenge_id,
        "idea_id": hit.idea_id,
        "title": (idea or {}).get("title", "") if hit.kind == "contribution" else plain,
        "author": pseudonyms.get(hit.author, hit.author) if hit.author else None,
        "hidden": hit.hidden,
        "snippet": "".join(t for t, _ in hit.snippet),
    }
