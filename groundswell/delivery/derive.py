"""Deriving the outbox from the event log: the notifications fold, plus who has which address.

The deriver folds the log in memory with the same notifications projection the pages read
(so an e-mail says what the inbox says) and writes one outbox row per notice, recipient and
channel, with the position reached, in one transaction. Its fold starts from the beginning of
the log in every process, but rows are written only past the stored position, and a row
written twice (two deliverers) is kept once: derived idempotently, never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.follow_up import FollowUp
from domain.idea import Idea
from domain.person import DAILY, NOTIFICATION_KINDS, OFF, REMINDERS, WEEKLY, Person
from groundswell.delivery.digests import UTC_ZONE, period_of
from groundswell.delivery.outbox import HELD, PENDING, SKIPPED, Message, Outbox, stamp
from projections.notifications import NotificationsProjection
from projections.projection import apply_all
from projections.rows import Rows, key_of

EMAIL = "email"
WEBHOOK = "webhook"
WEBHOOKS = "webhooks"  # the kind of notice admins get when an endpoint is disabled
CHANNELS = (EMAIL,)
BATCH = 500

# Kinds of notification people choose about; open-ended (a new kind of notice is its own
# kind until named here).
KIND_OF_EVENT: dict[type, str] = {
    FollowUp.ReminderSent: REMINDERS,
    FollowUp.Escalated: REMINDERS,
    Idea.ReviewerAsked: "review-requests",
    Challenge.RewardGranted: "points",
    Contribution.MarkedHelpful: "contributions",
    Contribution.Hidden: "contributions",
    Challenge.MovedToReview: "challenges",
    Challenge.Closed: "challenges",
    Challenge.Archived: "challenges",
}
KINDS = NOTIFICATION_KINDS


def kind_of(event: Any) -> str:
    kind = KIND_OF_EVENT.get(type(event))
    if kind is not None:
        return kind
    if type(event).__qualname__.startswith("Idea."):
        return "ideas"
    return type(event).__qualname__.lower()


# A follow-up step also tells the author of the waiting item (a second notice of the same
# event): that is news on their idea or comment, not a reminder addressed to them.
AUTHOR = "/author"


def message_id(event_id: str, handle: str, channel: str) -> str:
    """The same message always has the same id, however often it is derived or sent."""
    return str(uuid5(NAMESPACE_URL, f"groundswell:delivery:{event_id}:{handle}:{channel}"))


def _registered(rows: Rows, event: Any) -> None:
    rows.put("handles", key_of(event.originator_id), event.handle)
    rows.put("roles", event.handle, list(event.roles))


def _roles_changed(rows: Rows, event: Any) -> None:
    rows.put("roles", rows.get("handles", key_of(event.originator_id)), list(event.roles))


def _email_changed(rows: Rows, event: Any) -> None:
    handle = rows.get("handles", key_of(event.originator_id))
    rows.put("emails", handle, event.email)


def _quiet(rows: Rows, event: Any) -> None:
    handle = rows.get("handles", key_of(event.originator_id))
    hours = [event.start, event.end, event.time_zone] if event.start and event.end else None
    rows.put("quiet", handle, hours)
    rows.put("zones", handle, event.time_zone)  # kept when the quiet hours are cleared


def quiet_until(at: datetime, start: str, end: str, time_zone: str) -> datetime | None:
    """When the quiet hours ``at`` falls in end (None: ``at`` is not in quiet hours)."""
    local = at.astimezone(ZoneInfo(time_zone))
    begins, ends, now = time.fromisoformat(start), time.fromisoformat(end), local.time()
    if begins < ends:
        inside, day = begins <= now < ends, local.date()
    else:  # across midnight
        inside = now >= begins or now < ends
        day = local.date() + timedelta(days=1) if now >= begins else local.date()
    if not inside:
        return None
    return datetime.combine(day, ends, ZoneInfo(time_zone)).astimezone(UTC)


def _disabled(rows: Rows, event: Any) -> None:
    rows.put("disabled", rows.get("handles", key_of(event.originator_id)), event.reason)


def _enabled(rows: Rows, event: Any) -> None:
    rows.put("disabled", rows.get("handles", key_of(event.originator_id)), None)


def _chosen(rows: Rows, event: Any) -> None:
    handle = rows.get("handles", key_of(event.originator_id))
    rows.row("choices", handle, dict)[f"{event.kind}/{event.channel}"] = event.choice


class ContactsFold:
    """Tables: ``handles`` (person id → handle), ``emails`` (handle → address or None),
    ``choices`` (handle → "kind/channel" → choice), ``quiet`` (handle → [start, end, zone]),
    ``zones`` (handle → the time zone they last gave, for their digests' days),
    ``roles`` (handle → roles), ``disabled`` (handle → why an admin disabled them).
    Folded in log order with the notices, so a notice is sent as its recipient had chosen
    when it happened."""

    name = "delivery-contacts"
    version = 2

    def __init__(self) -> None:
        self.handlers = {
            Person.Registered: _registered,
            Person.RolesChanged: _roles_changed,
            Person.EmailChanged: _email_changed,
            Person.NotificationsChosen: _chosen,
            Person.QuietHoursChosen: _quiet,
            Person.Disabled: _disabled,
            Person.Enabled: _enabled,
        }


class Deriver:
    """Writes the outbox rows the event log calls for, once each."""

    def __init__(
        self, engine: Any, outbox: Outbox, clock: Callable[[], datetime], batch: int = BATCH
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.clock = clock
        self.batch = batch
        self.rows = Rows(track_changes=False)
        self.folds = [NotificationsProjection(), ContactsFold()]
        self.position = 0

    def email_of(self, handle: str) -> str | None:
        found = self.rows.get("emails", handle)
        return str(found) if found else None

    def tell_admins(self, key: str, text: str, subject: str, at: datetime) -> list[Message]:
        """E-mails to every administrator about ``key`` (the same ids however often it is
        said), each as they chose for kind ``webhooks``."""
        admins = sorted(
            handle
            for handle, roles in self.rows.table("roles").items()
            if roles and "admin" in roles
        )
        notice = {
            "to": admins,
            "at": at.isoformat(),
            "event_id": key,
            "subject_kind": "webhook",
            "subject_id": subject,
            "challenge_id": None,
            "text": text,
            "points": None,
        }
        return self._emails(notice, WEBHOOKS, stamp(self.clock()))

    def derive(self) -> int:
        """Fold what is new in the log and write the messages it calls for; how many."""
        written = 0
        for batch in self._batches():
            stored = self.outbox.derived_position()
            endpoints = self.outbox.endpoints()
            messages: list[Message] = []
            for position, event in batch:
                for fold in self.folds:
                    apply_all(fold, self.rows, [event], dedupe=False)  # type: ignore[arg-type]
                if position > stored:
                    messages.extend(self._messages(event, endpoints))
            self.outbox.add(messages, batch[-1][0])
            self.position = batch[-1][0]
            written += len(messages)
        return written

    def _batches(self) -> Iterator[Sequence[tuple[int, Any]]]:
        to_event = self.engine.mapper.to_domain_event
        while True:
            found = self.engine.recorder.select_notifications(
                start=self.position + 1, limit=self.batch
            )
            if not found:
                return
            yield [(n.id, to_event(n)) for n in found]
            if len(found) < self.batch:
                return

    def _messages(self, event: Any, endpoints: list[Any]) -> list[Message]:
        messages: list[Message] = []
        notice = self.rows.get("notices", key_of(event.event_id))
        if notice is not None:
            kind = kind_of(event)
            now = stamp(self.clock())
            messages.extend(
                _webhook_message(endpoint, notice, kind, now)
                for endpoint in endpoints
                if endpoint.wants(kind)
            )
            messages.extend(self._emails(notice, kind, now))
        told_author = self.rows.get("notices", key_of(event.event_id) + AUTHOR)
        if told_author is not None:
            kind = "contributions" if told_author["subject_kind"] == "contribution" else "ideas"
            messages.extend(self._emails(told_author, kind, stamp(self.clock()), AUTHOR))
        return messages

    def _emails(self, notice: dict[str, Any], kind: str, now: str, key: str = "") -> list[Message]:
        messages: list[Message] = []
        for handle in notice["to"]:
            points = notice["points"]
            text = notice["text"].format(points=points[handle]) if points else notice["text"]
            told = {**notice, "to": [handle], "text": text, "points": None}
            choices = self.rows.get("choices", handle) or {}
            for channel in CHANNELS:
                address = self.email_of(handle)
                state, why, held, due = PENDING, None, None, now
                chosen = choices.get(f"{kind}/{channel}")
                if kind == REMINDERS and chosen == OFF:
                    # Addressed to them as the one work waits on: at least a weekly digest,
                    # even if they chose "off" before they held that role.
                    chosen = WEEKLY
                if address is None:
                    state, why = SKIPPED, "no e-mail address"
                elif self.rows.get("disabled", handle):
                    # A disabled person may read nothing in groundswell, e-mail included.
                    state, why = SKIPPED, f"{handle} is disabled"
                elif chosen == OFF:
                    state, why = SKIPPED, f"{handle} turned off e-mails about {kind}"
                elif chosen in (DAILY, WEEKLY):
                    # Their days and weeks, in the time zone they gave with quiet hours.
                    zone = self.rows.get("zones", handle) or UTC_ZONE
                    at = datetime.fromisoformat(notice["at"])
                    state, held = HELD, period_of(chosen, at, zone)
                elif self.rows.get("quiet", handle):
                    # E-mailed when the recipient's quiet hours (at the notice's time) end.
                    ends = quiet_until(
                        datetime.fromisoformat(notice["at"]), *self.rows.get("quiet", handle)
                    )
                    due = max(now, stamp(ends)) if ends else now
                messages.append(
                    Message(
                        message_id(notice["event_id"] + key, handle, channel),
                        channel,
                        handle,
                        address,
                        notice["event_id"],
                        kind,
                        notice["at"],
                        told,
                        state,
                        0,
                        due,
                        why,
                        None,
                        held,
                    )
                )
        return messages


def _webhook_message(endpoint: Any, notice: dict[str, Any], kind: str, now: str) -> Message:
    """One message per notice and endpoint; its recipients are in the notice (not in texts
    with points, which differ per person and are left for e-mail)."""
    channel = f"{WEBHOOK}:{endpoint.endpoint_id}"
    told = {**notice, "points": None}
    if notice["points"]:
        told["text"] = notice["text"].replace("{points}", "some")
    return Message(
        message_id(notice["event_id"], "", channel),
        channel,
        channel,  # the "recipient": keeps each endpoint's messages in order
        endpoint.url,
        notice["event_id"],
        kind,
        notice["at"],
        told,
        PENDING,
        0,
        now,
        None,
        None,
    )
