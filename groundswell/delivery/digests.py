"""Digests: notices held for a day or a week, then sent as one e-mail per person and period.

A notice is held for the period it happened in (days, and ISO weeks from Monday, in the
recipient's time zone: the one of their quiet hours, else UTC), as its recipient had chosen
at that moment; once the period is over, everything held for it becomes
one digest message. A period with nothing held sends nothing. Each notice is in exactly one
digest or sent on its own, never both, whatever the person changes mid-period.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from domain.person import DAILY, WEEKLY
from groundswell.delivery.outbox import PENDING, Message, stamp

DIGEST = "digest"
UTC_ZONE = "UTC"


def period_of(choice: str, at: datetime, time_zone: str = UTC_ZONE) -> str:
    """The period a notice at ``at`` is held for, in ``time_zone``: ``daily/2026-03-02`` or
    ``weekly/2026-W10`` in UTC, ``daily/2026-03-02@Europe/Berlin`` elsewhere."""
    day = at.astimezone(ZoneInfo(time_zone)).date()
    where = "" if time_zone == UTC_ZONE else f"@{time_zone}"
    if choice == DAILY:
        return f"{DAILY}/{day.isoformat()}{where}"
    assert choice == WEEKLY, choice
    year, week, _ = day.isocalendar()
    return f"{WEEKLY}/{year}-W{week:02d}{where}"


def period_end(key: str) -> datetime:
    """When the period ``key`` is over (its digest can go out): the next local midnight, which
    a change to or from daylight saving time moves by an hour in UTC."""
    choice, _, rest = key.partition("/")
    when, _, time_zone = rest.partition("@")
    zone = ZoneInfo(time_zone or UTC_ZONE)
    if choice == DAILY:
        end = date.fromisoformat(when) + timedelta(days=1)
    else:
        year, _, week = when.partition("-W")
        end = date.fromisocalendar(int(year), int(week), 1) + timedelta(weeks=1)
    return datetime.combine(end, datetime.min.time(), zone).astimezone(UTC)


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
    choice, _, rest = key.partition("/")
    when = rest.partition("@")[0]
    what = "notification" if count == 1 else "notifications"
    return f"Your {choice} digest for {when}: {count} {what}"
