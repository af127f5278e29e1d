"""What the idea and challenge pages offer to pick from in their forms: people of a role
(searchable lists, so nobody types a handle blindly), the ideas a duplicate may merge
into, the prizes still to award, and where the reader stands on an idea's team.

Read through the API's own route functions where one answers, so a list never shows a
reader what the API would not: only those who may see who is registered get people.
"""

from __future__ import annotations

from typing import Any

from domain.idea import IdeaStatus
from domain.person import Role
from groundswell.http import delivery, follow_up, people
from groundswell.http.auth import Caller
from groundswell.http.common import Api

MANY = 500
GONE = (IdeaStatus.MERGED.value, IdeaStatus.WITHDRAWN.value)
# Ideas that were accepted (and not merged or withdrawn since) may win a prize.
PRIZED = ("accepted", "in implementation", "implemented", "abandoned")


def people_with(api: Api, caller: Caller, role: Role | None, at_least: int) -> list[Any]:
    """Everyone holding ``role`` (None: everyone), for a picker; nobody for a reader the API
    would not tell who is registered."""
    if not caller.sees_identities:
        return []
    found = people.list_people(
        caller, api, department=None, role=role.value if role else None, at_least=at_least,
        limit=MANY, offset=0,
    )  # fmt: skip
    return list(found.items)


def for_idea(
    api: Api, caller: Caller, idea: Any, manages: bool, others: list[dict[str, Any]],
    contributions: list[Any], at_least: int,
) -> dict[str, Any]:  # fmt: skip
    """The idea page's choices for this reader."""
    aggregate = api.engine.idea(idea.id)
    titles = {o["idea_id"]: o["title"] for o in others}
    return {
        "version": idea.version,
        "invited": caller.handle in aggregate.invited,
        "scored": any(
            c.kind == "review-score" and c.author == caller.handle for c in contributions
        ),
        "people": people_with(api, caller, None, at_least) if manages else [],
        "owners": people_with(api, caller, Role.OWNER, at_least) if manages else [],
        "merge_targets": [o for o in others if o["status"] not in GONE] if manages else [],
        "merged_into_title": titles.get(str(idea.merged_into)) if idea.merged_into else None,
        "duplicate_titles": [(str(d), titles.get(str(d), "an idea")) for d in idea.duplicates],
        "asks_to_take_over": caller.has(Role.OWNER)
        and not manages
        and caller.handle not in idea.take_over_asked_by,
    }


def may_manage(caller: Caller, challenge: Any) -> bool:
    """Whether the pages show ``caller`` a challenge's managing forms: its managers and the
    administrators (the engine still decides what each may do)."""
    return caller.handle in challenge.managers or caller.has(Role.ADMIN)


def for_challenge(
    api: Api, caller: Caller, challenge: Any, idea_rows: list[Any], at_least: int
) -> dict[str, Any]:
    """The challenge page's choices for its managers: who may be added as a manager, which
    prizes are left, with the ideas that may win them, and the follow-up policy."""
    if not may_manage(caller, challenge):  # nothing to pick: spare the reads
        return {"managers_to_add": [], "prizes_left": [], "contenders": [], "policy": None}
    aggregate = api.engine.challenge(challenge.id)
    prizes = [
        (rank, points)
        for rank, points in enumerate(challenge.reward_policy.prizes, start=1)
        if rank not in aggregate.prizes_awarded
    ]
    winners = {str(w) for w in aggregate.prize_winners}
    contenders = [i for i in idea_rows if i.status in PRIZED and i.idea_id not in winners]
    return {
        "managers_to_add": [
            p
            for p in people_with(api, caller, Role.MANAGER, at_least)
            if p.handle not in challenge.managers
        ],
        "prizes_left": prizes,
        "policy": follow_up.get_follow_up_policy(challenge.id, caller, api),
        "contenders": contenders,
    }


def for_home(api: Api, caller: Caller) -> dict[str, Any]:
    """My e-mail address, my e-mail choices (as the API lists them) and my quiet hours."""
    return {
        "email_address": api.engine.person(caller.handle).email,
        "email_choices": delivery.my_preferences(caller, api),
        "quiet_hours": api.engine.person(caller.handle).quiet_hours,
    }
