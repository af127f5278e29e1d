"""Notifications: everyone who took part in something hears of each change to it.

Author, team members, commenters, builders-on, endorsers and reviewers of an idea are
all told when its status changes, not only the author; contributors hear what
happened to their contribution; beneficiaries hear of their rewards.
"""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.follow_up import FollowUp
from domain.follow_up_policy import TO_MANAGERS
from domain.idea import Idea
from domain.words import contribution_kind, reward_reason
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
    Idea.OwnerReassigned: "has a new owner for its implementation",
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
    """Tables: ``notices`` (event id → what happened and to whom it is told), ``ideas``
    (idea → title, participants), ``challenges`` (challenge → title, participants).

    One notice per event, listing its recipients, rather than one row per person and
    event: a decision on a popular idea is one row, however many took part.
    """

    name = "notifications"
    version = 7  # 5: plain words; 6: reminders and escalations; 7: the owner an idea is handed to

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
            FollowUp.Opened: _follow_up_opened,
            FollowUp.ReminderSent: _followed_up,
            FollowUp.Escalated: _followed_up,
            **{news: _idea_news for news in IDEA_NEWS},
            Idea.TakenOver: _handed_over,
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
    _notify(rows, [event.reviewer], event, "idea", key_of(event.originator_id), text)


def _idea_news(rows: Rows, event: Any) -> None:
    text = f"“{_idea_title(rows, event)}” {IDEA_NEWS[type(event)]}"
    if isinstance(event, Idea.Rejected | Idea.Abandoned):
        text += f": {event.reason.rstrip('.')}"
    elif isinstance(event, Idea.Implemented):
        text += f": {event.impact.rstrip('.')}"
    elif isinstance(event, Idea.ProgressReported | Idea.Accepted) and event.note:
        text += f": {event.note.rstrip('.')}"
    idea_id = key_of(event.originator_id)
    people = (rows.get("ideas", idea_id) or {"people": {}})["people"]
    _notify(rows, sorted(people), event, "idea", idea_id, text + ".")


def _handed_over(rows: Rows, event: Any) -> None:
    # The owner hears of the hand-over (and of what happens to the idea from then on) with
    # everyone who took part; of the idea only, not of the challenge's stages.
    idea = rows.touch("ideas", key_of(event.originator_id))
    if idea is not None:
        add_sorted(idea["people"].setdefault(event.owner, []), "owner")
    _idea_news(rows, event)


def _contribution_added(rows: Rows, event: Any) -> None:
    _take_part(rows, event, event.author, ROLE_OF_KIND[event.kind], idea_id=key_of(event.idea_id))


def _contribution_news(rows: Rows, event: Any) -> None:
    if isinstance(event, Contribution.MarkedHelpful):
        what = "was marked helpful"
    else:
        what = f"was hidden by a moderator: {event.reason}"
    text = f"Your {contribution_kind(event.kind)} {what}."
    subject = key_of(event.originator_id)
    _notify(rows, [event.author], event, "contribution", subject, text)


def _reward_granted(rows: Rows, event: Any) -> None:
    text = f"You received {{points}} points for the {reward_reason(event.reason)}."
    subject = key_of(event.subject_id)
    paid = {handle: points for handle, points in event.shares.items() if points}
    _notify(rows, sorted(paid), event, event.subject_kind, subject, text, paid)


def _challenge_news(rows: Rows, event: Any) -> None:
    challenge = rows.get("challenges", key_of(event.originator_id)) or _new_challenge()
    text = f"The challenge “{challenge['title']}” {CHALLENGE_NEWS[type(event)]}."
    _notify(rows, challenge["people"], event, "challenge", key_of(event.originator_id), text)


DUE_WORD = {"idea": "decision", "contribution": "answer", "progress": "progress report"}


def _follow_up_opened(rows: Rows, event: Any) -> None:
    rows.put(
        "follow_ups",
        key_of(event.originator_id),
        {
            "kind": event.item_kind,
            "subject": key_of(event.subject_id),
            "title": event.title,
            "author": event.author,
        },
    )


def _followed_up(rows: Rows, event: Any) -> None:
    """The people reminded (or escalated to) hear why; the author hears that someone was."""
    item = rows.get("follow_ups", key_of(event.originator_id))
    if item is None:
        return
    kind = "contribution" if item["kind"] == "contribution" else "idea"
    escalated = isinstance(event, FollowUp.Escalated)
    said = f"{'Escalated to you' if escalated else 'Reminder'}: {event.reason}."
    _notify(rows, list(event.to), event, kind, item["subject"], said)
    if item["kind"] == "progress":
        return  # the owner is the one reminded
    if not escalated:
        who = ", ".join(event.to) + (" has" if len(event.to) == 1 else " have") + " been reminded"
    elif event.step == TO_MANAGERS:
        who = "the challenge's other managers have been told"
    else:
        who = "the sponsor has been told"
    what = "idea" if item["kind"] == "idea" else "comment"
    told = (
        f"Your {what} “{item['title']}” waited {event.overdue_days} days past its "
        f"{DUE_WORD[item['kind']]} date; {who}."
    )
    _notify(rows, [item["author"]], event, kind, item["subject"], told, key="/author")


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


def _notify(
    rows: Rows,
    handles: list[str],
    event: Any,
    kind: str,
    subject: str,
    text: str,
    points: dict[str, int] | None = None,
    key: str = "",
) -> None:
    # People are not told what they just did themselves.
    recipients = [h for h in handles if h != event.actor]
    if not recipients:
        return
    event_id = key_of(event.event_id)
    rows.put(
        "notices",
        event_id + key,
        {
            "to": recipients,
            "at": event.timestamp.isoformat(),
            "event_id": event_id,
            "subject_kind": kind,
            "subject_id": subject,
            "challenge_id": key_of(event.challenge_id) if event.challenge_id else None,
            "text": text,
            "points": points,
        },
    )


def inbox(rows: Rows, handle: str, limit: int | None = None) -> list[dict[str, Any]]:
    """One person's notifications, newest first."""
    notes = []
    for notice in rows.table("notices").values():
        if handle in notice["to"]:
            points = notice["points"]
            text = notice["text"].format(points=points[handle]) if points else notice["text"]
            notes.append(
                {
                    "handle": handle,
                    "at": notice["at"],
                    "event_id": notice["event_id"],
                    "subject_kind": notice["subject_kind"],
                    "subject_id": notice["subject_id"],
                    "challenge_id": notice["challenge_id"],
                    "text": text,
                }
            )
    notes.sort(key=lambda n: (n["at"], n["event_id"]), reverse=True)
    return notes[:limit] if limit else notes
