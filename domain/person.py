"""A person taking part: department, optional pseudonym, roles, and reward wallet.

Over 400 lines on purpose: an aggregate keeps its explicit event classes beside the rules
that emit them, so an event and the check before it are read together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.base import GroundswellAggregate
from domain.errors import InsufficientBalance, InvalidInput, NotFound, NotPermitted, WrongStage
from domain.validation import (
    NAME_MAX,
    email_address,
    optional_person_name,
    person_name,
    text,
    whole_points,
)

# Kinds of notification people choose about, what each is about in words, the channels,
# and the choices.
NOTIFICATION_KINDS = {
    "ideas": "decisions and news on ideas you took part in",
    "contributions": "what happened to your comments and other contributions",
    "points": "points you received",
    "review-requests": "ideas you were asked to review",
    "challenges": "challenges you took part in moving on",
    "reminders": "reminders and escalations of what waits on your desk",
    "webhooks": "webhook endpoints disabled after failing for a day (administrators)",
}
REMINDERS = "reminders"
CHANNELS = ("email",)
IMMEDIATELY, DAILY, WEEKLY, OFF = "immediately", "daily", "weekly", "off"
CHOICES = (IMMEDIATELY, DAILY, WEEKLY, OFF)
# Reminders and escalations are addressed to the people a decision waits on (managers,
# sponsors, owners): they may bundle them into a digest, but not stop them.
NO_OFF_FOR_REMINDERS = (
    "reminders and escalations cannot be turned off for managers and owners, since work "
    "waits on them: choose immediately, daily or at least a weekly digest."
)

CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")


class Role(StrEnum):
    CONTRIBUTOR = "contributor"
    MANAGER = "manager"
    OWNER = "owner"
    AUDITOR = "auditor"
    ADMIN = "admin"


def person_id(handle: str) -> UUID:
    """People are addressed by handle; their aggregate id follows from it."""
    return uuid5(NAMESPACE_URL, f"groundswell:person:{handle}")


def checked_handle(handle: object) -> str:
    if not isinstance(handle, str) or not HANDLE.match(handle):
        raise InvalidInput(
            "handle must be 1-40 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            field="handle",
        )
    return handle


class RedemptionStatus(StrEnum):
    REQUESTED = "requested"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


@dataclass
class Redemption:
    points: int
    item: str
    item_id: UUID | None
    status: RedemptionStatus = RedemptionStatus.REQUESTED


class Person(GroundswellAggregate):
    """Someone who contributes, manages, owns implementation or audits.

    The wallet lives here so that a redemption is checked against a balance
    guarded by this aggregate's version: two concurrent redemptions cannot both
    spend the same points. Points arrive through ``RewardReceived``, saved in the
    same transaction as the challenge's ``RewardGranted`` that pays them.
    """

    class Registered(GroundswellAggregate.Created):
        handle: str
        name: str
        department: str
        pseudonym: str | None
        roles: list[str]

    class PseudonymChosen(GroundswellAggregate.Event):
        pseudonym: str | None

        def apply(self, person: Person) -> None:
            person.pseudonym = self.pseudonym

    class DepartmentChanged(GroundswellAggregate.Event):
        department: str

        def apply(self, person: Person) -> None:
            person.department = self.department

    class RolesChanged(GroundswellAggregate.Event):
        roles: list[str]

        def apply(self, person: Person) -> None:
            person.roles = list(self.roles)

    class EmailChanged(GroundswellAggregate.Event):
        """The address notifications are e-mailed to (None: none, nothing is e-mailed)."""

        email: str | None

        def apply(self, person: Person) -> None:
            person.email = self.email

    class NotificationsChosen(GroundswellAggregate.Event):
        """How the person wants to hear of one kind of notification over one channel."""

        kind: str
        channel: str
        choice: str

        def apply(self, person: Person) -> None:
            person.notification_choices[f"{self.kind}/{self.channel}"] = self.choice

    class QuietHoursChosen(GroundswellAggregate.Event):
        """Hours (``HH:MM`` in ``time_zone``) when nothing is e-mailed at once; None: none."""

        start: str | None
        end: str | None
        time_zone: str

        def apply(self, person: Person) -> None:
            person.quiet_hours = (
                (self.start, self.end, self.time_zone) if self.start and self.end else None
            )

    class RewardReceived(GroundswellAggregate.Event):
        """Mirror of one share of a ``RewardGranted``; moves no points by itself."""

        paying_challenge_id: UUID
        reason: str
        subject_id: UUID
        points: int

        def apply(self, person: Person) -> None:
            person.balance += self.points
            person.earned += self.points

    class PointsRedeemed(GroundswellAggregate.Event):
        """A redemption requested; its points leave the wallet at once.

        So they cannot be spent twice; they come back if an administrator cancels it.
        Redemptions stored before the catalogue existed have no item id nor redemption id
        (their event id stands for the redemption)."""

        points: int
        item: str
        item_id: UUID | None = None
        redemption_id: UUID | None = None

        def apply(self, person: Person) -> None:
            person.balance -= self.points
            rid = self.redemption_id or self.event_id
            person.redemptions[rid] = Redemption(self.points, self.item, self.item_id)

    class RedemptionFulfilled(GroundswellAggregate.Event):
        """An administrator handed the item over."""

        redemption_id: UUID
        person: str

        def apply(self, person: Person) -> None:
            person.redemptions[self.redemption_id].status = RedemptionStatus.FULFILLED

    class RedemptionCancelled(GroundswellAggregate.Event):
        """An administrator cancelled a redemption: exactly its points come back."""

        redemption_id: UUID
        person: str
        points: int
        reason: str

        def apply(self, person: Person) -> None:
            person.balance += self.points
            person.redemptions[self.redemption_id].status = RedemptionStatus.CANCELLED

    class Disabled(GroundswellAggregate.Event):
        """An administrator disabled the person: they can neither act nor read until
        enabled again (their tokens and sign-ins are refused, their sessions end)."""

        reason: str

        def apply(self, person: Person) -> None:
            person.disabled = self.reason

    class Enabled(GroundswellAggregate.Event):
        """An administrator enabled a disabled person again."""

        def apply(self, person: Person) -> None:
            person.disabled = None

    def __init__(
        self,
        *,
        event_id: UUID,
        actor: str,
        challenge_id: UUID | None,
        handle: str,
        name: str,
        department: str,
        pseudonym: str | None,
        roles: list[str],
    ) -> None:
        self.handle = handle
        self.name = name
        self.department = department
        self.pseudonym = pseudonym
        self.roles = list(roles)
        self.email: str | None = None
        # "kind/channel" -> choice; a kind not chosen is sent immediately.
        self.notification_choices: dict[str, str] = {}
        self.quiet_hours: tuple[str, str, str] | None = None
        self.balance = 0
        self.earned = 0
        self.redemptions: dict[UUID, Redemption] = {}
        # Why an administrator disabled the person (None: not disabled).
        self.disabled: str | None = None

    def _scope(self) -> UUID | None:
        return None

    @classmethod
    def register(
        cls,
        *,
        handle: str,
        name: str,
        department: str,
        pseudonym: str | None = None,
        roles: list[str] | None = None,
        actor: str,
        at: datetime,
    ) -> Person:
        handle = checked_handle(handle)
        wanted = roles if roles is not None else [Role.CONTRIBUTOR.value]
        checked_roles = []
        for role in wanted:
            if role not in {r.value for r in Role}:
                allowed = ", ".join(r.value for r in Role)
                raise InvalidInput(f"unknown role {role!r}; roles are {allowed}.", field="roles")
            if role not in checked_roles:
                checked_roles.append(role)
        return cls._begin(
            cls.Registered,
            person_id(handle),
            actor,
            at,
            challenge_id=None,
            handle=handle,
            name=person_name("name", name),
            department=text("department", department, max_len=NAME_MAX),
            pseudonym=optional_person_name("pseudonym", pseudonym),
            roles=checked_roles,
        )

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles or Role.ADMIN.value in self.roles

    def require_can_take_part(self, doing: str) -> None:
        """Auditors read everything and change nothing; everyone else may take part."""
        if set(self.roles) <= {Role.AUDITOR.value}:
            raise NotPermitted(f"{self.handle} is an auditor; auditors read but do not {doing}.")

    def require_role(self, role: Role, doing: str) -> None:
        if not self.has_role(role):
            raise NotPermitted(f"{self.handle} needs the {role.value} role to {doing}.")

    def choose_pseudonym(self, pseudonym: str | None, *, actor: str, at: datetime) -> None:
        self._require_self(actor, "choose a pseudonym")
        self.require_can_take_part("choose a pseudonym")
        self._record(
            self.PseudonymChosen, actor, at, pseudonym=optional_person_name("pseudonym", pseudonym)
        )

    def change_department(self, department: str, *, actor: str, at: datetime) -> None:
        self._record(
            self.DepartmentChanged,
            actor,
            at,
            department=text("department", department, max_len=NAME_MAX),
        )

    def change_roles(self, roles: list[str], *, actor: str, at: datetime) -> None:
        valid = {r.value for r in Role}
        unknown = [r for r in roles if r not in valid]
        if unknown or not roles:
            raise InvalidInput(f"roles must be some of {sorted(valid)}.", field="roles")
        self._record(self.RolesChanged, actor, at, roles=sorted(set(roles)))

    def change_email(self, email: str | None, *, actor: str, at: datetime) -> None:
        """Set (or with None, remove) the address notifications are e-mailed to."""
        checked = email_address(email)
        if checked == self.email:
            return
        self._record(self.EmailChanged, actor, at, email=checked)

    def choose_notifications(
        self, kind: str, choice: str, *, channel: str = "email", actor: str, at: datetime
    ) -> None:
        """Choose how to hear of one kind of notification (for oneself only)."""
        self._require_self(actor, "choose how they are notified")
        if kind not in NOTIFICATION_KINDS:
            known = ", ".join(NOTIFICATION_KINDS)
            raise InvalidInput(
                f"{kind!r} is no kind of notification; kinds are {known}.", field="kind"
            )
        if channel not in CHANNELS:
            raise InvalidInput(
                f"{channel!r} is no channel; channels are {', '.join(CHANNELS)}.", field="channel"
            )
        if choice not in CHOICES:
            raise InvalidInput(
                f"{kind} can be sent {', '.join(CHOICES[:-1])} or {CHOICES[-1]}, not {choice!r}.",
                field="choice",
            )
        if kind == REMINDERS and choice == OFF and self.addressed_by_reminders():
            raise InvalidInput(NO_OFF_FOR_REMINDERS, field="choice")
        if self.notification_choices.get(f"{kind}/{channel}", IMMEDIATELY) == choice:
            return
        self._record(self.NotificationsChosen, actor, at, kind=kind, channel=channel, choice=choice)

    def addressed_by_reminders(self) -> bool:
        """Whether reminders and escalations are addressed to this person as one a decision
        waits on (a manager or sponsor, or an owner reporting progress)."""
        return self.has_role(Role.MANAGER) or self.has_role(Role.OWNER)

    def choose_quiet_hours(
        self, start: str | None, end: str | None, time_zone: str, *, actor: str, at: datetime
    ) -> None:
        """From ``start`` to ``end`` (``HH:MM`` in ``time_zone``, across midnight if ``end``
        comes first) e-mails wait; both None: no quiet hours (for oneself only)."""
        self._require_self(actor, "choose their quiet hours")
        try:
            ZoneInfo(time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise InvalidInput(
                f"{time_zone!r} is not a time zone (try Europe/Berlin or UTC).", field="time_zone"
            ) from None
        if (start is None) != (end is None):
            raise InvalidInput(
                "give both the start and the end of quiet hours, or neither.", field="start"
            )
        for name, value in (("start", start), ("end", end)):
            if value is not None and not CLOCK_TIME.match(value):
                raise InvalidInput(f"{name} must be a time like 22:00, not {value!r}.", field=name)
        if start is not None and start == end:
            raise InvalidInput("quiet hours must start and end at different times.", field="end")
        self._record(self.QuietHoursChosen, actor, at, start=start, end=end, time_zone=time_zone)

    def receive_reward(
        self,
        *,
        challenge_id: UUID,
        reason: str,
        subject_id: UUID,
        points: int,
        actor: str,
        at: datetime,
    ) -> None:
        self._record(
            self.RewardReceived,
            actor,
            at,
            paying_challenge_id=challenge_id,
            reason=reason,
            subject_id=subject_id,
            points=points,
        )

    def redeem(
        self,
        points: int,
        item: str,
        *,
        item_id: UUID,
        redemption_id: UUID,
        actor: str,
        at: datetime,
    ) -> None:
        """Spend ``points`` (the store item's price) on ``item``; never below zero."""
        self._require_self(actor, "redeem points")
        # Before the balance is looked at: an auditor is refused as one, whatever they hold.
        self.require_can_take_part("redeem points")
        points = whole_points("points", points, positive=True)
        if points > self.balance:
            raise InsufficientBalance(
                f"{self.handle} holds {self.balance} points; {points} cannot be redeemed.",
                field="points",
            )
        self._record(
            self.PointsRedeemed,
            actor,
            at,
            points=points,
            item=text("item", item, max_len=NAME_MAX),
            item_id=item_id,
            redemption_id=redemption_id,
        )

    def fulfil_redemption(self, redemption_id: UUID, *, actor: str, at: datetime) -> None:
        """The item was handed over (administrators; the service checks the role)."""
        self._requested(redemption_id, "fulfilled")
        self._record(
            self.RedemptionFulfilled, actor, at, redemption_id=redemption_id, person=self.handle
        )

    def cancel_redemption(
        self, redemption_id: UUID, reason: str, *, actor: str, at: datetime
    ) -> Redemption:
        """Cancel a requested redemption and give back exactly the points it took."""
        redemption = self._requested(redemption_id, "cancelled")
        self._record(
            self.RedemptionCancelled,
            actor,
            at,
            redemption_id=redemption_id,
            person=self.handle,
            points=redemption.points,
            reason=text("reason", reason),
        )
        return redemption

    def disable(self, reason: str, *, actor: str, at: datetime) -> None:
        """Stop the person acting and reading (administrators; the service checks the
        role). Nothing they did is undone, and their tokens are kept for ``enable``."""
        if actor == self.handle:
            raise NotPermitted(
                f"{self.handle} cannot disable themselves; ask another administrator."
            )
        if self.disabled is not None:
            raise WrongStage(f"{self.handle} is already disabled ({self.disabled}).")
        self._record(self.Disabled, actor, at, reason=text("reason", reason))

    def enable(self, *, actor: str, at: datetime) -> None:
        """Let a disabled person act and read again."""
        if actor == self.handle and self.disabled is not None:
            # Checked here: the actor's rights are checked on the person as the command
            # leaves them, and that is enabled.
            raise NotPermitted(
                f"{self.handle} is disabled; an administrator can enable them again."
            )
        if self.disabled is None:
            raise WrongStage(f"{self.handle} is not disabled, so cannot be enabled.")
        self._record(self.Enabled, actor, at)

    def require_enabled(self) -> None:
        """Refuse anything a disabled person would do."""
        if self.disabled is not None:
            raise NotPermitted(
                f"{self.handle} is disabled; an administrator can enable them again."
            )

    def _requested(self, redemption_id: UUID, doing: str) -> Redemption:
        found = self.redemptions.get(redemption_id)
        if found is None:
            raise NotFound(f"{self.handle} has no redemption {redemption_id}.")
        if found.status is not RedemptionStatus.REQUESTED:
            raise WrongStage(
                f"this redemption is {found.status.value} and cannot be {doing}.",
            )
        return found

    def _require_self(self, actor: str, doing: str) -> None:
        if actor != self.handle:
            raise NotPermitted(f"only {self.handle} may {doing} for themselves.")
