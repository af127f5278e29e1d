"""Digests: notices held for a day or a week, then sent as one e-mail per person and period.

A notice is held for the period it happened in (UTC days; ISO weeks from Monday), as its
recipient had chosen at that moment; once the period is over, everything held for it becomes
one digest message. A period with nothing held sends nothing. Each notice is in exactly one
digest or sent on its own, never both, whatever the person changes mid-period.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from domain.person import DAILY, WEEKLY
from groundswell.delivery.outbox import PENDING, Message, stamp

DIGEST = "digest"


def period_of(choice: str, at: datetime) -> str:
    """The period a notice at ``at`` is held for: ``daily/2026-03-02`` or ``weekly/2026-W10``."""
    day = at.astimezone(UTC).date()
    if choice == DAILY:
        return f"{DAILY}/{day.isoformat()}"
    assert choice == WEEKLY, choice
    year, week, _ = day.isocalendar()
    return f"{WEEKLY}/{year}-W{week:02d}"


def period_end(key: str) -> datetime:
    """When the period ``key`` is over (its digest can go out)."""
    choice, _, when = key.partition("/")
    if choice == DAILY:
        start = date.fromisoformat(when)
        return datetime.combine(start + timedelta(days=1), datetime.min.time(), UTC)
    year, _, week = when.partition("-W")
    start = date.fromisocalendar(int(year), int(week), 1)
    return datetime.combine(start + timedelta(weeks=1), datetime.min.time(), UTC)


def digest_of(held: list[Message]) -> Message:
    """One digest message for what one person held in one period, in the order it happened."""
    first, last = held[0], held[-1]
    key = str(first.digest)
    counts = Counter(m.kind for m in held)
    items: list[dict[str, Any]] = [{**m.notice, "kind": m.kind} for m in held]
    notice = {
        "to": [first.handle],
        "period": key,
        "items": items,
        "counts": dict(counts),
        "subject_kind": DIGEST,
        "subject_id": key,
        "text": summary(key, len(held)),
    }
    return Message(
        # The first notice held names the digest: one that arrives after its period was
        # already sent (a deliverer far behind) goes out in a digest of its own, not lost.
        str(uuid5(NAMESPACE_URL, f"groundswell:digest:{first.message_id}")),
        first.channel,
        first.handle,
        last.address,
        key,
        DIGEST,
        stamp(period_end(key)),
        notice,
        PENDING,
        0,
        stamp(period_end(key)),
        None,
        None,
    )


def summary(key: str, count: int) -> str:
    choice, _, when = key.partition("/")
    what = "notification" if count == 1 else "notifications"
    return f"Your {choice} digest for {when}: {count} {what}"
