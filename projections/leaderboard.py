"""Leaderboards: reward points earned, per challenge and overall; and a department board."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from domain.person import Person
from projections.projection import Handler
from projections.rows import Row, Rows, add_sorted, bump, key_of


class LeaderboardProjection:
    """Tables: ``points`` (challenge|handle), ``people`` (handle), ``person_ids`` (id →
    handle), ``challenges`` (id), ``departments`` (challenge|department: ideas and
    contributors)."""

    name = "leaderboard"
    version = 3

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Person.Registered: _registered,
            Person.PseudonymChosen: _pseudonym_chosen,
            Person.DepartmentChanged: _department_changed,
            Challenge.Drafted: _titled,
            Challenge.Edited: _titled,
            Challenge.RewardGranted: _reward_granted,
            Idea.Submitted: lambda rows, e: _take_part(rows, e, e.department, e.author, 1),
            Idea.TeamMemberJoined: lambda rows, e: _take_part(rows, e, e.department, e.member, 0),
            Contribution.Added: lambda rows, e: _take_part(rows, e, e.department, e.author, 0),
        }


def _registered(rows: Rows, event: Any) -> None:
    rows.put("person_ids", key_of(event.originator_id), event.handle)
    rows.put(
        "people",
        event.handle,
        {"name": event.name, "department": event.department, "pseudonym": event.pseudonym},
    )


def _person(rows: Rows, event: Any) -> Row:
    handle = rows.get("person_ids", key_of(event.originator_id))
    return rows.touch("people", handle) if handle else {}


def _pseudonym_chosen(rows: Rows, event: Any) -> None:
    _person(rows, event)["pseudonym"] = event.pseudonym


def _department_changed(rows: Rows, event: Any) -> None:
    _person(rows, event)["department"] = event.department


def _titled(rows: Rows, event: Any) -> None:
    rows.put("challenges", key_of(event.originator_id), {"title": event.title})


def _reward_granted(rows: Rows, event: Any) -> None:
    challenge = key_of(event.originator_id)
    for handle, points in event.shares.items():
        if not points:  # histories from before 0-point shares were dropped: nobody with 0
            continue
        new = {"challenge_id": challenge, "handle": handle, "points": 0}
        bump(rows, "points", f"{challenge}|{handle}", "points", points, new.copy)


def _take_part(rows: Rows, event: Any, department: str, handle: str, ideas: int) -> None:
    challenge = key_of(event.challenge_id)
    row = rows.row(
        "departments",
        f"{challenge}|{department}",
        lambda: {
            "challenge_id": challenge,
            "department": department,
            "ideas": 0,
            "contributors": [],
        },
    )
    row["ideas"] += ideas
    add_sorted(row["contributors"], handle)


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
