"""Commands about people: register, pseudonym, department, roles."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic

from domain.authority import OPERATOR
from domain.errors import AlreadyDone, InvalidInput, NotFound
from domain.person import Person, Role, checked_handle, person_id
from domain.public_names import Identity, require_free_pseudonym, require_not_a_pseudonym
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork

# The local operator (the CLI on the server) acts as "system"; it is no person and no
# person may take the name. Everyone else needs the admin role to manage people.
SYSTEM = OPERATOR


def require_admin(uow: UnitOfWork, actor: str, doing: str) -> None:
    if actor != SYSTEM:
        uow.person(actor).require_role(Role.ADMIN, doing)


class PeopleService(GroundswellApplication):
    def register_person(
        self,
        handle: str,
        *,
        name: str,
        department: str,
        pseudonym: str | None = None,
        roles: list[str] | None = None,
        email: str | None = None,
        actor: str = SYSTEM,
    ) -> Receipt:
        """Register someone who may take part (an administrator's command); with ``email``,
        notifications can reach them by e-mail."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "register people")
            if checked_handle(handle) == SYSTEM:
                raise InvalidInput(
                    f"{SYSTEM!r} is reserved; choose another handle.", field="handle"
                )
            if uow.exists(person_id(handle)):
                raise AlreadyDone(f"{handle!r} is already registered.", field="handle")
            people = self.identities()
            require_not_a_pseudonym(handle, name if isinstance(name, str) else "", people)
            person = Person.register(
                handle=handle,
                name=name,
                department=department,
                pseudonym=pseudonym,
                roles=roles,
                actor=actor,
                at=uow.now,
            )
            require_free_pseudonym(person.pseudonym, handle, people)
            if email is not None:
                person.change_email(email, actor=actor, at=uow.now)
            uow.add(person)
            return person.id

        return self.run(command)

    def choose_pseudonym(self, actor: str, pseudonym: str | None) -> Receipt:
        """Show ``pseudonym`` instead of one's name on public boards (None: the name)."""

        def command(uow: UnitOfWork) -> UUID:
            person = uow.person(actor)
            person.choose_pseudonym(pseudonym, actor=actor, at=uow.now)
            require_free_pseudonym(person.pseudonym, actor, self.identities())
            return person.id

        return self.run(command)

    def change_department(self, handle: str, department: str, *, actor: str = SYSTEM) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "change departments")
            person = uow.person(handle)
            person.change_department(department, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def change_roles(self, handle: str, roles: list[str], *, actor: str = SYSTEM) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "change roles")
            person = uow.person(handle)
            person.change_roles(roles, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def disable_person(self, handle: str, reason: str, *, actor: str = SYSTEM) -> Receipt:
        """Stop ``handle`` acting and reading, for ``reason`` (an administrator's command):
        their tokens answer 401, their page sessions end, their sign-ins are refused."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "disable people")
            person = uow.person(handle)
            person.disable(reason, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def enable_person(self, handle: str, *, actor: str = SYSTEM) -> Receipt:
        """Let a disabled person act and read again (their unrevoked tokens work again)."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "enable people")
            person = uow.person(handle)
            person.enable(actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def change_email(self, handle: str, email: str | None, *, actor: str = SYSTEM) -> Receipt:
        """Set or remove someone's e-mail address (themselves, or an administrator)."""

        def command(uow: UnitOfWork) -> UUID:
            if actor != handle:
                require_admin(uow, actor, "change other people's e-mail addresses")
            person = uow.person(handle)
            person.change_email(email, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def choose_notifications(
        self, handle: str, kind: str, choice: str, *, channel: str = "email", actor: str
    ) -> Receipt:
        """Choose how ``handle`` hears of one kind of notification (themselves only; an
        unsubscribe link acts as the person it was made for)."""

        def command(uow: UnitOfWork) -> UUID:
            person = uow.person(handle)
            person.choose_notifications(kind, choice, channel=channel, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def choose_quiet_hours(
        self, handle: str, start: str | None, end: str | None, time_zone: str, *, actor: str
    ) -> Receipt:
        """When e-mails to ``handle`` wait (themselves only)."""

        def command(uow: UnitOfWork) -> UUID:
            person = uow.person(handle)
            person.choose_quiet_hours(start, end, time_zone, actor=actor, at=uow.now)
            return person.id

        return self.run(command)

    def identities(self) -> list[Identity]:
        """Everyone's handle, name and current pseudonym, read from the history.

        Read from the notification log (only people's naming events), not a read model, so
        a command sees every person already stored whatever the projections' lag.
        """
        people: dict[object, Identity] = {}
        topics = [get_topic(Person.Registered), get_topic(Person.PseudonymChosen)]
        start = 1
        while batch := self.recorder.select_notifications(start, 1000, topics=topics):
            for notification in batch:
                event = self.mapper.to_domain_event(notification)
                if isinstance(event, Person.Registered):
                    people[event.originator_id] = Identity(
                        event.handle, event.name, event.pseudonym
                    )
                elif (known := people.get(event.originator_id)) is not None:
                    people[event.originator_id] = Identity(
                        known.handle, known.name, event.pseudonym
                    )
            start = batch[-1].id + 1
        return list(people.values())

    def person(self, handle: str) -> Person:
        try:
            return self.load(Person, person_id(handle))
        except NotFound:
            raise NotFound(
                f"nobody with handle {handle!r} is registered.", field="handle"
            ) from None
