"""Accountability: which desks answer on time and which avoid softly, read from the
follow-up projection's rows.

For each challenge and each manager: items answered on time, answered late, still
waiting (and how many of those are overdue), reminders and escalations received, and the
median and 90th-percentile days from waiting to answer. A manager is accountable for the
ideas on their desk (see projections/follow_up_due.desk_of); reminders and escalations
count for whoever received them.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from projections.follow_up_due import desk_of, due_at
from projections.rows import Rows

ANSWERABLE = ("idea", "contribution")


def _blank() -> dict[str, Any]:
    return {
        "on_time": 0,
        "late": 0,
        "waiting": 0,
        "overdue": 0,
        "reminders": 0,
        "escalations": 0,
        "_waits": [],
    }


def _percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share 0.5: median, 0.9: p90), in days, 2 decimals."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return round(ordered[rank - 1], 2)


def _finish(figures: dict[str, Any]) -> dict[str, Any]:
    waits = figures.pop("_waits")
    figures["median_days_to_answer"] = _percentile(waits, 0.5)
    figures["p90_days_to_answer"] = _percentile(waits, 0.9)
    return figures


def accountability(rows: Rows, now: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"challenges": {id: figures}, "managers": {handle: figures}}``."""
    challenges: dict[str, dict[str, Any]] = {}
    managers: dict[str, dict[str, Any]] = {}
    for item in rows.table("items").values():
        if item["kind"] not in ANSWERABLE or item.get("left_unanswered"):
            continue
        challenge = rows.get("challenges", item["challenge_id"]) or {"managers": []}
        # A blank tally only where one is missing: this loop runs once per item ever waited on.
        for handle in challenge.get("managers", []):
            if handle not in managers:
                managers[handle] = _blank()
        accountable = [h for h in desk_of(rows, item, challenge) if h in challenge["managers"]]
        if item["challenge_id"] not in challenges:
            challenges[item["challenge_id"]] = _blank()
        tallies = [challenges[item["challenge_id"]], *(managers[h] for h in accountable)]
        due = due_at(item, challenge)
        answered = item["answered_at"]
        if answered is not None and item["answered_by"] is not None:
            at = datetime.fromisoformat(answered)
            waited = (at - datetime.fromisoformat(item["since"])).total_seconds() / 86400
        for tally in tallies:
            if answered is None:
                tally["waiting"] += 1
                tally["overdue"] += now > due
            elif item["answered_by"] is not None:  # withdrawn or merged: nobody answered
                tally["on_time" if at <= due else "late"] += 1
                tally["_waits"].append(waited)
        for step in (item.get("steps") or {}).items():
            name, recorded = step
            field = "reminders" if name.startswith("reminder") else "escalations"
            challenges[item["challenge_id"]][field] += 1
            for handle in recorded["to"]:
                if handle in managers:
                    managers[handle][field] += 1
    return {
        "challenges": {k: _finish(v) for k, v in sorted(challenges.items())},
        "managers": {k: _finish(v) for k, v in sorted(managers.items())},
    }


def next_overdue(rows: Rows, now: datetime) -> datetime | None:
    """The last moment before another waiting item turns overdue (None: none will): until
    then, :func:`accountability` answers the same."""
    dues = [
        due
        for item in rows.table("items").values()
        if item["kind"] in ANSWERABLE
        and not item.get("left_unanswered")
        and item["answered_at"] is None
        and now <= (due := due_at(item, rows.get("challenges", item["challenge_id"]) or {}))
    ]
    return min(dues, default=None)
