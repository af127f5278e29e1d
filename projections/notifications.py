"""Notifications: everyone who took part in something hears of each change to it.

Author, team members, commenters, builders-on, endorsers and reviewers of an idea are
all told when its status changes, not only the author; contributors hear what
happened to their contribution; beneficiaries hear of their rewards.
"""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from domain.person import Person
from projections.projection import Handler
from projections.rows import Rows, add_sorted, key_of

IDEA_NEWS = {
    Idea.ReviewStarted: "is now under review",
    Idea.Accepted: "was accepted",
    Idea.Rejected: "was rejected",
    Idea.Withdrawn: "was withdrawn",
    Idea.MergedInto: "was merged into another idea",
    Idea.MergeUndone: "is no longer merged",
    Idea.TakenOver: "was taken over for implementation",
    Idea.ProgressReported: "has news from its implementation",
    Idea.Implemented: "was implemented",
    Idea.Abandoned: "was abandoned",
}
CHALLENGE_NEWS = {
    Challenge.MovedToReview: "moved to review",
    Challenge.Closed: "was closed",
    Challenge.Archived: "was archived",
}


ROLE_OF_KIND = {
    "comment": "commenter",
    "build-on": "builder-on",
    "endorsement": "endorser",
    "review-score": "reviewer",
}


class NotificationsProjection:
    """Tables: ``inbox`` (handle|event id → notice), ``ideas`` (idea → title, participants),
    ``challenges`` (challenge → title, participants), ``contributions`` (author, kind)."""

    name = "notifications"
    version = 1

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: _challenge_titled,
            Challenge.Edited: _challenge_titled,
            Idea.Submitted: _idea_submitted,
            Idea.TeamMemberJoined: lambda rows, e: _take_part(rows, e, e.member, "team member"),
            Idea.Edited: _idea_edited,
            Idea.ReviewerAsked: _reviewer_asked,
            Contribution.Added: _contribution_added,
            Contribution.MarkedHelpful: _contribution_news,
            Contribution.Hidden: _contribution_news,
            Challenge.RewardGranted: _reward_granted,
            Person.PointsRedeemed: _redeemed,
            **{news: _idea_news for news in IDEA_NEWS},
            **{news: _challenge_news for news in CHALLENGE_NEWS},
        }


def _new_challenge() -> dict[str, Any]:
    return {"title": "", "people": []}


def _challenge_titled(rows: Rows, event: Any) -> None:
    rows.row("challenges", key_of(event.originator_id), _new_challenge)["title"] = event.title


def _idea_submitted(rows: Rows, event: Any) -> None:
    rows.put("ideas", key_of(event.originator_id), {"title": event.title, "people": {}})
    _take_part(rows, event, event.author, "author")


def _idea_edited(rows: Rows, event: Any) -> None:
    rows.touch("ideas", key_of(event.originator_id))["title"] = event.title


def _reviewer_asked(rows: Rows, event: Any) -> None:
    _take_part(rows, event, event.reviewer, "reviewer")
    text = f"You were asked to review “{_idea_title(rows, event)}”."
    _notify(rows, event.reviewer, event, "idea", key_of(event.originator_id), text)


def _idea_news(rows: Rows, event: Any) -> None:
    text = f"“{_idea_title(rows, event)}” {IDEA_NEWS[type(event)]}"
    if isinstance(event, Idea.Rejected | Idea.Abandoned):
        text += f": {event.reason}"
    elif isinstance(event, Idea.Implemented):
        text += f": {event.impact}"
    elif isinstance(event, Idea.ProgressReported):
        text += f": {event.note}"
    idea_id = key_of(event.originator_id)
    for handle in sorted((rows.get("ideas", idea_id) or {"people": {}})["people"]):
        _notify(rows, handle, event, "idea", idea_id, text + ".")


def _contribution_added(rows: Rows, event: Any) -> None:
    rows.put(
        "contributions",
        key_of(event.originator_id),
        {"author": event.author, "idea_id": key_of(event.idea_id), "kind": event.kind},
    )
    _take_part(rows, event, event.author, ROLE_OF_KIND[event.kind], idea_id=key_of(event.idea_id))


def _contribution_news(rows: Rows, event: Any) -> None:
    contribution = rows.get("contributions", key_of(event.originator_id))
    if isinstance(event, Contribution.MarkedHelpful):
        what = "was marked helpful"
    else:
        what = f"was hidden by a moderator: {event.reason}"
    text = f"Your {contribution['kind']} {what}."
    _notify(rows, contribution["author"], event, "contribution", key_of(event.originator_id), text)


def _reward_granted(rows: Rows, event: Any) -> None:
    for handle, points in event.shares.items():
        text = f"You received {points} points ({event.reason})."
        _notify(rows, handle, event, event.subject_kind, key_of(event.subject_id), text)


def _challenge_news(rows: Rows, event: Any) -> None:
    challenge = rows.get("challenges", key_of(event.originator_id)) or _new_challenge()
    text = f"The challenge “{challenge['title']}” {CHALLENGE_NEWS[type(event)]}."
    for handle in challenge["people"]:
        _notify(rows, handle, event, "challenge", key_of(event.originator_id), text)


def _redeemed(rows: Rows, event: Any) -> None:
    text = f"You redeemed {event.points} points for {event.item}."
    _notify(rows, event.actor, event, "person", event.actor, text)


def _take_part(rows: Rows, event: Any, handle: str, role: str, idea_id: str | None = None) -> None:
    idea = rows.touch("ideas", idea_id or key_of(event.originator_id))
    if idea is None:
        return
    roles = idea["people"].setdefault(handle, [])
    add_sorted(roles, role)
    challenge = rows.row("challenges", key_of(event.challenge_id), _new_challenge)
    add_sorted(challenge["people"], handle)


def _idea_title(rows: Rows, event: Any) -> str:
    return str((rows.get("ideas", key_of(event.originator_id)) or {}).get("title", "an idea"))


def _notify(rows: Rows, handle: str, event: Any, kind: str, subject: str, text: str) -> None:
    if handle == event.actor:
        return  # people are not told what they just did themselves
    event_id = key_of(event.event_id)
    rows.put(
        "inbox",
        f"{handle}|{event_id}",
        {
            "handle": handle,
            "at": event.timestamp.isoformat(),
            "event_id": event_id,
            "subject_kind": kind,
            "subject_id": subject,
            "challenge_id": key_of(event.challenge_id) if event.challenge_id else None,
            "text": text,
        },
    )


def inbox(rows: Rows, handle: str, limit: int | None = None) -> list[dict[str, Any]]:
    """One person's notifications, newest first."""
    notes = [n for n in rows.table("inbox").values() if n["handle"] == handle]
    notes.sort(key=lambda n: (n["at"], n["event_id"]), reverse=True)
    return notes[:limit] if limit else notes
