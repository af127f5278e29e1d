"""The desk: for each person, everything waiting on them, across all challenges.

What waits, and on whom:
- a decision on an idea: on the manager who took up its review, until then on the
  challenge's first manager (the same desk the follow-up process reminds);
- a first answer to a comment or build-on: on the idea's team (a reply by the team or a
  manager, marking it helpful or hiding it answers it);
- a review someone was asked for: on that reviewer, until they score the idea;
- the next progress report on an idea in implementation: on its owner;
- a team invitation: on the invitee, until they join.
Each is due by the challenge's follow-up policy (a decision by ``decision_deadline_days``,
a progress report by ``progress_days``, everything else by ``answer_days``), read at read
time, so a changed policy moves every due date at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution, ContributionKind
from domain.idea import Idea
from projections.follow_up import POLICY_TERMS, challenge_terms, manager_added, policy_of
from projections.projection import Handler
from projections.rows import Rows, add_sorted, key_of

NEEDS_ANSWER = {ContributionKind.COMMENT.value, ContributionKind.BUILD_ON.value}
DECIDED = (Idea.Accepted, Idea.Rejected)
GONE = (Idea.Withdrawn, Idea.MergedInto)


class DeskProjection:
    """Tables: ``challenges`` (managers, deadline and policy terms), ``ideas`` (title,
    challenge, team, lead, owner, whether decided, the keys waiting on it), ``waiting``
    (item key → what waits, since when, on whom), ``desks`` (handle → sorted item keys)."""

    name = "desk"
    version = 2  # 2: each challenge lists its ideas (archiving reads rows by key)

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: challenge_terms,
            Challenge.Edited: challenge_terms,
            Challenge.ManagerAdded: manager_added,
            Challenge.FollowUpPolicySet: _policy_set,
            Challenge.Archived: _archived,
            Idea.Submitted: _submitted,
            Idea.TeamMemberInvited: _invited,
            Idea.TeamMemberJoined: _joined,
            Idea.ReviewerAsked: _reviewer_asked,
            Idea.ReviewStarted: _review_started,
            Idea.TakenOver: _taken_over,
            Idea.ProgressReported: _progress_reported,
            Idea.Implemented: _implementation_ended,
            Idea.Abandoned: _implementation_ended,
            Idea.MergeUndone: _merge_undone,
            **{decided: _decided for decided in DECIDED},
            **{gone: _gone for gone in GONE},
            Contribution.Added: _contribution_added,
            Contribution.MarkedHelpful: _contribution_answered,
            Contribution.Hidden: _contribution_answered,
        }


# -- challenges ---------------------------------------------------------------------------


def _policy_set(rows: Rows, event: Any) -> None:
    challenge = rows.touch("challenges", key_of(event.originator_id))
    challenge["policy"] = {name: getattr(event, name) for name in POLICY_TERMS}


def _archived(rows: Rows, event: Any) -> None:
    """Nothing waits on an archived challenge. Its ideas are read by key (a fold fed from
    Kafka reads rows by key, never whole tables)."""
    challenge = rows.get("challenges", key_of(event.originator_id)) or {}
    for idea_id in challenge.get("ideas", []):
        idea = rows.get("ideas", idea_id) or {"open": []}
        for key in [idea_id, *idea["open"]]:
            _close(rows, key)


# -- ideas ----------------------------------------------------------------------------------


def _submitted(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    challenge_id = key_of(event.challenge_id)
    rows.put(
        "ideas",
        idea_id,
        {
            "title": event.title,
            "challenge_id": challenge_id,
            "team": [event.author],
            "lead": None,
            "owner": None,
            "decided": False,
            "open": [],
        },
    )
    challenge = rows.get("challenges", challenge_id) or {"managers": []}
    first = challenge["managers"][:1]
    if rows.get("challenges", challenge_id) is not None:
        rows.touch("challenges", challenge_id).setdefault("ideas", []).append(idea_id)
    _wait(rows, event, "decision", idea_id, idea_id, first)


def _invited(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    _wait(rows, event, "invitation", f"{idea_id}/invitation/{event.invitee}", idea_id, [
        event.invitee
    ])  # fmt: skip


def _joined(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    idea = rows.touch("ideas", idea_id)
    idea["team"].append(event.member)
    _close(rows, f"{idea_id}/invitation/{event.member}")
    for key in list(idea["open"]):
        if rows.get("waiting", key)["kind"] == "answer":
            _add_person(rows, key, event.member)


def _reviewer_asked(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    _wait(rows, event, "review", f"{idea_id}/review/{event.reviewer}", idea_id, [event.reviewer])


def _review_started(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    rows.touch("ideas", idea_id)["lead"] = event.actor
    waiting = rows.get("waiting", idea_id)
    if waiting is not None and not waiting.get("closed"):
        for person in list(waiting["people"]):
            _remove_person(rows, idea_id, person)
        _add_person(rows, idea_id, event.actor)


def _decided(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    rows.touch("ideas", idea_id)["decided"] = True
    _close(rows, idea_id)


def _gone(rows: Rows, event: Any) -> None:
    # Withdrawn or merged: no decision, review or invitation waits any more; what others
    # asked on it still waits for an answer (as the follow-up counts it).
    idea_id = key_of(event.originator_id)
    for key in [idea_id, *rows.get("ideas", idea_id)["open"]]:
        if rows.get("waiting", key)["kind"] != "answer":
            _close(rows, key)


def _merge_undone(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    idea = rows.get("ideas", idea_id)
    if not idea["decided"]:
        managers = (rows.get("challenges", idea["challenge_id"]) or {"managers": []})["managers"]
        _wait(
            rows,
            event,
            "decision",
            idea_id,
            idea_id,
            [idea["lead"]] if idea["lead"] else managers[:1],
        )


def _taken_over(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    rows.touch("ideas", idea_id)["owner"] = event.owner
    _wait(rows, event, "progress", f"{idea_id}/progress", idea_id, [event.owner])


def _progress_reported(rows: Rows, event: Any) -> None:
    waiting = rows.touch("waiting", f"{key_of(event.originator_id)}/progress")
    if waiting is not None and not waiting.get("closed"):
        waiting["since"] = event.timestamp.isoformat()  # the next report is due from now


def _implementation_ended(rows: Rows, event: Any) -> None:
    _close(rows, f"{key_of(event.originator_id)}/progress")


# -- contributions --------------------------------------------------------------------------


def _contribution_added(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.idea_id)
    idea = rows.get("ideas", idea_id)
    if idea is None:
        return
    if event.kind == ContributionKind.REVIEW_SCORE.value:
        _close(rows, f"{idea_id}/review/{event.author}")
        return
    if event.kind not in NEEDS_ANSWER:
        return
    challenge = rows.get("challenges", idea["challenge_id"]) or {"managers": []}
    if event.author in idea["team"] or event.author in challenge["managers"]:
        # A reply answers what others asked on this idea (not the replier's own questions).
        for key in list(idea["open"]):
            waiting = rows.get("waiting", key)
            if waiting["kind"] == "answer" and waiting["author"] != event.author:
                _close(rows, key)
        return
    key = key_of(event.originator_id)
    _wait(rows, event, "answer", key, idea_id, list(idea["team"]), author=event.author)
    rows.touch("waiting", key)["title"] = event.body[:80]


def _contribution_answered(rows: Rows, event: Any) -> None:
    _close(rows, key_of(event.originator_id))


# -- the waiting items and the desks --------------------------------------------------------


def _wait(
    rows: Rows,
    event: Any,
    kind: str,
    key: str,
    idea_id: str,
    people: list[str],
    author: str = "",
) -> None:
    idea = rows.touch("ideas", idea_id)
    _close(rows, key)  # asked again (invited twice, a merge undone): one item, new since
    rows.put(
        "waiting",
        key,
        {
            "kind": kind,
            "challenge_id": idea["challenge_id"],
            "idea_id": idea_id,
            "title": idea["title"],
            "author": author,
            "since": event.timestamp.isoformat(),
            "people": [],
        },
    )
    if key != idea_id and key not in idea["open"]:
        idea["open"].append(key)
    for person in people:
        _add_person(rows, key, person)


def _add_person(rows: Rows, key: str, person: str) -> None:
    waiting = rows.touch("waiting", key)
    if person not in waiting["people"]:
        add_sorted(waiting["people"], person)
        add_sorted(rows.row("desks", person, list), key)


def _remove_person(rows: Rows, key: str, person: str) -> None:
    waiting = rows.touch("waiting", key)
    waiting["people"].remove(person)
    desk = rows.touch("desks", person)
    if desk is not None and key in desk:
        desk.remove(key)  # an empty desk stays a row: see _close


def _close(rows: Rows, key: str) -> None:
    waiting = rows.get("waiting", key)
    if waiting is None or waiting.get("closed"):
        return
    for person in list(waiting["people"]):
        _remove_person(rows, key, person)
    # Closed rows are kept, not deleted: a deleted last row would leave an empty table
    # that a copy loaded from a store does not have (rows compare equal after a restart).
    rows.touch("waiting", key)["closed"] = True
    idea = rows.touch("ideas", waiting["idea_id"])
    if idea is not None and key in idea["open"]:
        idea["open"].remove(key)


# -- reading -------------------------------------------------------------------------------

TERM_OF = {
    "decision": "decision_deadline_days",
    "answer": "answer_days",
    "review": "answer_days",
    "invitation": "answer_days",
    "progress": "progress_days",
}


def due_at(rows: Rows, waiting: dict[str, Any]) -> datetime:
    challenge = rows.get("challenges", waiting["challenge_id"]) or {}
    term = TERM_OF[waiting["kind"]]
    if term == "decision_deadline_days":
        days = challenge.get(term, 30)
    else:
        days = policy_of(challenge)[term]
    return datetime.fromisoformat(waiting["since"]) + timedelta(days=days)


def desk(rows: Rows, handle: str, now: datetime) -> list[dict[str, Any]]:
    """Everything waiting on ``handle``: what, since when, due when, overdue by how many
    days (0 while not due); the most overdue first."""
    found = []
    for key in rows.get("desks", handle) or ():
        waiting = rows.get("waiting", key)
        due = due_at(rows, waiting)
        challenge = rows.get("challenges", waiting["challenge_id"]) or {}
        overdue = (now - due).total_seconds() / 86400
        found.append(
            {
                "id": key,
                "kind": waiting["kind"],
                "challenge_id": waiting["challenge_id"],
                "challenge": challenge.get("title", ""),
                "idea_id": waiting["idea_id"],
                "title": waiting["title"],
                "author": waiting["author"],
                "since": waiting["since"],
                "due": due.isoformat(),
                "overdue_days": round(max(0.0, overdue), 1),
            }
        )
    return sorted(found, key=lambda item: (item["due"], item["id"]))
