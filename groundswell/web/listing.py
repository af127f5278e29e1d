"""The pages' long lists: filters, sort and page read from the query string (the state is
the address, so it works without JavaScript and can be bookmarked or shared), answered by
the API's own list routes; links to other pages keep the filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from domain.idea import IdeaStatus
from domain.person import Role
from groundswell.http import boards, challenges, ideas
from groundswell.http.auth import Caller
from groundswell.http.common import Api, folded, rows
from groundswell.http.problems import ApiProblem
from projections.directory import NOT_COUNTED

PAGE_SIZE = 25
LAST_PAGE = 1_000_000 // PAGE_SIZE  # the API's largest offset
IDEA_SORT_WORDS = {
    "newest": "Newest first",
    "most-endorsed": "Most endorsed",
    "most-discussed": "Most discussed",
    "waiting-longest": "Waiting longest",
}
STANDING_SORT_WORDS = {"points": "Most points", "name": "By name", "department": "By department"}
DEPARTMENT_SORT_WORDS = {
    "points": "Most points",
    "ideas": "Most ideas",
    "contributors": "Most people",
    "name": "By name",
}
CHALLENGE_SORT_WORDS = {
    "newest": "Newest first",
    "most-ideas": "Most ideas",
    "deadline": "Soonest deadline",
    "title": "By title",
}


def page_number(value: str | None) -> int:
    """The ``page`` asked for (1 when none), or a 400 that says what a page is."""
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= LAST_PAGE:
        raise ApiProblem(
            400,
            "invalid-input",
            f"page must be a whole number from 1 to {LAST_PAGE}, not {value[:20]!r}.",
            field="page",
        )
    return int(value)


@dataclass
class Listing:
    """One page of a list, what it was filtered and sorted by, and the links to the others."""

    items: list[Any]
    total: int
    page: int
    chosen: dict[str, str]
    path: str
    anchor: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.items)

    def link(self, page: int) -> str:
        """The address of ``page`` of this list, with the same filters and sort."""
        query = {k: v for k, v in self.chosen.items() if v}
        if page > 1:
            query["page"] = str(page)
        address = f"{self.path}?{urlencode(query)}" if query else self.path
        return f"{address}#{self.anchor}"


def _asked(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip() for name in names}


def challenge_ideas(request: Request, caller: Caller, api: Api, key: str, at_least: int) -> Listing:
    """A challenge's ideas as the challenge page lists them."""
    chosen = _asked(request, ("status", "department", "author", "overdue", "sort"))
    steering = caller.has(Role.MANAGER) or caller.reads_all
    flags: dict[str, bool | None] = {"": None, "yes": True, "no": False}
    if chosen["overdue"] not in flags:
        raise ApiProblem(
            400, "invalid-input", f"unknown overdue {chosen['overdue'][:20]!r}; one of yes, no.",
            field="overdue",
        )  # fmt: skip
    page = page_number(request.query_params.get("page"))
    found = ideas.list_ideas(
        caller, api, challenge=key, status=chosen["status"] or None,
        department=chosen["department"] or None, author=chosen["author"] or None,
        sort=chosen["sort"] or None, overdue=flags[chosen["overdue"]], at_least=at_least,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip

    # The counts over the whole challenge (not the filtered page): one count of ideas, the
    # funnel's, and the departments to filter by.
    def counts() -> tuple[tuple[int, list[str]], None]:
        not_counted, departments = 0, set()
        for idea in directory.table("ideas").values():
            if idea["challenge_id"] == key:
                departments.add(idea["department"])
                not_counted += idea["status"] in NOT_COUNTED
        return (not_counted, sorted(departments)), None

    with rows(api, "directory", at_least) as directory:
        not_counted, departments = folded(
            api, directory, ("idea counts", key), api.engine.clock(), counts
        )
        counted = (directory.get("challenges", key) or {}).get("ideas", 0)
    return Listing(
        items=found.items, total=found.total, page=page, chosen=chosen,
        path=f"/web/challenges/{key}", anchor="ideas",
        extra={
            "counted": counted,
            "not_counted": not_counted,
            "departments": departments,
            "statuses": [s.value for s in IdeaStatus],
            "sorts": IDEA_SORT_WORDS,
            "steering": steering,
        },
    )  # fmt: skip


def challenge_list(request: Request, caller: Caller, api: Api, at_least: int) -> Listing:
    """The challenges as the challenges page lists them."""
    chosen = _asked(request, ("stage", "sort"))
    page = page_number(request.query_params.get("page"))
    found = challenges.list_challenges(
        caller, api, stage=chosen["stage"] or None, sort=chosen["sort"] or None,
        at_least=at_least, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    return Listing(
        items=found.items, total=found.total, page=page, chosen=chosen,
        path="/web/challenges", anchor="challenge-list",
        extra={"sorts": CHALLENGE_SORT_WORDS},
    )  # fmt: skip


def standings(request: Request, caller: Caller, api: Api, key: str, at_least: int) -> Listing:
    """A challenge's people by points (a page of them) and its departments, each in the
    order asked (``sort`` for the people, ``by`` for the departments)."""
    chosen = _asked(request, ("sort", "by"))
    page = page_number(request.query_params.get("page"))
    found = boards.get_leaderboard(
        caller, api, challenge=key, department=None, at_least=at_least, limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE, sort=chosen["sort"] or None,
    )  # fmt: skip
    departments = boards.get_departments(
        caller, api, challenge=key, at_least=at_least, sort=chosen["by"] or None
    )
    return Listing(
        items=found.items, total=found.total, page=page, chosen=chosen,
        path=f"/web/challenges/{key}/standings", anchor="people",
        extra={"sorts": STANDING_SORT_WORDS, "by": DEPARTMENT_SORT_WORDS,
               "departments": departments},
    )  # fmt: skip
