"""A challenge's terms: what a manager sets while drafting, checked field by field."""

from __future__ import annotations

from typing import Any

from domain.reward_policy import RewardPolicy
from domain.validation import NAME_MAX, TITLE_MAX, days, iso_date, names, text


def checked_terms(
    *,
    title: object,
    question: object,
    sponsor: object,
    target_departments: object,
    submission_deadline: object,
    decision_deadline_days: object,
    accepted_idea_points: object = 0,
    implemented_idea_points: object = 0,
    helpful_contribution_points: object = 0,
    prize_points: object = (),
) -> dict[str, Any]:
    """Validate a challenge's terms; the result is exactly the fields of its events."""
    policy = RewardPolicy.checked(
        accepted_idea_points, implemented_idea_points, helpful_contribution_points, prize_points
    )
    return {
        "title": text("title", title, max_len=TITLE_MAX),
        "question": text("question", question),
        "sponsor": text("sponsor", sponsor, max_len=NAME_MAX),
        "target_departments": names("target_departments", target_departments),
        "submission_deadline": iso_date("submission_deadline", submission_deadline),
        "decision_deadline_days": days("decision_deadline_days", decision_deadline_days),
        "accepted_idea_points": policy.accepted_idea,
        "implemented_idea_points": policy.implemented_idea,
        "helpful_contribution_points": policy.helpful_contribution,
        "prize_points": list(policy.prizes),
    }


TERM_NAMES = (
    "title",
    "question",
    "sponsor",
    "target_departments",
    "submission_deadline",
    "decision_deadline_days",
    "accepted_idea_points",
    "implemented_idea_points",
    "helpful_contribution_points",
    "prize_points",
)

REQUIRED_TERMS = TERM_NAMES[:6]
