"""E-mail delivery end to end: the engine's notices, the outbox, a real SMTP server on loopback.

Every test runs on SQLite and on PostgreSQL; the messages are received by the SMTP server
scripts/with-services starts (or one of the test's own, where the test stops it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from domain.follow_up import PlannedStep
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.delivery import unsubscribe
from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer, build_outbox
from groundswell.delivery.deliverer import Deliverer
from groundswell.delivery.derive import message_id
from groundswell.delivery.outbox import HELD, PARKED, PENDING, SENT, SKIPPED, Outbox
from groundswell.settings import Settings
from projections.rows import key_of
from tests.scenario import AUTHOR, COLLEAGUE, MANAGER, REVIEWER, TEAMMATE, Scenario
from tests.smtp_support import OwnSmtp, Smtp, own_domain, shared_smtp
from tests.support import SteppingClock, database_url_or_fail, postgres_schema

SENDER = "Groundswell <ideas@groundswell.example>"
BASE = "https://ideas.example.com"


@dataclass
class World:
    engine: Engine
    outbox: Outbox
    settings: Settings
    clock: SteppingClock
    story: Scenario
    domain: str

    def deliverer(self, smtp: Smtp, **options: object) -> Deliverer:
        delivery = DeliverySettings(smtp.url, SENDER, BASE)
        return build_deliverer(self.engine, self.outbox, delivery, self.clock, **options)

    def address(self, handle: str) -> str:
        return f"{handle}@{self.domain}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, clock: SteppingClock) -> Iterator[World]:
    def built(settings: Settings) -> World:
        engine = build_engine(settings, clock=clock)
        story = Scenario(engine).with_cast()
        domain = own_domain()
        for handle in (AUTHOR, TEAMMATE, REVIEWER, MANAGER):
            engine.change_email(handle, f"{handle}@{domain}")
        return World(engine, build_outbox(settings), settings, clock, story, domain)

    if request.param == "sqlite":
        made = built(Settings(data_dir=tmp_path))
        yield made
        made.outbox.close()
        made.engine.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        made = built(Settings(database_url=url, postgres_schema=schema))
        yield made
        made.outbox.close()
        made.engine.close()


def text_and_html(mail: EmailMessage) -> tuple[str, str]:
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_a_decision_is_emailed_to_everyone_who_took_part_with_a_link_and_one_click_unsubscribe(
    world: World,
) -> None:
    smtp = shared_smtp()
    challenge = world.story.challenge()
    idea = world.story.idea(challenge, "accepted", team=(TEAMMATE, COLLEAGUE))
    deliverer = world.deliverer(smtp)

    deliverer.drain()

    mails = smtp.received(world.domain)
    accepted = [m for m in mails if "was accepted" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in accepted) == [
        world.address(AUTHOR),
        world.address(TEAMMATE),
    ], "the author and the teammate with an address; nobody twice"
    mail = next(m for m in accepted if str(m["To"]) == world.address(AUTHOR))
    assert str(mail["Subject"]) == "“Scan delivery notes” was accepted: Worth a pilot."
    assert str(mail["From"]) == SENDER
    assert mail.get_content_type() == "multipart/alternative"
    text, html = text_and_html(mail)
    link = f"{BASE}/web/ideas/{idea}"
    assert "“Scan delivery notes” was accepted: Worth a pilot." in text
    assert link in text and f'href="{link}"' in html
    assert "“Scan delivery notes” was accepted: Worth a pilot." in html
    # Stable: derived from the event, the person and the channel, whatever is retried.
    accepted_event = world.engine.history(idea)[-1]
    expected_id = message_id(key_of(accepted_event.event_id), AUTHOR, "email")
    assert str(mail["Message-ID"]) == f"<{expected_id}@groundswell.example>"
    secret = world.outbox.secret()
    token = unsubscribe.token(secret, AUTHOR, "ideas")
    assert str(mail["List-Unsubscribe"]) == f"<{BASE}/v1/unsubscribe/{token}>"
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert f"{BASE}/v1/unsubscribe/{token}" in text
    # The colleague has no address: the row says so rather than waiting for ever.
    colleague = world.outbox.messages(handle=COLLEAGUE)
    assert colleague and {m.state for m in colleague} == {SKIPPED}
    assert {m.last_error for m in colleague} == {"no e-mail address"}
    # The manager decided: she is told nothing of her own decision.
    assert not [
        m
        for m in mails
        if str(m["To"]) == world.address(MANAGER) and "accepted" in str(m["Subject"])
    ]
    # Every attempt is recorded.
    sent = world.outbox.messages(handle=AUTHOR, state=SENT)
    assert sent and all(world.outbox.attempts(m.message_id)[0].ok for m in sent)
    assert all(len(world.outbox.attempts(m.message_id)) == 1 for m in sent)


def test_a_disabled_person_is_emailed_nothing_until_enabled_again(world: World) -> None:
    smtp = shared_smtp()
    challenge = world.story.challenge()
    first = world.story.idea(challenge, "under review", team=(TEAMMATE,))
    second = world.story.idea(challenge, team=(TEAMMATE,), title="Label the pallets")
    world.engine.disable_person(TEAMMATE, "left the company")
    world.engine.accept_idea(MANAGER, first, "Worth a pilot.")
    world.engine.enable_person(TEAMMATE)
    world.engine.reject_idea(MANAGER, second, "We tried this in 2019.")

    world.deliverer(smtp).drain()

    mails = smtp.received(world.domain)
    to_teammate = [str(m["Subject"]) for m in mails if str(m["To"]) == world.address(TEAMMATE)]
    assert to_teammate == [
        "“Scan delivery notes” is now under review.",  # before they were disabled
        "“Label the pallets” was rejected: We tried this in 2019.",  # after
    ]
    assert any("was accepted" in str(m["Subject"]) for m in mails), "the author still hears"
    skipped = world.outbox.messages(handle=TEAMMATE, state=SKIPPED)
    assert [m.last_error for m in skipped] == [f"{TEAMMATE} is disabled"]
    assert "was accepted" in skipped[0].notice["text"]


def test_points_and_review_requests_are_emailed_as_their_own_kinds(world: World) -> None:
    smtp = shared_smtp()
    challenge = world.story.challenge()
    idea = world.story.idea(challenge, "accepted")
    world.engine.ask_reviewer(
        MANAGER, world.story.idea(challenge, title="Label the racks"), REVIEWER
    )
    world.engine.grant_reward(MANAGER, "idea-accepted", idea)

    world.deliverer(smtp).drain()

    kinds = {
        (str(m["To"]), str(m["X-Groundswell-Kind"]), str(m["Subject"]))
        for m in smtp.received(world.domain)
    }
    assert (
        world.address(REVIEWER),
        "review-requests",
        "You were asked to review “Label the racks”.",
    ) in kinds
    points = [s for to, kind, s in kinds if kind == "points" and to == world.address(AUTHOR)]
    assert (
        points
        and points[0].startswith("You received ")
        and "points for the accepted idea" in points[0]
    )
    assert "{points}" not in points[0]


def test_two_deliverers_derive_and_send_each_message_once(world: World) -> None:
    smtp = shared_smtp()
    challenge = world.story.challenge()
    for n in range(6):
        world.story.idea(challenge, "rejected", title=f"Idea {n}", team=(TEAMMATE,))
    first, second = world.deliverer(smtp, batch=3), world.deliverer(smtp, batch=2)

    for _ in range(20):
        if not (first.run_once() + second.run_once()):
            break

    mails = smtp.received(world.domain)
    ids = [str(m["Message-ID"]) for m in mails]
    assert len(ids) == len(set(ids)) == 12, "six rejections, two people each, once each"
    rows = [m for m in world.outbox.messages() if m.state == SENT]
    assert len(rows) == 12
    assert first.sent > 0 and second.sent > 0 and first.sent + second.sent == 12


def test_a_server_down_for_a_while_loses_nothing_keeps_the_order_and_the_ids(
    world: World, tmp_path: Path
) -> None:
    own = OwnSmtp(tmp_path / "own-maildir")
    smtp = own.start()
    try:
        deliverer = world.deliverer(smtp)
        deliverer.drain()  # what the cast's registration asked for, if anything
        own.stop()
        challenge = world.story.challenge()
        ideas = [world.story.idea(challenge, "rejected", title=f"Idea {n}") for n in range(4)]

        deliverer.drain()
        pending = world.outbox.messages(handle=AUTHOR, state=PENDING)
        assert len(pending) == 4, "nothing lost, nothing sent"
        tried = [m for m in pending if m.attempts]
        assert len(tried) == 1, "the later ones wait behind the first, to keep their order"
        failed = world.outbox.attempts(tried[0].message_id)
        assert len(failed) == 1 and not failed[0].ok and "SMTP server" in failed[0].detail

        smtp = own.start()
        deliverer.drain()
        assert len(world.outbox.messages(handle=AUTHOR, state=PENDING)) == 4, "not due yet"
        world.clock.advance(seconds=11)
        deliverer.drain()

        mails = [m for m in smtp.received(world.domain) if str(m["To"]) == world.address(AUTHOR)]
        assert [str(m["Subject"]).split("”")[0] for m in mails] == [f"“Idea {n}" for n in range(4)]
        sent = world.outbox.messages(handle=AUTHOR, state=SENT)
        assert [m.message_id for m in sent] == [m.message_id for m in pending]
        assert [str(m["Message-ID"]) for m in mails] == [
            f"<{m.message_id}@groundswell.example>" for m in sent
        ]
        assert [len(world.outbox.attempts(m.message_id)) for m in sent] == [2, 1, 1, 1]
        assert len(ideas) == 4
    finally:
        own.stop()


def test_a_message_refused_for_a_day_is_parked_with_every_attempt_recorded(
    world: World, tmp_path: Path
) -> None:
    own = OwnSmtp(tmp_path / "own-maildir")
    smtp = own.start()
    try:
        deliverer = world.deliverer(smtp)
        deliverer.drain()
        (smtp.maildir / "refuse").touch()
        world.story.idea(world.story.challenge(), "rejected")

        for _ in range(60):
            deliverer.drain()
            world.clock.advance(hours=1)

        [parked] = world.outbox.messages(handle=AUTHOR, state=PARKED)
        attempts = world.outbox.attempts(parked.message_id)
        assert len(attempts) == parked.attempts > 5
        assert all(not a.ok and a.detail.startswith("451") for a in attempts)
        assert smtp.received(world.domain) == []
    finally:
        own.stop()


def test_an_unknown_mailbox_is_parked_at_once_and_the_rest_still_sent(world: World) -> None:
    smtp = shared_smtp()
    deliverer = world.deliverer(smtp)
    world.engine.change_email(AUTHOR, f"unknown@{world.domain}")
    world.story.idea(world.story.challenge(), "rejected", team=(TEAMMATE,))

    deliverer.drain()

    [parked] = world.outbox.messages(handle=AUTHOR, state=PARKED)
    [attempt] = world.outbox.attempts(parked.message_id)
    assert attempt.detail.startswith("550") and "no such mailbox" in attempt.detail
    assert [str(m["To"]) for m in smtp.received(world.domain)] == [world.address(TEAMMATE)]


def test_an_email_in_quiet_hours_waits_until_they_end_in_the_persons_time_zone(
    world: World,
) -> None:
    smtp = shared_smtp()
    # The clock starts at 09:00 UTC, 10:00 in Berlin: quiet until 12:00 there, 11:00 UTC.
    world.engine.choose_quiet_hours(AUTHOR, "09:30", "12:00", "Europe/Berlin", actor=AUTHOR)
    world.engine.choose_quiet_hours(TEAMMATE, "22:00", "07:00", "Europe/Berlin", actor=TEAMMATE)
    world.story.idea(world.story.challenge(), "rejected", team=(TEAMMATE,))
    deliverer = world.deliverer(smtp)

    deliverer.drain()
    assert [str(m["To"]) for m in smtp.received(world.domain)] == [world.address(TEAMMATE)]
    [waiting] = world.outbox.messages(handle=AUTHOR, state=PENDING)
    assert waiting.next_at == "2026-03-02T11:00:00.000000+00:00"

    world.clock.advance(hours=1, minutes=59)
    deliverer.drain()
    assert len(smtp.received(world.domain)) == 1
    world.clock.advance(minutes=2)
    deliverer.drain()
    assert [str(m["To"]) for m in smtp.received(world.domain)] == [
        world.address(TEAMMATE),
        world.address(AUTHOR),
    ]


def test_reminders_are_their_own_kind_and_never_dropped_for_the_people_they_address(
    world: World,
) -> None:
    smtp = shared_smtp()
    challenge = world.story.challenge()
    idea = world.story.idea(challenge)
    # The teammate turned reminders off while a contributor; later the sponsor named them.
    world.engine.choose_notifications(TEAMMATE, "reminders", "off", actor=TEAMMATE)
    due = world.clock()

    def step(name: str, to: list[str], reason: str) -> None:
        world.engine.record_follow_up_step(
            PlannedStep(
                f"decision:{idea}",
                "idea",
                challenge,
                idea,
                "Scan delivery notes",
                AUTHOR,
                due,
                name,
                to,
                reason,
            )
        )

    step("reminder-1", [MANAGER], "“Scan delivery notes” awaits your decision")
    step("escalation-sponsor", [TEAMMATE], "“Scan delivery notes” waited for a decision")

    world.deliverer(smtp).drain()

    mails = smtp.received(world.domain)
    reminded = [m for m in mails if str(m["To"]) == world.address(MANAGER)]
    assert [str(m["X-Groundswell-Kind"]) for m in reminded] == ["reminders"]
    assert "Reminder: “Scan delivery notes” awaits your decision." in str(reminded[0]["Subject"])
    told = [m for m in mails if str(m["To"]) == world.address(AUTHOR)]
    assert {str(m["X-Groundswell-Kind"]) for m in told} == {"ideas"}, "news on their idea"
    assert any("waited" in str(m["Subject"]) for m in told)
    # Off is not honoured for a reminder addressed to them: kept for their weekly digest.
    sponsor = [m for m in world.outbox.messages(handle=TEAMMATE) if m.kind == "reminders"]
    assert [m.state for m in sponsor] == [HELD]
    assert not [m for m in mails if str(m["To"]) == world.address(TEAMMATE)]
