"""Lists that scale: the sorts and filters the API's lists and the pages share.

One vocabulary per list (the names a query string carries), one stable order per sort (ties
broken down to the id, so pages concatenated give the whole list, each row once), and a
readable 400 naming the choices when a parameter is unknown. The read models are served
from memory (rows folded in process, or a snapshot of PostgreSQL's), so filtering and
sorting are done over those rows: a few milliseconds for thousands of ideas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from domain.challenge import Stage
from domain.idea import IdeaStatus
from groundswell.http.problems import ApiProblem
from projections.follow_up import follow_up_debt
from projections.rows import Rows

Row = dict[str, Any]

IDEA_SORTS = ("newest", "most-endorsed", "most-discussed", "waiting-longest")
CHALLENGE_SORTS = ("newest", "most-ideas", "deadline", "title")
STANDING_SORTS = ("points", "name", "department")
DEPARTMENT_SORTS = ("points", "ideas", "contributors", "name")
# What still waits on someone: a decision, a hand-over, the implementation's end.
WAITING = frozenset(
    {
        IdeaStatus.SUBMITTED.value,
        IdeaStatus.UNDER_REVIEW.value,
        IdeaStatus.ACCEPTED.value,
        IdeaStatus.IN_IMPLEMENTATION.value,
    }
)
DISCUSSION = frozenset({"comment", "build-on"})


def choice_query(choices: Sequence[str], what: str) -> Any:
    """A query parameter whose values are ``choices``: listed in the API's description, and
    checked here (not by FastAPI) so an unknown value is a 400 that names them."""
    return Annotated[
        str | None,
        Query(
            max_length=40,
            description=f"{what}: one of {', '.join(choices)}.",
            json_schema_extra={"enum": list(choices)},
        ),
    ]


IdeaSort = choice_query(IDEA_SORTS, "The order")
ChallengeSort = choice_query(CHALLENGE_SORTS, "The order")
StandingSort = choice_query(STANDING_SORTS, "The order")
DepartmentSort = choice_query(DEPARTMENT_SORTS, "The order")
IdeaStatusFilter = choice_query([s.value for s in IdeaStatus], "Only ideas in this status")
StageFilter = choice_query([s.value for s in Stage], "Only challenges in this stage")


def one_of(value: str | None, choices: Sequence[str], field: str, default: str) -> str:
    """``value`` if it is one of ``choices`` (None: ``default``); else a 400 naming them."""
    if value is None or value == "":
        return default
    if value not in choices:
        raise ApiProblem(
            400,
            "invalid-input",
            f"unknown {field} {value!r}; one of {', '.join(choices)}.",
            field=field,
        )
    return value


def idea_status(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return one_of(value, [s.value for s in IdeaStatus], "status", "")


def challenge_stage(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    return one_of(value, [s.value for s in Stage], "stage", "")


def newest_first(items: list[Row], at: str, key: str) -> None:
    items.sort(key=lambda row: (row[at], row[key]), reverse=True)


def contribution_counts(rows: Rows, challenge: str | None) -> tuple[dict[str, int], ...]:
    """Endorsements and discussion (comments and build-ons not hidden) per idea."""
    endorsed: dict[str, int] = {}
    discussed: dict[str, int] = {}
    for c in rows.table("contributions").values():
        if challenge is not None and c["challenge_id"] != challenge:
            continue
        if c["kind"] == "endorsement":
            endorsed[c["idea_id"]] = endorsed.get(c["idea_id"], 0) + 1
        elif c["kind"] in DISCUSSION and not c["hidden"]:
            discussed[c["idea_id"]] = discussed.get(c["idea_id"], 0) + 1
    return endorsed, discussed


def sort_ideas(items: list[Row], sort: str, rows: Rows, challenge: str | None) -> None:
    """Sort in place. Every order ends in newest first, then the id: a total order.

    ``waiting-longest``: ideas still waiting on someone (a decision, a hand-over, the end
    of their implementation) first, the one unmoved the longest at the top; then the rest.
    """
    newest_first(items, "submitted_at", "idea_id")
    if sort == "most-endorsed" or sort == "most-discussed":
        endorsed, discussed = contribution_counts(rows, challenge)
        counts = endorsed if sort == "most-endorsed" else discussed
        items.sort(key=lambda i: -counts.get(i["idea_id"], 0))  # stable: ties stay newest first
    elif sort == "waiting-longest":
        items.sort(key=lambda i: (i["status"] not in WAITING, i["updated_at"]))


def overdue_ideas(follow_up: Rows, now: datetime, challenge: str | None) -> set[str]:
    """Ideas with something overdue on them: their decision, or an answer to a comment."""
    return {d["idea_id"] or d["id"] for d in follow_up_debt(follow_up, now, challenge)}


def sort_challenges(items: list[Row], sort: str) -> None:
    newest_first(items, "drafted_at", "challenge_id")
    orders: dict[str, Callable[[Row], Any]] = {
        "most-ideas": lambda c: -c["ideas"],
        "deadline": lambda c: c["submission_deadline"],
        "title": lambda c: c["title"].casefold(),
    }
    if sort in orders:
        items.sort(key=orders[sort])


def sorted_by(
    items: Iterable[Any], sort: str, orders: dict[str, Callable[[Any], Any]]
) -> list[Any]:
    """``items`` (already in their default order) re-sorted stably by ``orders[sort]``."""
    found = list(items)
    if sort in orders:
        found.sort(key=orders[sort])
    return found
