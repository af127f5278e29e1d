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
from projections.rows import Rows, key_of

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


class NotificationsProjection:
    """Tables: ``inbox`` (handle|event id → notice), ``ideas`` (idea → title, participants),
    ``challenges`` (challenge → title, participants)."""

    name = "notifications"
    version = 1
    handles = frozenset(
        {
            Challenge.Drafted,
            Challenge.Edited,
            Idea.Submitted,
            Idea.TeamMemberJoined,
            Idea.Edited,
            Idea.ReviewerAsked,
            *IDEA_NEWS,
            Contribution.Added,
            Contribution.MarkedHelpful,
            Contribution.Hidden,
            Challenge.RewardGranted,
            *CHALLENGE_NEWS,
            Person.PointsRedeemed,
        }
    )

    def apply(self, rows: Rows, event: Any) -> None:
        if isinstance(event, Challenge.Drafted | Challenge.Edited):
            challenge = dict(rows.get("challenges", key_of(event.originator_id)) or {"people": []})
            rows.put("challenges", key_of(event.originator_id), {**challenge, "title": event.title})
        elif isinstance(event, Idea.Submitted):
            rows.put("ideas", key_of(event.originator_id), {"title": event.title, "people": {}})
            self._take_part(rows, key_of(event.originator_id), event.author, "author", event)
        elif isinstance(event, Idea.TeamMemberJoined):
            self._take_part(rows, key_of(event.originator_id), event.member, "team member", event)
        elif isinstance(event, Idea.Edited):
            idea = rows.get("ideas", key_of(event.originator_id))
            rows.put("ideas", key_of(event.originator_id), {**idea, "title": event.title})
        elif isinstance(event, Idea.ReviewerAsked):
            self._take_part(rows, key_of(event.originator_id), event.reviewer, "reviewer", event)
            _notify(
                rows,
                event.reviewer,
                event,
                "idea",
                key_of(event.originator_id),
                f"You were asked to review “{_idea_title(rows, event)}”.",
            )
        elif type(event) in IDEA_NEWS:
            text = f"“{_idea_title(rows, event)}” {IDEA_NEWS[type(event)]}"
            if isinstance(event, Idea.Rejected | Idea.Abandoned):
                text += f": {event.reason}"
            elif isinstance(event, Idea.Implemented):
                text += f": {event.impact}"
            elif isinstance(event, Idea.ProgressReported):
                text += f": {event.note}"
            idea = rows.get("ideas", key_of(event.originator_id)) or {"people": {}}
            for handle in sorted(idea["people"]):
                _notify(rows, handle, event, "idea", key_of(event.originator_id), text + ".")
        elif isinstance(event, Contribution.Added):
            rows.put(
                "contributions",
                key_of(event.originator_id),
                {"author": event.author, "idea_id": key_of(event.idea_id), "kind": event.kind},
            )
            role = {
                "comment": "commenter",
                "build-on": "builder-on",
                "endorsement": "endorser",
                "review-score": "reviewer",
            }[event.kind]
            self._take_part(rows, key_of(event.idea_id), event.author, role, event)
        elif isinstance(event, Contribution.MarkedHelpful | Contribution.Hidden):
            contribution = rows.get("contributions", key_of(event.originator_id))
            what = (
                "was marked helpful"
                if isinstance(event, Contribution.MarkedHelpful)
                else (f"was hidden by a moderator: {event.reason}")
            )
            _notify(
                rows,
                contribution["author"],
                event,
                "contribution",
                key_of(event.originator_id),
                f"Your {contribution['kind']} {what}.",
            )
        elif isinstance(event, Challenge.RewardGranted):
            for handle, points in event.shares.items():
                _notify(
                    rows,
                    handle,
                    event,
                    event.subject_kind,
                    key_of(event.subject_id),
                    f"You received {points} points ({event.reason}).",
                )
        elif type(event) in CHALLENGE_NEWS:
            challenge = rows.get("challenges", key_of(event.originator_id)) or {
                "people": [],
                "title": "",
            }
            for handle in challenge["people"]:
                _notify(
                    rows,
                    handle,
                    event,
                    "challenge",
                    key_of(event.originator_id),
                    f"The challenge “{challenge['title']}” {CHALLENGE_NEWS[type(event)]}.",
                )
        elif isinstance(event, Person.PointsRedeemed):
            _notify(
                rows,
                event.actor,
                event,
                "person",
                event.actor,
                f"You redeemed {event.points} points for {event.item}.",
            )

    def _take_part(self, rows: Rows, idea_id: str, handle: str, role: str, event: Any) -> None:
        idea = rows.get("ideas", idea_id)
        if idea is None:
            return
        people = dict(idea["people"])
        people[handle] = sorted(set(people.get(handle, [])) | {role})
        rows.put("ideas", idea_id, {**idea, "people": people})
        key = key_of(event.challenge_id)
        challenge = dict(rows.get("challenges", key) or {"people": [], "title": ""})
        if handle not in challenge["people"]:
            challenge["people"] = sorted([*challenge["people"], handle])
            rows.put("challenges", key, challenge)


def _idea_title(rows: Rows, event: Any) -> str:
    return (rows.get("ideas", key_of(event.originator_id)) or {}).get("title", "an idea")


def _notify(rows: Rows, handle: str, event: Any, kind: str, subject: str, text: str) -> None:
    if handle == event.actor:
        return  # people are not told what they just did themselves
    rows.put(
        "inbox",
        f"{handle}|{event.event_id}",
        {
            "handle": handle,
            "at": event.timestamp.isoformat(),
            "event_id": key_of(event.event_id),
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
