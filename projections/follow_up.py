"""Follow-up: what waits for an answer past the decision deadline, and on whose desk.

An idea is answered by a decision (accepted, rejected), or leaves the queue when it
is withdrawn or merged. A comment or build-on is answered when a challenge manager
or a member of the idea's team replies on the same idea, or a manager marks it
helpful or hides it. Everything else waits, and the wait is counted.

The follow-up process reads these rows too: each challenge's follow-up policy, the
progress reports due from owners (kind ``progress``, one item per period between
reports), who took up each idea's review (its lead), and which reminders and escalations
(``steps``) the process recorded for each item, and whether it closed the item.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution, ContributionKind
from domain.follow_up import FollowUp
from domain.follow_up_policy import FollowUpPolicy
from domain.idea import Idea
from projections.projection import Handler
from projections.rows import Rows, key_of

ANSWERS = (Idea.Accepted, Idea.Rejected, Contribution.MarkedHelpful, Contribution.Hidden)
LEAVES_QUEUE = (Idea.Withdrawn, Idea.MergedInto)
NEEDS_ANSWER = {ContributionKind.COMMENT.value, ContributionKind.BUILD_ON.value}


class FollowUpProjection:
    """Tables: ``challenges`` (deadline days, managers), ``items`` (idea or contribution
    waiting or answered), ``waiting`` (challenge id → unanswered item ids), ``teams``
    (idea id → team), ``open_on_idea`` (idea id → unanswered contribution ids),
    ``progress_of`` (idea id → the key of its progress report now due)."""

    name = "follow_up"
    version = 4  # 3: progress reports and review leads; 4: each item names its idea

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: challenge_terms,
            Challenge.Edited: challenge_terms,
            Challenge.ManagerAdded: manager_added,
            Challenge.Archived: _archived,
            Idea.Submitted: _idea_submitted,
            Idea.TeamMemberJoined: _member_joined,
            Idea.MergeUndone: _merge_undone,
            Idea.ReviewStarted: _review_started,
            Idea.TakenOver: _taken_over,
            Idea.ProgressReported: _progress_reported,
            Idea.Implemented: _implementation_ended,
            Idea.Abandoned: _implementation_ended,
            Challenge.FollowUpPolicySet: _policy_set,
            FollowUp.ReminderSent: _step_recorded,
            FollowUp.Escalated: _step_recorded,
            FollowUp.Answered: _follow_up_closed,
            Contribution.Added: _contribution_added,
            **{answer: _answered_by_actor for answer in ANSWERS},
            **{leave: _left_queue for leave in LEAVES_QUEUE},
        }


def challenge_terms(rows: Rows, event: Any) -> None:
    """A challenge's title, decision deadline and first managers (the desk keeps them too)."""
    challenge = rows.row("challenges", key_of(event.originator_id), lambda: {"managers": []})
    challenge["title"] = event.title
    challenge["decision_deadline_days"] = event.decision_deadline_days
    if isinstance(event, Challenge.Drafted):
        challenge["managers"] = list(event.managers)


def _policy_set(rows: Rows, event: Any) -> None:
    challenge = rows.row("challenges", key_of(event.originator_id), lambda: {"managers": []})
    challenge["policy"] = {name: getattr(event, name) for name in POLICY_TERMS}


POLICY_TERMS = tuple(FollowUpPolicy().fields())
DEFAULT_POLICY = FollowUpPolicy().fields()


def policy_of(challenge: dict[str, Any]) -> dict[str, Any]:
    """A challenge row's follow-up policy terms, the defaults until a manager set them."""
    found: dict[str, Any] = challenge.get("policy") or DEFAULT_POLICY
    return found


def _review_started(rows: Rows, event: Any) -> None:
    item = rows.touch("items", key_of(event.originator_id))
    if item is not None:
        item["lead"] = event.actor


def _taken_over(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    idea = rows.get("items", idea_id) or {}
    _open_progress(rows, event, idea_id, 1, idea.get("title", ""), event.owner)


def _open_progress(rows: Rows, event: Any, idea_id: str, n: int, title: str, owner: str) -> None:
    key = f"{idea_id}/progress/{n}"
    _wait(rows, event, "progress", key, title, owner, idea_id)
    item = rows.touch("items", key)
    item["owner"] = owner
    rows.put("progress_of", idea_id, key)


def _progress_reported(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    current = rows.get("progress_of", idea_id)
    if current is None:
        return
    item = rows.get("items", current)
    _answer(rows, current, event, event.actor)
    n = int(current.rsplit("/", 1)[1]) + 1
    _open_progress(rows, event, idea_id, n, item["title"], item["owner"])


def _implementation_ended(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    current = rows.get("progress_of", idea_id)
    if current is not None:
        # The row stays (an implemented or abandoned idea reports no more progress): a
        # deleted row would leave an empty table that a stored copy does not have.
        _answer(rows, current, event, event.actor)


def _step_recorded(rows: Rows, event: Any) -> None:
    item = rows.touch("items", event.item_key)
    if item is not None:
        item.setdefault("steps", {})[event.step] = {
            "at": event.timestamp.isoformat(),
            "to": list(event.to),
        }


def _follow_up_closed(rows: Rows, event: Any) -> None:
    item = rows.touch("items", event.item_key)
    if item is not None:
        item["closed"] = True


def manager_added(rows: Rows, event: Any) -> None:
    rows.touch("challenges", key_of(event.originator_id))["managers"].append(event.manager)


def _archived(rows: Rows, event: Any) -> None:
    # Nobody can answer in an archived challenge any more; what still waited is closed as
    # "left unanswered" — counted apart, never quietly dropped.
    for key in list(rows.get("waiting", key_of(event.originator_id)) or ()):
        _answer(rows, key, event, None)
        rows.touch("items", key)["left_unanswered"] = True


def _idea_submitted(rows: Rows, event: Any) -> None:
    rows.put("teams", key_of(event.originator_id), [event.author])
    key = key_of(event.originator_id)
    _wait(rows, event, "idea", key, event.title, event.author, key)


def _member_joined(rows: Rows, event: Any) -> None:
    rows.row("teams", key_of(event.originator_id), list).append(event.member)


def _answered_by_actor(rows: Rows, event: Any) -> None:
    _answer(rows, key_of(event.originator_id), event, event.actor)


def _left_queue(rows: Rows, event: Any) -> None:
    _answer(rows, key_of(event.originator_id), event, None)


def _merge_undone(rows: Rows, event: Any) -> None:
    key = key_of(event.originator_id)
    item = rows.touch("items", key)
    if item is not None:
        item["answered_at"] = item["answered_by"] = None
        rows.row("waiting", item["challenge_id"], list).append(key)


def _contribution_added(rows: Rows, event: Any) -> None:
    if event.kind not in NEEDS_ANSWER:
        return  # endorsements and scores neither ask nor answer anything
    idea_id = key_of(event.idea_id)
    challenge = rows.get("challenges", key_of(event.challenge_id)) or {"managers": []}
    if event.author in challenge["managers"] or event.author in (rows.get("teams", idea_id) or ()):
        # A reply from the idea's team or a manager answers what others asked on this idea;
        # the replier's own earlier questions keep waiting for someone else.
        still_waiting = []
        for waiting in rows.get("open_on_idea", idea_id) or ():
            item = rows.get("items", waiting)
            if item is None or item["answered_at"] is not None:
                continue
            if item["author"] == event.author:
                still_waiting.append(waiting)
            else:
                _answer(rows, waiting, event, event.author)
        if still_waiting != (rows.get("open_on_idea", idea_id) or []):
            rows.put("open_on_idea", idea_id, still_waiting)
    else:
        key = key_of(event.originator_id)
        _wait(rows, event, "contribution", key, event.body[:80], event.author, idea_id)
        rows.row("open_on_idea", idea_id, list).append(key)


def _wait(
    rows: Rows, event: Any, kind: str, key: str, title: str, author: str, idea_id: str
) -> None:
    rows.row("waiting", key_of(event.challenge_id), list).append(key)
    rows.put(
        "items",
        key,
        {
            "kind": kind,
            "idea_id": idea_id,
            "challenge_id": key_of(event.challenge_id),
            "title": title,
            "author": author,
            "since": event.timestamp.isoformat(),
            "answered_at": None,
            "answered_by": None,
        },
    )


def _answer(rows: Rows, key: str, event: Any, by: str | None) -> None:
    item = rows.get("items", key)
    if item is not None and item["answered_at"] is None:
        item = rows.touch("items", key)
        item["answered_at"] = event.timestamp.isoformat()
        item["answered_by"] = by
        waiting = rows.touch("waiting", item["challenge_id"])
        if waiting is not None and key in waiting:
            waiting.remove(key)


def follow_up_debt(
    rows: Rows, now: datetime, challenge_id: str | None = None, manager: str | None = None
) -> list[dict[str, Any]]:
    """Items unanswered past their challenge's decision deadline, longest wait first."""
    return measured_debt(rows, overdue_keys(rows, now, challenge_id, manager), now)


def _decision_due(rows: Rows, item: dict[str, Any]) -> tuple[dict[str, Any], datetime, datetime]:
    challenge = rows.get("challenges", item["challenge_id"]) or {}
    since = datetime.fromisoformat(item["since"])
    return challenge, since, since + timedelta(days=challenge.get("decision_deadline_days", 30))


def overdue_keys(
    rows: Rows, now: datetime, challenge_id: str | None = None, manager: str | None = None
) -> list[str]:
    """The keys of the items :func:`follow_up_debt` lists at ``now``: the same until new
    events come or the clock passes :func:`next_overdue`."""
    keys = []
    for key, item in rows.table("items").items():
        if item["answered_at"] is not None or item["kind"] == "progress":
            continue
        if challenge_id is not None and item["challenge_id"] != challenge_id:
            continue
        challenge, _, due = _decision_due(rows, item)
        if manager is not None and manager not in challenge.get("managers", []):
            continue
        if now > due:
            keys.append(key)
    return keys


def next_overdue(rows: Rows, now: datetime, challenge_id: str | None = None) -> datetime | None:
    """The last moment before another unanswered item passes its decision deadline (None:
    none will): until then, :func:`overdue_keys` answers the same."""
    dues = [
        due
        for item in rows.table("items").values()
        if item["answered_at"] is None
        and item["kind"] != "progress"
        and (challenge_id is None or item["challenge_id"] == challenge_id)
        and now <= (due := _decision_due(rows, item)[2])
    ]
    return min(dues, default=None)


def measured_debt(rows: Rows, keys: list[str], now: datetime) -> list[dict[str, Any]]:
    """The overdue items ``keys`` with their waits at ``now``, longest wait first."""
    debt = []
    for key in keys:
        item = rows.get("items", key)
        challenge, since, due = _decision_due(rows, item)
        idea = rows.get("items", item.get("idea_id") or key) or {}
        debt.append(
            {
                "id": key,
                **item,
                "idea_title": idea.get("title", ""),
                "challenge": challenge.get("title", ""),
                "desk": challenge.get("managers", []),
                "waited_days": round((now - since).total_seconds() / 86400, 1),
                "overdue_days": round((now - due).total_seconds() / 86400, 1),
            }
        )
    return sorted(debt, key=lambda d: (-d["waited_days"], d["id"]))


def left_unanswered(rows: Rows, challenge_id: str | None = None) -> list[dict[str, Any]]:
    """Items that never got an answer before their challenge was archived."""
    return sorted(
        (
            {"id": key, **item}
            for key, item in rows.table("items").items()
            if item.get("left_unanswered")
            and item["kind"] != "progress"
            and (challenge_id is None or item["challenge_id"] == challenge_id)
        ),
        key=lambda item: (item["since"], item["id"]),
    )


def debt_by_manager(rows: Rows, now: datetime) -> dict[str, int]:
    """How many overdue items sit on each manager's desk."""
    counts: dict[str, int] = {}
    for item in follow_up_debt(rows, now):
        for manager in item["desk"]:
            counts[manager] = counts.get(manager, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def median_days_to_decision(rows: Rows, challenge_id: str | None = None) -> float | None:
    """The median time from submission to decision over decided ideas, in days."""
    waits = [
        (
            datetime.fromisoformat(i["answered_at"]) - datetime.fromisoformat(i["since"])
        ).total_seconds()
        / 86400
        for i in rows.table("items").values()
        if i["kind"] == "idea"
        and i["answered_at"] is not None
        and i["answered_by"] is not None
        and (challenge_id is None or i["challenge_id"] == challenge_id)
    ]
    return round(statistics.median(waits), 2) if waits else None


def debt_summary(
    rows: Rows, now: datetime, challenge_id: str | None = None, manager: str | None = None
) -> dict[str, Any]:
    """What waits past its deadline, how many items on each manager's desk, and the median
    days from submission to decision."""
    debt = follow_up_debt(rows, now, challenge_id, manager)
    return summary_of(debt, median_days_to_decision(rows, challenge_id))


def summary_of(debt: list[dict[str, Any]], median: float | None) -> dict[str, Any]:
    """:func:`debt_summary` of its debt and median."""
    desks = Counter(m for item in debt for m in item["desk"])
    return {
        "debt": debt,
        "by_manager": dict(desks.most_common()),
        "median_days_to_decision": median,
    }
