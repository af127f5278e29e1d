"""Leaderboards: reward points earned, per challenge and overall; and a department board."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from domain.person import Person
from projections.rows import Rows, add_to_set, bump, key_of


class LeaderboardProjection:
    """Tables: ``points`` (challenge|handle), ``people`` (handle), ``challenges`` (id),
    ``departments`` (challenge|department: ideas and contributors)."""

    name = "leaderboard"
    version = 1
    handles = frozenset(
        {
            Person.Registered,
            Person.PseudonymChosen,
            Person.DepartmentChanged,
            Challenge.Drafted,
            Challenge.Edited,
            Challenge.RewardGranted,
            Idea.Submitted,
            Idea.TeamMemberJoined,
            Contribution.Added,
        }
    )

    def apply(self, rows: Rows, event: Any) -> None:
        if isinstance(event, Person.Registered):
            rows.put("person_ids", key_of(event.originator_id), event.handle)
            rows.put(
                "people",
                event.handle,
                {"name": event.name, "department": event.department, "pseudonym": event.pseudonym},
            )
        elif isinstance(event, Person.PseudonymChosen):
            _update_person(rows, _handle(rows, event), pseudonym=event.pseudonym)
        elif isinstance(event, Person.DepartmentChanged):
            _update_person(rows, _handle(rows, event), department=event.department)
        elif isinstance(event, Challenge.Drafted | Challenge.Edited):
            rows.put("challenges", key_of(event.originator_id), {"title": event.title})
        elif isinstance(event, Challenge.RewardGranted):
            challenge = key_of(event.originator_id)
            for handle, points in event.shares.items():
                base = {"challenge_id": challenge, "handle": handle, "points": 0}
                bump(rows, "points", f"{challenge}|{handle}", "points", points, base)
        elif isinstance(event, Idea.Submitted):
            _count_department(rows, event, event.department, event.author, ideas=1)
        elif isinstance(event, Idea.TeamMemberJoined):
            _count_department(rows, event, event.department, event.member, ideas=0)
        elif isinstance(event, Contribution.Added):
            _count_department(rows, event, event.department, event.author, ideas=0)


def _handle(rows: Rows, event: Any) -> str:
    return str(rows.get("person_ids", key_of(event.originator_id)))


def _update_person(rows: Rows, handle: str, **changes: Any) -> None:
    person = dict(rows.get("people", handle) or {})
    person.update(changes)
    rows.put("people", handle, person)


def _count_department(rows: Rows, event: Any, department: str, handle: str, *, ideas: int) -> None:
    challenge = key_of(event.challenge_id)
    key = f"{challenge}|{department}"
    row = dict(
        rows.get("departments", key)
        or {"challenge_id": challenge, "department": department, "ideas": 0, "contributors": []}
    )
    row["ideas"] += ideas
    row["contributors"] = add_to_set(row["contributors"], handle)
    rows.put("departments", key, row)


@dataclass(frozen=True)
class Standing:
    rank: int
    shown_as: str
    handle: str
    department: str
    points: int


def display_name(people: dict[str, Any], handle: str) -> str:
    """The pseudonym where one was chosen; otherwise the person's name."""
    person = people.get(handle) or {}
    return person.get("pseudonym") or person.get("name") or handle


def standings(
    rows: Rows, challenge_id: str | None = None, limit: int | None = None
) -> list[Standing]:
    """Ranked by points, most first; ties broken by handle so the order is stable."""
    totals: dict[str, int] = {}
    for row in rows.table("points").values():
        if challenge_id is None or row["challenge_id"] == challenge_id:
            totals[row["handle"]] = totals.get(row["handle"], 0) + row["points"]
    people = rows.table("people")
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    result = [
        Standing(
            rank=position + 1,
            shown_as=display_name(people, handle),
            handle=handle,
            department=(people.get(handle) or {}).get("department", "?"),
            points=points,
        )
        for position, (handle, points) in enumerate(ordered)
    ]
    return result[:limit] if limit else result


@dataclass(frozen=True)
class DepartmentStanding:
    department: str
    points: int
    ideas: int
    contributors: int


def department_board(rows: Rows, challenge_id: str | None = None) -> list[DepartmentStanding]:
    """Points (by the earner's current department), ideas and contributors per department."""
    people = rows.table("people")
    points: dict[str, int] = {}
    for row in rows.table("points").values():
        if challenge_id is None or row["challenge_id"] == challenge_id:
            department = (people.get(row["handle"]) or {}).get("department", "?")
            points[department] = points.get(department, 0) + row["points"]
    ideas: dict[str, int] = {}
    contributors: dict[str, set[str]] = {}
    for row in rows.table("departments").values():
        if challenge_id is None or row["challenge_id"] == challenge_id:
            ideas[row["department"]] = ideas.get(row["department"], 0) + row["ideas"]
            contributors.setdefault(row["department"], set()).update(row["contributors"])
    names = set(points) | set(ideas)
    board = [
        DepartmentStanding(d, points.get(d, 0), ideas.get(d, 0), len(contributors.get(d, ())))
        for d in names
    ]
    return sorted(board, key=lambda s: (-s.points, -s.ideas, s.department))
