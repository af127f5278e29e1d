"""Implementation status: each idea's stage in the funnel, owner, dates and time per stage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.challenge import Challenge
from domain.idea import Idea, IdeaStatus
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
    version = 1
    handles = frozenset(
        {
            Challenge.Drafted,
            Challenge.Edited,
            Idea.Submitted,
            Idea.Edited,
            Idea.ProgressReported,
            Idea.MergeUndone,
            *STATUS_OF,
        }
    )

    def apply(self, rows: Rows, event: Any) -> None:
        at = event.timestamp.isoformat()
        if isinstance(event, Challenge.Drafted | Challenge.Edited):
            rows.put("challenges", key_of(event.originator_id), {"title": event.title})
            return
        key = key_of(event.originator_id)
        if isinstance(event, Idea.Submitted):
            rows.put(
                "ideas",
                key,
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
                    "transitions": [{"stage": IdeaStatus.SUBMITTED.value, "at": at}],
                },
            )
            return
        idea = rows.get("ideas", key)
        if idea is None:
            return
        idea = dict(idea)
        if isinstance(event, Idea.Edited):
            idea["title"] = event.title
        elif isinstance(event, Idea.ProgressReported):
            idea["progress_notes"] += 1
        elif isinstance(event, Idea.MergeUndone):
            previous = [t for t in idea["transitions"] if t["stage"] != IdeaStatus.MERGED.value]
            _move(idea, previous[-1]["stage"] if previous else IdeaStatus.SUBMITTED.value, at)
        elif type(event) in STATUS_OF:
            _move(idea, STATUS_OF[type(event)].value, at)
            if isinstance(event, Idea.Rejected | Idea.Abandoned):
                idea["decision_reason"] = event.reason
            elif isinstance(event, Idea.TakenOver):
                idea.update(
                    owner=event.owner,
                    core_process=event.core_process,
                    external_ref=event.external_ref,
                )
            elif isinstance(event, Idea.Implemented):
                idea["impact"] = event.impact
        else:
            return
        rows.put("ideas", key, idea)


def _move(idea: dict[str, Any], stage: str, at: str) -> None:
    idea["stage"] = stage
    idea["transitions"] = [*idea["transitions"], {"stage": stage, "at": at}]
    if stage not in idea["reached"]:
        idea["reached"] = [*idea["reached"], stage]


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
