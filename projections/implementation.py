"""Implementation status: each idea's stage in the funnel, owner, dates and time per stage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.challenge import Challenge
from domain.idea import Idea, IdeaStatus
from projections.projection import Handler
from projections.rows import Rows, key_of

# The funnel's steps, and the statuses that show an idea got at least that far.
FUNNEL = ("submitted", "reviewed", "accepted", "in implementation", "implemented")
REACHED = {
    "reviewed": {
        "under review",
        "accepted",
        "rejected",
        "in implementation",
        "implemented",
        "abandoned",
    },
    "accepted": {"accepted", "in implementation", "implemented", "abandoned"},
    "in implementation": {"in implementation", "implemented", "abandoned"},
    "implemented": {"implemented"},
}

STATUS_OF = {
    Idea.ReviewStarted: IdeaStatus.UNDER_REVIEW,
    Idea.Accepted: IdeaStatus.ACCEPTED,
    Idea.Rejected: IdeaStatus.REJECTED,
    Idea.TakenOver: IdeaStatus.IN_IMPLEMENTATION,
    Idea.Implemented: IdeaStatus.IMPLEMENTED,
    Idea.Abandoned: IdeaStatus.ABANDONED,
    Idea.Withdrawn: IdeaStatus.WITHDRAWN,
    Idea.MergedInto: IdeaStatus.MERGED,
}


class ImplementationProjection:
    """Tables: ``ideas`` (idea id → stage, owner, transitions...), ``challenges`` (titles)."""

    name = "implementation"
    version = 2

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: _titled,
            Challenge.Edited: _titled,
            Idea.Submitted: _submitted,
            Idea.Edited: _edited,
            Idea.ProgressReported: _progress,
            Idea.MergeUndone: _merge_undone,
            Idea.OwnerReassigned: _reassigned,
            **{event_class: _status_changed for event_class in STATUS_OF},
        }


def _titled(rows: Rows, event: Any) -> None:
    rows.put("challenges", key_of(event.originator_id), {"title": event.title})


def _submitted(rows: Rows, event: Any) -> None:
    rows.put(
        "ideas",
        key_of(event.originator_id),
        {
            "challenge_id": key_of(event.challenge_id),
            "title": event.title,
            "author": event.author,
            "stage": IdeaStatus.SUBMITTED.value,
            "reached": [IdeaStatus.SUBMITTED.value],
            "owner": None,
            "core_process": None,
            "external_ref": None,
            "decision_reason": None,
            "impact": None,
            "progress_notes": 0,
            "transitions": [
                {"stage": IdeaStatus.SUBMITTED.value, "at": event.timestamp.isoformat()}
            ],
        },
    )


def _edited(rows: Rows, event: Any) -> None:
    rows.touch("ideas", key_of(event.originator_id))["title"] = event.title


def _progress(rows: Rows, event: Any) -> None:
    rows.touch("ideas", key_of(event.originator_id))["progress_notes"] += 1


def _reassigned(rows: Rows, event: Any) -> None:
    rows.touch("ideas", key_of(event.originator_id))["owner"] = event.owner


def _merge_undone(rows: Rows, event: Any) -> None:
    idea = rows.touch("ideas", key_of(event.originator_id))
    previous = [t for t in idea["transitions"] if t["stage"] != IdeaStatus.MERGED.value]
    _move(idea, previous[-1]["stage"] if previous else IdeaStatus.SUBMITTED.value, event)


def _status_changed(rows: Rows, event: Any) -> None:
    idea = rows.touch("ideas", key_of(event.originator_id))
    _move(idea, STATUS_OF[type(event)].value, event)
    if isinstance(event, Idea.Rejected | Idea.Abandoned):
        idea["decision_reason"] = event.reason
    elif isinstance(event, Idea.TakenOver):
        idea.update(
            owner=event.owner, core_process=event.core_process, external_ref=event.external_ref
        )
    elif isinstance(event, Idea.Implemented):
        idea["impact"] = event.impact


def _move(idea: dict[str, Any], stage: str, event: Any) -> None:
    idea["stage"] = stage
    idea["transitions"].append({"stage": stage, "at": event.timestamp.isoformat()})
    if stage not in idea["reached"]:
        idea["reached"].append(stage)


def time_in_stages(idea: dict[str, Any], now: datetime) -> dict[str, float]:
    """Days spent in each stage so far (the current stage counts up to ``now``)."""
    spent: dict[str, float] = {}
    transitions = idea["transitions"]
    for current, following in zip(transitions, [*transitions[1:], None], strict=True):
        start = datetime.fromisoformat(current["at"])
        end = datetime.fromisoformat(following["at"]) if following else now
        days = max((end - start).total_seconds(), 0.0) / 86400
        spent[current["stage"]] = spent.get(current["stage"], 0.0) + days
    return spent


def days_in_stage(idea: dict[str, Any], now: datetime) -> float:
    """Days since the idea entered its current stage, to one decimal."""
    since = datetime.fromisoformat(idea["transitions"][-1]["at"])
    return round(max((now - since).total_seconds(), 0.0) / 86400, 1)


def funnel_view(
    rows: Rows, now: datetime, challenge_id: str | None = None, stage: str | None = None
) -> dict[str, Any]:
    """The funnel's steps, and each idea (in ``stage``, if given) with its days in stage."""
    ideas = [
        {**idea, "days_in_stage": days_in_stage(idea, now)}
        for idea in ideas_in(rows, challenge_id, stage)
    ]
    return {"funnel": funnel(rows, challenge_id), "ideas": ideas}


def funnel(rows: Rows, challenge_id: str | None = None) -> list[dict[str, Any]]:
    """Counts of ideas that reached each funnel step, and the conversion from the step before.

    Merged duplicates and withdrawn ideas are left out: they never had a decision to make.
    """
    ideas = [
        i
        for i in rows.table("ideas").values()
        if (challenge_id is None or i["challenge_id"] == challenge_id)
        and i["stage"] not in (IdeaStatus.MERGED.value, IdeaStatus.WITHDRAWN.value)
    ]
    steps = []
    previous = None
    for step in FUNNEL:
        if step == "submitted":
            count = len(ideas)
        else:
            count = sum(1 for i in ideas if REACHED[step] & set(i["reached"]))
        conversion: float | None = (count / previous) if previous else None
        steps.append({"step": step, "ideas": count, "conversion": conversion})
        previous = count
    return steps


def ideas_in(
    rows: Rows, challenge_id: str | None = None, stage: str | None = None
) -> list[dict[str, Any]]:
    found = [
        {"idea_id": key, **idea}
        for key, idea in rows.table("ideas").items()
        if (challenge_id is None or idea["challenge_id"] == challenge_id)
        and (stage is None or idea["stage"] == stage)
    ]
    return sorted(found, key=lambda i: (i["transitions"][0]["at"], i["idea_id"]))
