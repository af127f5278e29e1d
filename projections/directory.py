"""The directory: challenges, ideas, contributions and people as lists to browse and filter.

It answers "what is there, and what became of it": every challenge with its stage,
every idea with its status, decision and reason, team and owner, every contribution
with whether it was hidden or marked helpful, every person with department and roles.
A contributor's own view ("my ideas and contributions") is a filter over it.
"""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge, Stage
from domain.contribution import Contribution
from domain.idea import Idea, IdeaStatus
from domain.person import Person
from projections.projection import Handler
from projections.rows import Row, Rows, add_sorted, key_of

CHALLENGE_STAGE = {
    Challenge.Opened: Stage.OPEN,
    Challenge.MovedToReview: Stage.REVIEW,
    Challenge.Closed: Stage.CLOSED,
    Challenge.Archived: Stage.ARCHIVED,
}
IDEA_STATUS = {
    Idea.ReviewStarted: IdeaStatus.UNDER_REVIEW,
    Idea.Accepted: IdeaStatus.ACCEPTED,
    Idea.Rejected: IdeaStatus.REJECTED,
    Idea.Withdrawn: IdeaStatus.WITHDRAWN,
    Idea.MergedInto: IdeaStatus.MERGED,
    Idea.TakenOver: IdeaStatus.IN_IMPLEMENTATION,
    Idea.Implemented: IdeaStatus.IMPLEMENTED,
    Idea.Abandoned: IdeaStatus.ABANDONED,
}
# A challenge's ``ideas`` counts what its funnel counts (projections.implementation.funnel):
# every submitted idea except those withdrawn or merged into another (one definition, so a
# card and the funnel beside it never disagree).
NOT_COUNTED = frozenset({IdeaStatus.WITHDRAWN.value, IdeaStatus.MERGED.value})
TERMS = (
    "title",
    "question",
    "sponsor",
    "target_departments",
    "submission_deadline",
    "decision_deadline_days",
)


class DirectoryProjection:
    """Tables: ``challenges``, ``ideas``, ``contributions`` (by id) and ``people`` (by
    handle; ``person_ids`` maps a person's aggregate id to the handle)."""

    name = "directory"
    version = 2  # 2: a challenge's ideas leave out withdrawn and merged ones

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Person.Registered: _registered,
            Person.PseudonymChosen: lambda r, e: _person(r, e).update(pseudonym=e.pseudonym),
            Person.DepartmentChanged: lambda r, e: _person(r, e).update(department=e.department),
            Person.RolesChanged: lambda r, e: _person(r, e).update(roles=list(e.roles)),
            # Why the person was disabled; None once enabled (absent: never disabled).
            Person.Disabled: lambda r, e: _person(r, e).update(disabled=e.reason),
            Person.Enabled: lambda r, e: _person(r, e).update(disabled=None),
            Challenge.Drafted: _drafted,
            Challenge.Edited: _challenge_edited,
            Challenge.ManagerAdded: _manager_added,
            **{cls: _stage_changed for cls in CHALLENGE_STAGE},
            Idea.Submitted: _submitted,
            Idea.Edited: _idea_edited,
            Idea.TeamMemberJoined: _member_joined,
            Idea.MergeUndone: _merge_undone,
            Idea.ProgressReported: _progress,
            Idea.OwnerReassigned: lambda r, e: _idea(r, e).update(owner=e.owner),
            **{cls: _status_changed for cls in IDEA_STATUS},
            Contribution.Added: _contribution_added,
            Contribution.MarkedHelpful: _marked_helpful,
            Contribution.Hidden: _hidden,
        }


def _registered(rows: Rows, event: Any) -> None:
    rows.put("person_ids", key_of(event.originator_id), event.handle)
    rows.put(
        "people",
        event.handle,
        {
            "handle": event.handle,
            "name": event.name,
            "department": event.department,
            "pseudonym": event.pseudonym,
            "roles": list(event.roles),
            "since": event.timestamp.isoformat(),
        },
    )


def _person(rows: Rows, event: Any) -> Row:
    handle = rows.get("person_ids", key_of(event.originator_id))
    return rows.touch("people", handle) if handle else {}


def _drafted(rows: Rows, event: Any) -> None:
    rows.put(
        "challenges",
        key_of(event.originator_id),
        {
            "challenge_id": key_of(event.originator_id),
            **{term: getattr(event, term) for term in TERMS},
            "stage": Stage.DRAFT.value,
            "managers": list(event.managers),
            "ideas": 0,
            "drafted_at": event.timestamp.isoformat(),
            "updated_at": event.timestamp.isoformat(),
        },
    )


def _challenge(rows: Rows, event: Any) -> Row:
    challenge = rows.touch("challenges", key_of(event.originator_id))
    challenge["updated_at"] = event.timestamp.isoformat()
    return challenge


def _challenge_edited(rows: Rows, event: Any) -> None:
    _challenge(rows, event).update({term: getattr(event, term) for term in TERMS})


def _manager_added(rows: Rows, event: Any) -> None:
    add_sorted(_challenge(rows, event)["managers"], event.manager)


def _stage_changed(rows: Rows, event: Any) -> None:
    _challenge(rows, event)["stage"] = CHALLENGE_STAGE[type(event)].value


def _submitted(rows: Rows, event: Any) -> None:
    at = event.timestamp.isoformat()
    rows.put(
        "ideas",
        key_of(event.originator_id),
        {
            "idea_id": key_of(event.originator_id),
            "challenge_id": key_of(event.challenge_id),
            "title": event.title,
            "description": event.description,
            "author": event.author,
            "department": event.department,
            "team": [event.author],
            "status": IdeaStatus.SUBMITTED.value,
            "decision": None,
            "owner": None,
            "core_process": None,
            "external_ref": None,
            "progress_notes": [],
            "impact": None,
            "merged_into": None,
            "contributions": 0,
            "submitted_at": at,
            "updated_at": at,
        },
    )
    if (challenge := rows.get("challenges", key_of(event.challenge_id))) is not None:
        rows.touch("challenges", key_of(event.challenge_id))
        challenge["ideas"] += 1


def _idea(rows: Rows, event: Any) -> Row:
    idea = rows.touch("ideas", key_of(event.originator_id))
    idea["updated_at"] = event.timestamp.isoformat()
    return idea


def _idea_edited(rows: Rows, event: Any) -> None:
    _idea(rows, event).update(title=event.title, description=event.description)


def _member_joined(rows: Rows, event: Any) -> None:
    team = _idea(rows, event)["team"]  # the author first, then members as they joined
    if event.member not in team:
        team.append(event.member)


def _progress(rows: Rows, event: Any) -> None:
    _idea(rows, event)["progress_notes"].append(
        {"at": event.timestamp.isoformat(), "note": event.note, "by": event.actor}
    )


def _counted(rows: Rows, idea: Row, status: str) -> None:
    """Set an idea's status, keeping its challenge's count of ideas in step."""
    change = (status not in NOT_COUNTED) - (idea["status"] not in NOT_COUNTED)
    idea["status"] = status
    key = idea["challenge_id"]
    if change and rows.get("challenges", key) is not None:
        rows.touch("challenges", key)["ideas"] += change


def _merge_undone(rows: Rows, event: Any) -> None:
    idea = _idea(rows, event)
    _counted(rows, idea, idea.pop("status_before_merge", None) or IdeaStatus.SUBMITTED.value)
    idea["merged_into"] = None


def _status_changed(rows: Rows, event: Any) -> None:
    idea = _idea(rows, event)
    if isinstance(event, Idea.MergedInto):
        idea["status_before_merge"] = idea["status"]
    _counted(rows, idea, IDEA_STATUS[type(event)].value)
    at, by = event.timestamp.isoformat(), event.actor
    if isinstance(event, Idea.Accepted):
        idea["decision"] = {"outcome": "accepted", "reason": event.note, "by": by, "at": at}
    elif isinstance(event, Idea.Rejected):
        idea["decision"] = {"outcome": "rejected", "reason": event.reason, "by": by, "at": at}
    elif isinstance(event, Idea.MergedInto):
        idea["merged_into"] = key_of(event.target_idea_id)
    elif isinstance(event, Idea.TakenOver):
        idea.update(
            owner=event.owner, core_process=event.core_process, external_ref=event.external_ref
        )
    elif isinstance(event, Idea.Implemented):
        idea["impact"] = event.impact
    elif isinstance(event, Idea.Abandoned):
        idea["abandon_reason"] = event.reason


def _contribution_added(rows: Rows, event: Any) -> None:
    rows.put(
        "contributions",
        key_of(event.originator_id),
        {
            "contribution_id": key_of(event.originator_id),
            "idea_id": key_of(event.idea_id),
            "challenge_id": key_of(event.challenge_id) if event.challenge_id else None,
            "kind": event.kind,
            "author": event.author,
            "department": event.department,
            "body": event.body,
            "score": event.score,
            "linked_idea_id": key_of(event.linked_idea_id) if event.linked_idea_id else None,
            "helpful": False,
            "hidden": False,
            "hidden_reason": None,
            "added_at": event.timestamp.isoformat(),
        },
    )
    if rows.get("ideas", key_of(event.idea_id)) is not None:
        rows.touch("ideas", key_of(event.idea_id))["contributions"] += 1


def _marked_helpful(rows: Rows, event: Any) -> None:
    rows.touch("contributions", key_of(event.originator_id))["helpful"] = True


def _hidden(rows: Rows, event: Any) -> None:
    contribution = rows.touch("contributions", key_of(event.originator_id))
    contribution.update(hidden=True, hidden_reason=event.reason)


def listed(rows: Rows, table: str, **filters: str | None) -> list[dict[str, Any]]:
    """The rows of ``table`` whose fields equal every filter given (None: any)."""
    wanted = {k: v for k, v in filters.items() if v is not None}
    return [
        row for row in rows.table(table).values() if all(row.get(k) == v for k, v in wanted.items())
    ]
