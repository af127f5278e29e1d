"""What the follow-up process must do now: read from the follow-up projection's rows.

Pure: given the rows and a moment, the steps (reminders, escalations) the policy implies
that are not recorded yet, and the items answered whose follow-up is still open. Who must
act on an item (its desk): for an idea, the manager who took up its review, until then
the challenge's first manager; for a comment or build-on, the idea's team; for a progress
report, the idea's owner. The first escalation tells the challenge's other managers, the
second its sponsor (when registered as a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.follow_up import PlannedStep
from domain.follow_up_policy import TO_MANAGERS, TO_SPONSOR, FollowUpPolicy, steps_due
from projections.follow_up import policy_of
from projections.rows import Rows

KIND_WORDS = {
    "idea": "a decision on the idea",
    "contribution": "a first answer to the comment",
    "progress": "a progress report on the idea",
}


@dataclass(frozen=True)
class Closing:
    """An item that got its answer while its follow-up is still open."""

    item_key: str
    answered_at: datetime
    answered_by: str


def due_days(item: dict[str, Any], challenge: dict[str, Any]) -> int:
    """Days from when an item began to wait until its answer is due."""
    if item["kind"] == "idea":
        days: int = challenge.get("decision_deadline_days", 30)
        return days
    policy = policy_of(challenge)
    return int(policy["answer_days"] if item["kind"] == "contribution" else policy["progress_days"])


def due_at(item: dict[str, Any], challenge: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["since"]) + timedelta(days=due_days(item, challenge))


def desk_of(rows: Rows, item: dict[str, Any], challenge: dict[str, Any]) -> list[str]:
    """The people who must act on ``item``."""
    if item["kind"] == "idea":
        lead = item.get("lead") or next(iter(challenge.get("managers", [])), None)
        return [lead] if lead else []
    if item["kind"] == "progress":
        return [item["owner"]]
    return list(rows.get("teams", item["idea_id"]) or [])


def ladder(
    rows: Rows, item: dict[str, Any], challenge: dict[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """The desk, the other managers, and the sponsor (each possibly empty)."""
    desk = desk_of(rows, item, challenge)
    others = [m for m in challenge.get("managers", []) if m not in desk]
    sponsor = policy_of(challenge)["sponsor_handle"]
    return desk, others, [sponsor] if sponsor else []


def implied_steps(rows: Rows, key: str, now: datetime) -> list[tuple[str, datetime, list[str]]]:
    """Every step the policy implies for the waiting item ``key`` at ``now``: name, when,
    to whom (oldest first)."""
    item = rows.get("items", key)
    challenge = rows.get("challenges", item["challenge_id"]) or {"managers": []}
    desk, others, sponsor = ladder(rows, item, challenge)
    policy = FollowUpPolicy(**policy_of(challenge))
    found = steps_due(
        policy,
        due_at(item, challenge),
        now,
        managers_to_tell=bool(others),
        sponsor_to_tell=bool(sponsor),
    )
    to = {TO_MANAGERS: others, TO_SPONSOR: sponsor}
    return [(step.name, step.at, to.get(step.name, desk)) for step in found]


def plan(rows: Rows, now: datetime) -> list[PlannedStep]:
    """The steps due by ``now`` on items still waiting that are not recorded yet."""
    planned = []
    challenges = rows.table("challenges")
    items = rows.table("items")
    for challenge_id, waiting in rows.table("waiting").items():
        challenge = challenges.get(challenge_id) or {"managers": []}
        for key in waiting:
            item = items[key]
            due = due_at(item, challenge)
            if item.get("closed") or due > now:
                continue  # the cheap test first: most waiting items are not due yet
            done = item.get("steps") or {}
            for name, _, to in implied_steps(rows, key, now):
                if name in done or not to:
                    continue
                planned.append(_planned(key, item, challenge_id, name, due, to, now))
    return planned


def _planned(
    key: str,
    item: dict[str, Any],
    challenge_id: str,
    step: str,
    due: datetime,
    to: list[str],
    now: datetime,
) -> PlannedStep:
    overdue = (now - due).days
    reason = (
        f"{KIND_WORDS[item['kind']]} {item['title']!r} was due on {due:%Y-%m-%d} "
        f"and has waited {overdue} days past it"
    )
    subject = item.get("idea_id") if item["kind"] == "progress" else key
    return PlannedStep(
        item_key=key,
        item_kind=item["kind"],
        challenge_id=UUID(challenge_id),
        subject_id=UUID(subject),
        title=item["title"],
        author=item["author"],
        due_at=due,
        step=step,
        to=to,
        reason=reason,
    )


def closings(rows: Rows) -> list[Closing]:
    """Items answered (or gone from the queue) whose follow-up was opened and not closed."""
    return [
        Closing(key, datetime.fromisoformat(item["answered_at"]), item["answered_by"] or "")
        for key, item in rows.table("items").items()
        if item.get("steps") and not item.get("closed") and item["answered_at"] is not None
    ]


def answer_expected(rows: Rows, key: str) -> dict[str, Any] | None:
    """When an idea's decision or a comment's first answer is expected (by its challenge's
    policy), whether it came, and what the follow-up did meanwhile; None if nothing is
    expected of it (an endorsement, a reply by the team)."""
    item = rows.get("items", key)
    if item is None or item["kind"] == "progress":
        return None
    challenge = rows.get("challenges", item["challenge_id"]) or {"managers": []}
    steps = item.get("steps") or {}
    return {
        "expected_by": due_at(item, challenge).isoformat(),
        "answered_at": item["answered_at"],
        "reminders": sum(1 for name in steps if name.startswith("reminder")),
        "escalated_to": sorted(
            name.removeprefix("escalation-") for name in steps if name.startswith("escalation")
        ),
    }
