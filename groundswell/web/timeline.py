"""An idea's story (the audit timeline of its events) told in sentences a person reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.words import contribution_kind, reward_reason
from groundswell.audit.history import TimelineEntry

Fields = Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    at: datetime
    chapter: str
    text: str
    detail: str | None  # free text the person wrote (a note, reason, comment), if any


def _reward(f: Fields, who: Callable[[str], str]) -> str:
    reason = reward_reason(f["reason"])
    shares = ", ".join(f"{who(h)} {p}" for h, p in sorted(f.get("shares", {}).items()))
    return f"{f['amount']} points granted for the {reason}" + (f" ({shares})" if shares else "")


# event type → (sentence from the fields and the actor, the free text shown under it)
SENTENCES: dict[str, Callable[[Fields, str, Callable[[str], str]], str]] = {
    "Idea.Submitted": lambda f, a, w: f"Submitted by {w(f['author'])} ({f['department']})",
    "Idea.Edited": lambda f, a, w: f"Edited by {w(a)}",
    "Idea.TeamMemberInvited": lambda f, a, w: f"{w(a)} invited {w(f['invitee'])} to the team",
    "Idea.TeamMemberJoined": lambda f, a, w: f"{w(f['member'])} joined the team",
    "Idea.ReviewerAsked": lambda f, a, w: f"{w(a)} asked {w(f['reviewer'])} to review",
    "Idea.ReviewStarted": lambda f, a, w: f"Review started by {w(a)}",
    "Idea.Accepted": lambda f, a, w: f"Accepted by {w(a)}",
    "Idea.Rejected": lambda f, a, w: f"Not taken forward — decided by {w(a)}",
    "Idea.Withdrawn": lambda f, a, w: f"Withdrawn by {w(a)}",
    "Idea.MergedInto": lambda f, a, w: f"Merged into another idea by {w(a)}",
    "Idea.MergeUndone": lambda f, a, w: f"Merge undone by {w(a)}",
    "Idea.DuplicateAbsorbed": lambda f, a, w: "A duplicate idea was merged into this one",
    "Idea.DuplicateReleased": lambda f, a, w: "A merged duplicate was released",
    "Idea.TakenOver": lambda f, a, w: (
        f"Handed over to {w(f['owner'])} — {f['core_process']}"
        + (f", ref. {f['external_ref']}" if f.get("external_ref") else "")
    ),
    "Idea.TakeOverRequested": lambda f, a, w: (
        f"{w(f['owner'])} asked to take it over — {f['core_process']}"
    ),
    "Idea.OwnerReassigned": lambda f, a, w: (
        f"Given to {w(f['owner'])} instead of {w(f['previous_owner'])} by {w(a)}"
    ),
    "Idea.ProgressReported": lambda f, a, w: f"Progress reported by {w(a)}",
    "Idea.Implemented": lambda f, a, w: f"Implemented — reported by {w(a)}",
    "Idea.Abandoned": lambda f, a, w: f"Implementation abandoned by {w(a)}",
    "Contribution.Added": lambda f, a, w: {
        "comment": f"{w(f['author'])} commented",
        "build-on": f"{w(f['author'])} built on it",
        "endorsement": f"{w(f['author'])} endorsed it",
        "review-score": f"{w(f['author'])} gave a review score of {f.get('score')} / 5",
    }.get(f["kind"], f"{w(f['author'])} added a {contribution_kind(f['kind'])}"),
    "Contribution.MarkedHelpful": lambda f, a, w: (
        f"{w(a)} marked {w(f['author'])}'s {contribution_kind(f['kind'])} as helpful"
    ),
    "Contribution.Hidden": lambda f, a, w: (
        f"{w(a)} hid {w(f['author'])}'s {contribution_kind(f['kind'])}"
    ),
    "Challenge.RewardGranted": lambda f, a, w: _reward(f, w),
}
FREE_TEXT = ("note", "reason", "impact", "body")


def story(entries: list[TimelineEntry], who: Callable[[str], str], hidden: set[str]) -> list[Step]:
    """The steps of an idea's story, oldest first; the bodies of contributions in ``hidden``
    (ids of hidden contributions the reader may not see) are left out."""
    steps = []
    for entry in entries:
        sentence = SENTENCES.get(entry.event_type)
        if sentence is None:
            continue
        fields = entry.fields
        detail = next((fields[k] for k in FREE_TEXT if fields.get(k)), None)
        if entry.event_type == "Challenge.RewardGranted":
            detail = None  # its reason is a code, already said in words in the sentence
        if entry.event_type == "Contribution.Added" and str(entry.aggregate_id) in hidden:
            detail = "(hidden by a moderator)"
        steps.append(Step(entry.at, entry.chapter, sentence(fields, entry.actor, who), detail))
    return steps
