"""Participation breadth: which departments take part, and how concentrated activity is."""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from projections.projection import Handler
from projections.rows import Rows, key_of

# A Gini above this, or a top-10% share above TOP_SHARE_WARNING, means a small circle
# of enthusiasts carries the challenge. Below MIN_CROWD contributors the "top 10%" is a
# single person and any unevenness looks like concentration, so no warning is raised.
GINI_WARNING = 0.5
TOP_SHARE_WARNING = 0.5
MIN_CROWD = 10


class BreadthProjection:
    """Tables: ``challenges`` (targeted departments), ``activity`` (challenge|handle →
    department, actions)."""

    name = "breadth"
    version = 2

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: _targeted,
            Challenge.Edited: _targeted,
            Idea.Submitted: lambda rows, e: _act(rows, e, e.author, e.department),
            Idea.TeamMemberJoined: lambda rows, e: _act(rows, e, e.member, e.department),
            Contribution.Added: lambda rows, e: _act(rows, e, e.author, e.department),
        }


def _targeted(rows: Rows, event: Any) -> None:
    rows.put(
        "challenges",
        key_of(event.originator_id),
        {"title": event.title, "targeted": list(event.target_departments)},
    )


def _act(rows: Rows, event: Any, handle: str, department: str) -> None:
    challenge = key_of(event.challenge_id)
    row = rows.row(
        "activity",
        f"{challenge}|{handle}",
        lambda: {
            "challenge_id": challenge,
            "handle": handle,
            "department": department,
            "actions": 0,
        },
    )
    row["actions"] += 1


def gini(values: list[int]) -> float:
    """Gini coefficient of non-negative counts: 0 when all equal, towards 1 when one holds all."""
    if not values or sum(values) == 0:
        return 0.0
    ordered = sorted(values)
    n = len(ordered)
    weighted = sum((index + 1) * value for index, value in enumerate(ordered))
    return (2 * weighted) / (n * sum(ordered)) - (n + 1) / n


def top_share(values: list[int], fraction: float = 0.1) -> float:
    """The share of all activity by the most active ``fraction`` of contributors (at least one)."""
    if not values or sum(values) == 0:
        return 0.0
    ordered = sorted(values, reverse=True)
    top = max(1, round(len(ordered) * fraction))
    return sum(ordered[:top]) / sum(ordered)


def breadth(rows: Rows, challenge_id: str) -> dict[str, Any]:
    """Departments targeted vs taking part, contributors per department, concentration."""
    challenge = rows.get("challenges", challenge_id) or {"title": "", "targeted": []}
    activity = [a for a in rows.table("activity").values() if a["challenge_id"] == challenge_id]
    per_department: dict[str, int] = {}
    for row in activity:
        per_department[row["department"]] = per_department.get(row["department"], 0) + 1
    actions = [row["actions"] for row in activity]
    targeted = challenge["targeted"]
    concentration_gini = round(gini(actions), 3)
    share = round(top_share(actions), 3)
    return {
        "challenge_id": challenge_id,
        "title": challenge["title"],
        "targeted": targeted,
        "taking_part": sorted(per_department),
        "targeted_taking_part": sorted(set(targeted) & set(per_department)),
        "contributors_per_department": dict(sorted(per_department.items())),
        "contributors": len(activity),
        "gini": concentration_gini,
        "top_10_percent_share": share,
        "small_circle_warning": len(activity) >= MIN_CROWD
        and (concentration_gini > GINI_WARNING or share > TOP_SHARE_WARNING),
    }
