"""A challenge's follow-up policy: when each kind of item is due, and how waiting climbs.

An item is due a fixed number of days after it began to wait: an idea's decision
(``decision_deadline_days``, one of the challenge's terms), a first answer on a comment
or build-on (``answer_days``), the next progress report on an idea in implementation
(``progress_days``). From the due moment on, the desk is reminded at once and then every
``remind_every_days``; after ``escalate_to_managers_after_days`` overdue the challenge's
other managers are told, and after ``escalate_to_sponsor_after_days`` the sponsor, when
the sponsor is registered as a person (``sponsor_handle``). 0 turns an escalation off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.errors import InvalidInput
from domain.validation import NAME_MAX, days, text

REMINDER = "reminder"
TO_MANAGERS = "escalation-managers"
TO_SPONSOR = "escalation-sponsor"


@dataclass(frozen=True)
class FollowUpPolicy:
    """The follow-up terms of one challenge; the defaults apply until a manager sets them."""

    answer_days: int = 7
    progress_days: int = 30
    remind_every_days: int = 7
    escalate_to_managers_after_days: int = 7
    escalate_to_sponsor_after_days: int = 21
    sponsor_handle: str = ""

    @classmethod
    def checked(cls, **fields: Any) -> FollowUpPolicy:
        """The policy ``fields`` describe, each checked; refused with the field at fault."""
        unknown = sorted(set(fields) - set(POLICY_FIELDS))
        if unknown:
            raise InvalidInput(
                f"a follow-up policy has no term {unknown[0]!r}; terms are "
                f"{', '.join(POLICY_FIELDS)}.",
                field=unknown[0],
            )
        base = asdict(cls())
        merged = {**base, **fields}
        sponsor = merged["sponsor_handle"]
        policy = cls(
            answer_days=days("answer_days", merged["answer_days"]),
            progress_days=days("progress_days", merged["progress_days"]),
            remind_every_days=days("remind_every_days", merged["remind_every_days"]),
            escalate_to_managers_after_days=days(
                "escalate_to_managers_after_days",
                merged["escalate_to_managers_after_days"],
                low=0,
            ),
            escalate_to_sponsor_after_days=days(
                "escalate_to_sponsor_after_days", merged["escalate_to_sponsor_after_days"], low=0
            ),
            sponsor_handle=""
            if sponsor in (None, "")
            else text("sponsor_handle", sponsor, max_len=NAME_MAX),
        )
        managers, sponsor_after = (
            policy.escalate_to_managers_after_days,
            policy.escalate_to_sponsor_after_days,
        )
        if managers and sponsor_after and sponsor_after <= managers:
            raise InvalidInput(
                f"the sponsor is told after the other managers: escalate_to_sponsor_after_days "
                f"({sponsor_after}) must be more than escalate_to_managers_after_days "
                f"({managers}).",
                field="escalate_to_sponsor_after_days",
            )
        return policy

    def fields(self) -> dict[str, Any]:
        """The policy as the fields of ``Challenge.FollowUpPolicySet``."""
        return asdict(self)


POLICY_FIELDS = tuple(asdict(FollowUpPolicy()))


@dataclass(frozen=True)
class Step:
    """One thing the follow-up process does for a waiting item, once: a reminder to the
    desk, or an escalation one rung up. ``name`` identifies it within the item."""

    name: str
    at: datetime

    @property
    def kind(self) -> str:
        return REMINDER if self.name.startswith(REMINDER) else "escalation"


def steps_due(
    policy: FollowUpPolicy,
    due: datetime,
    now: datetime,
    *,
    managers_to_tell: bool,
    sponsor_to_tell: bool,
) -> list[Step]:
    """Every step the policy implies for an item due at ``due`` and still waiting at
    ``now``, oldest first (a reminder before an escalation at the same moment).

    Reminders fall at ``due`` and then every ``remind_every_days``; each escalation once,
    that many days after ``due``, and only when there is someone to tell.
    """
    if now < due:
        return []
    every = timedelta(days=policy.remind_every_days)
    count = int((now - due) / every) + 1
    found = [Step(f"{REMINDER}-{n + 1}", due + n * every) for n in range(count)]
    ladder = (
        (TO_MANAGERS, policy.escalate_to_managers_after_days, managers_to_tell),
        (TO_SPONSOR, policy.escalate_to_sponsor_after_days, sponsor_to_tell),
    )
    for name, after, anyone in ladder:
        at = due + timedelta(days=after)
        if after and anyone and at <= now:
            found.append(Step(name, at))
    return sorted(found, key=lambda step: (step.at, step.kind != REMINDER))
