"""People: registered with a department, an optional pseudonym and roles; acting as themselves."""

from __future__ import annotations

import pytest

from domain.errors import AlreadyDone, InvalidInput, NotFound, NotPermitted
from domain.person import Person, Role, person_id
from groundswell.app.engine import Engine
from tests.scenario import AUTHOR, COLLEAGUE, MANAGER, OWNER, TEAMMATE, Scenario, refused, terms


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


def test_a_contributor_is_registered_with_a_department(memory: Engine) -> None:
    receipt = memory.register_person("dan", name="Dan Driver", department="Transport")

    dan = memory.person("dan")
    assert receipt.id == person_id("dan") == dan.id
    assert (dan.handle, dan.name, dan.department) == ("dan", "Dan Driver", "Transport")
    assert dan.pseudonym is None
    assert dan.roles == ["contributor"]
    assert (dan.balance, dan.earned) == (0, 0)
    registered = memory.history(dan.id)[0]
    assert isinstance(registered, Person.Registered)
    assert registered.challenge_id is None


def test_a_contributor_may_register_with_a_pseudonym(memory: Engine) -> None:
    memory.register_person("eve", name="Eve", department="IT", pseudonym="Night Owl")

    assert memory.person("eve").pseudonym == "Night Owl"


def test_a_contributor_chooses_and_drops_a_pseudonym_for_public_boards(
    memory: Engine, story: Scenario
) -> None:
    memory.choose_pseudonym(AUTHOR, "Paper Tiger")
    assert memory.person(AUTHOR).pseudonym == "Paper Tiger"

    memory.choose_pseudonym(AUTHOR, None)
    assert memory.person(AUTHOR).pseudonym is None


def test_a_pseudonym_is_short(memory: Engine, story: Scenario) -> None:
    with refused(memory, InvalidInput, "pseudonym") as caught:
        memory.choose_pseudonym(AUTHOR, "x" * 101)
    assert caught.value.field == "pseudonym"


def test_a_person_chooses_a_pseudonym_only_for_themselves(story: Scenario) -> None:
    ann = story.engine.person(AUTHOR)

    with pytest.raises(NotPermitted, match=f"only {AUTHOR}"):
        ann.choose_pseudonym("Impostor", actor=COLLEAGUE, at=ann.modified_on)
    assert ann.pending_events == []


def test_a_handle_is_registered_only_once(memory: Engine, story: Scenario) -> None:
    with refused(memory, AlreadyDone, AUTHOR, "already registered") as caught:
        memory.register_person(AUTHOR, name="Another Ann", department="IT")
    assert caught.value.field == "handle"


@pytest.mark.parametrize("handle", ["", "Ann", "ann smith", "-ann", "a" * 41, "ann!"])
def test_a_handle_is_short_lowercase_and_plain(memory: Engine, handle: str) -> None:
    with refused(memory, InvalidInput, "handle") as caught:
        memory.register_person(handle, name="Ann", department="Sales")
    assert caught.value.field == "handle"


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("name", {"name": " ", "department": "Sales"}),
        ("department", {"name": "Ann", "department": ""}),
        ("department", {"name": "Ann", "department": "d" * 101}),
    ],
)
def test_a_person_has_a_name_and_a_department(
    memory: Engine, field: str, fields: dict[str, str]
) -> None:
    with refused(memory, InvalidInput, field) as caught:
        memory.register_person("ann", **fields)
    assert caught.value.field == field


def test_roles_are_the_known_ones(memory: Engine) -> None:
    with refused(memory, InvalidInput, "wizard", "contributor") as caught:
        memory.register_person("ann", name="Ann", department="Sales", roles=["wizard"])
    assert caught.value.field == "roles"


def test_an_administrator_changes_someones_roles_and_department(
    memory: Engine, story: Scenario
) -> None:
    memory.change_roles(TEAMMATE, ["owner", "contributor", "owner"])
    memory.change_department(TEAMMATE, "Logistics")

    bob = memory.person(TEAMMATE)
    assert bob.roles == ["contributor", "owner"]
    assert bob.department == "Logistics"


@pytest.mark.parametrize("roles", [[], ["contributor", "wizard"]])
def test_roles_are_changed_only_to_known_roles(
    memory: Engine, story: Scenario, roles: list[str]
) -> None:
    with refused(memory, InvalidInput, "roles"):
        memory.change_roles(TEAMMATE, roles)


def test_an_unregistered_person_is_not_found(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotFound, "ghost", "registered"):
        memory.choose_pseudonym("ghost", "Casper")
    with pytest.raises(NotFound, match="ghost"):
        memory.person("ghost")


def test_a_new_department_shows_on_later_ideas_but_not_on_earlier_ones(
    memory: Engine, story: Scenario
) -> None:
    challenge_id = story.challenge("open")
    before = story.idea(challenge_id)
    memory.change_department(AUTHOR, "Marketing")
    after = story.idea(challenge_id, title="Second")

    assert memory.idea(before).department == "Sales"
    assert memory.idea(after).department == "Marketing"


# -- managing people is for administrators (these were bugs: anyone could) -----------------


def test_a_contributor_cannot_make_themselves_a_manager(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, "admin"):
        memory.change_roles(AUTHOR, ["manager"], actor=AUTHOR)
    with refused(memory, NotPermitted, "manager"):
        memory.draft_challenge(AUTHOR, **terms())


def test_a_contributor_cannot_change_someone_elses_department(
    memory: Engine, story: Scenario
) -> None:
    with refused(memory, NotPermitted, "admin"):
        memory.change_department(TEAMMATE, "Nowhere", actor=AUTHOR)


def test_a_contributor_cannot_register_an_administrator(memory: Engine, story: Scenario) -> None:
    with refused(memory, NotPermitted, "admin"):
        memory.register_person(
            "mallory", name="Mallory", department="Sales", roles=["admin"], actor=AUTHOR
        )


def test_a_person_with_the_admin_role_manages_people(memory: Engine, story: Scenario) -> None:
    memory.register_person("root", name="Root", department="IT", roles=["admin"])

    memory.register_person("dan", name="Dan", department="Transport", actor="root")
    memory.change_roles("dan", ["owner"], actor="root")
    memory.change_department("dan", "Logistics", actor="root")

    dan = memory.person("dan")
    assert (dan.roles, dan.department) == (["owner"], "Logistics")
    assert memory.history(dan.id)[-1].actor == "root"


def test_an_administrator_may_do_what_any_role_may(memory: Engine, story: Scenario) -> None:
    memory.register_person("root", name="Root", department="IT", roles=["admin"])

    memory.draft_challenge("root", **terms())
    assert memory.person("root").has_role(Role.MANAGER)
    assert not memory.person(MANAGER).has_role(Role.OWNER)


def test_a_person_is_registered_with_an_email_address_in_its_normal_form(memory: Engine) -> None:
    memory.register_person("dan", name="Dan", department="IT", email="Dan.Driver@Example.COM ")

    dan = memory.person("dan")
    assert dan.email == "Dan.Driver@example.com"
    changed = memory.history(dan.id)[1]
    assert isinstance(changed, Person.EmailChanged)
    assert changed.email == "Dan.Driver@example.com"


@pytest.mark.parametrize("email", ["dan", "dan@", "dan@example", "a b@example.com", "@x.org"])
def test_what_is_not_an_email_address_is_refused_and_nobody_registered(
    memory: Engine, email: str
) -> None:
    with refused(memory, InvalidInput, "is not an e-mail address") as caught:
        memory.register_person("dan", name="Dan", department="IT", email=email)
    assert caught.value.field == "email"


def test_a_person_changes_and_removes_their_own_email_address(
    memory: Engine, story: Scenario
) -> None:
    memory.change_email(AUTHOR, "ann@example.org", actor=AUTHOR)
    assert memory.person(AUTHOR).email == "ann@example.org"
    before = memory.last_position
    memory.change_email(AUTHOR, "ann@example.org", actor=AUTHOR)
    assert memory.last_position == before, "the same address again records nothing"

    memory.change_email(AUTHOR, None, actor=AUTHOR)
    assert memory.person(AUTHOR).email is None


def test_only_an_administrator_changes_someone_elses_email_address(
    memory: Engine, story: Scenario
) -> None:
    with refused(memory, NotPermitted, "admin", "e-mail"):
        memory.change_email(AUTHOR, "evil@example.org", actor=COLLEAGUE)

    memory.change_email(AUTHOR, "ann@example.org")
    assert memory.person(AUTHOR).email == "ann@example.org"


def test_a_person_chooses_which_kinds_of_notification_reach_them_by_email(
    memory: Engine, story: Scenario
) -> None:
    memory.choose_notifications(AUTHOR, "points", "off", actor=AUTHOR)
    assert memory.person(AUTHOR).notification_choices == {"points/email": "off"}
    before = memory.last_position
    memory.choose_notifications(AUTHOR, "points", "off", actor=AUTHOR)
    memory.choose_notifications(AUTHOR, "ideas", "immediately", actor=AUTHOR)
    assert memory.last_position == before, "choosing what holds already records nothing"

    with refused(memory, NotPermitted, f"only {AUTHOR}"):
        memory.choose_notifications(AUTHOR, "ideas", "off", actor=COLLEAGUE)
    with refused(memory, InvalidInput, "'gossip' is no kind of notification", "points"):
        memory.choose_notifications(AUTHOR, "gossip", "off", actor=AUTHOR)
    with refused(memory, InvalidInput, "immediately, daily, weekly or off", "'hourly'"):
        memory.choose_notifications(AUTHOR, "ideas", "hourly", actor=AUTHOR)
    with refused(memory, InvalidInput, "no channel"):
        memory.choose_notifications(AUTHOR, "ideas", "off", channel="pigeon", actor=AUTHOR)


def test_reminders_cannot_be_turned_off_by_managers_and_owners_only_bundled(
    memory: Engine, story: Scenario
) -> None:
    for addressed in (MANAGER, OWNER):
        with pytest.raises(InvalidInput, match="cannot be turned off for managers and owners"):
            memory.choose_notifications(addressed, "reminders", "off", actor=addressed)
        assert memory.person(addressed).notification_choices == {}, "nothing changed"
        memory.choose_notifications(addressed, "reminders", "weekly", actor=addressed)
        assert memory.person(addressed).notification_choices == {"reminders/email": "weekly"}
        memory.choose_notifications(addressed, "points", "off", actor=addressed)
    # A contributor is not the one work waits on: off is theirs to choose.
    memory.choose_notifications(AUTHOR, "reminders", "off", actor=AUTHOR)
    assert memory.person(AUTHOR).notification_choices == {"reminders/email": "off"}


def test_a_person_chooses_quiet_hours_in_their_time_zone(memory: Engine, story: Scenario) -> None:
    memory.choose_quiet_hours(AUTHOR, "22:00", "07:00", "Europe/Berlin", actor=AUTHOR)
    assert memory.person(AUTHOR).quiet_hours == ("22:00", "07:00", "Europe/Berlin")
    memory.choose_quiet_hours(AUTHOR, None, None, "UTC", actor=AUTHOR)
    assert memory.person(AUTHOR).quiet_hours is None

    with refused(memory, NotPermitted, f"only {AUTHOR}"):
        memory.choose_quiet_hours(AUTHOR, "22:00", "07:00", "UTC", actor=COLLEAGUE)
    with refused(memory, InvalidInput, "'Mars/Olympus' is not a time zone"):
        memory.choose_quiet_hours(AUTHOR, "22:00", "07:00", "Mars/Olympus", actor=AUTHOR)
    with refused(memory, InvalidInput, "start must be a time like 22:00", "'25:00'"):
        memory.choose_quiet_hours(AUTHOR, "25:00", "07:00", "UTC", actor=AUTHOR)
    with refused(memory, InvalidInput, "both the start and the end"):
        memory.choose_quiet_hours(AUTHOR, "22:00", None, "UTC", actor=AUTHOR)
    with refused(memory, InvalidInput, "different times"):
        memory.choose_quiet_hours(AUTHOR, "07:00", "07:00", "UTC", actor=AUTHOR)
