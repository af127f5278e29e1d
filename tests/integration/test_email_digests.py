"""Digests: held notices go out as one e-mail per person and period; each notice once.

Received by the real SMTP server on loopback (scripts/smtp-local via scripts/with-services).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundswell.app.engine import Engine
from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer
from groundswell.delivery.outbox import DIGESTED, SQLiteOutbox
from tests.scenario import AUTHOR, MANAGER, TEAMMATE, Scenario
from tests.smtp_support import Smtp, own_domain, shared_smtp
from tests.support import SteppingClock, memory_engine

BASE = "https://ideas.example.com"


class Office:
    """An engine in memory, an outbox on disk, a deliverer, and the author's mail."""

    def __init__(self, directory: Path, smtp: Smtp) -> None:
        self.clock = SteppingClock()
        self.engine: Engine = memory_engine(self.clock)
        self.story = Scenario(self.engine).with_cast()
        self.domain = own_domain()
        for handle in (AUTHOR, TEAMMATE):
            self.engine.change_email(handle, f"{handle}@{self.domain}")
        self.challenge = self.story.challenge()
        self.outbox = SQLiteOutbox(directory / "delivery.sqlite")
        delivery = DeliverySettings(smtp.url, "ideas@groundswell.example", BASE)
        self.deliverer = build_deliverer(self.engine, self.outbox, delivery, self.clock)
        self.smtp = smtp
        self.ideas = 0

    def reject(self) -> str:
        """A rejected idea of the author's; the title it is told by."""
        self.ideas += 1
        title = f"Idea {self.ideas}"
        idea = self.engine.submit_idea(AUTHOR, self.challenge, title=title, description="x").id
        assert idea is not None
        self.engine.reject_idea(MANAGER, idea, "Not now.")
        return title

    def mail_to(self, handle: str) -> list[tuple[str, str, str]]:
        """(kind, subject, text body) of each e-mail ``handle`` received, in order."""
        found = []
        for mail in self.smtp.received(self.domain):
            if str(mail["To"]) == f"{handle}@{self.domain}":
                body = mail.get_body(("plain",))
                assert body is not None
                found.append(
                    (str(mail["X-Groundswell-Kind"]), str(mail["Subject"]), body.get_content())
                )
        return found


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    made = Office(tmp_path, shared_smtp())
    yield made
    made.outbox.close()


def test_a_daily_digest_groups_the_day_and_says_nothing_when_nothing_happened(
    office: Office,
) -> None:
    office.engine.choose_notifications(AUTHOR, "ideas", "daily", actor=AUTHOR)
    titles = [office.reject() for _ in range(3)]
    office.deliverer.drain()
    assert office.mail_to(AUTHOR) == [], "held until the day is over"
    assert len(office.mail_to(TEAMMATE)) == 0, "the teammate took no part in these ideas"

    office.clock.advance(hours=15)  # 2026-03-03 00:00 and a little
    office.deliverer.drain()
    office.clock.advance(days=1)
    office.deliverer.drain()

    [(kind, subject, text)] = office.mail_to(AUTHOR)
    assert kind == "digest"
    assert subject == "Your daily digest for 2026-03-02: 3 notifications"
    assert "- 3 about decisions and news on ideas you took part in" in text
    for title in titles:
        assert f"* “{title}” was rejected: Not now." in text
    assert text.count(f"{BASE}/web/ideas/") == 3
    held = office.outbox.messages(handle=AUTHOR, state=DIGESTED)
    assert len(held) == 3 and len({m.part_of for m in held}) == 1


def test_a_weekly_digest_goes_out_when_the_week_is_over(office: Office) -> None:
    office.engine.choose_notifications(AUTHOR, "ideas", "weekly", actor=AUTHOR)
    office.reject()  # Monday 2026-03-02
    office.clock.advance(days=3)
    office.reject()
    office.deliverer.drain()
    office.clock.advance(days=3)  # Sunday
    office.deliverer.drain()
    assert office.mail_to(AUTHOR) == []

    office.clock.advance(days=1)  # Monday 2026-03-09
    office.deliverer.drain()

    [(kind, subject, _)] = office.mail_to(AUTHOR)
    assert (kind, subject) == ("digest", "Your weekly digest for 2026-W10: 2 notifications")


CHOICES = st.sampled_from(["immediately", "daily", "weekly", "off"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("choose"), CHOICES),
        st.tuples(st.just("reject"), st.just("")),
        st.tuples(st.just("wait"), st.sampled_from(["1", "7", "23", "49", "170"])),
        st.tuples(st.just("deliver"), st.just("")),
    ),
    max_size=25,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_each_notice_is_emailed_once_as_chosen_when_it_happened_whatever_changes_mid_period(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, str]]
) -> None:
    office = Office(tmp_path_factory.mktemp("digests"), shared_smtp())
    try:
        expected: dict[str, str] = {}  # title -> the choice in force when it was rejected
        choice = "immediately"
        for step, value in steps:
            if step == "choose":
                office.engine.choose_notifications(AUTHOR, "ideas", value, actor=AUTHOR)
                choice = value
            elif step == "reject":
                expected[office.reject()] = choice
            elif step == "wait":
                office.clock.advance(hours=int(value))
            else:
                office.deliverer.drain()
        office.clock.now += timedelta(days=8)  # every period over
        office.deliverer.drain()

        told: Counter[str] = Counter()
        how: dict[str, set[str]] = {}
        for kind, subject, text in office.mail_to(AUTHOR):
            if kind == "digest":
                period = subject.split()[1]
                for title in re.findall(r"^\* “(Idea \d+)”", text, re.MULTILINE):
                    told[title] += 1
                    how.setdefault(title, set()).add(period)
            else:
                title = re.findall(r"“(Idea \d+)”", subject)[0]
                told[title] += 1
                how.setdefault(title, set()).add("immediately")
        for title, chosen in expected.items():
            if chosen == "off":
                assert told[title] == 0, f"{title} was turned off but e-mailed"
            else:
                assert told[title] == 1, f"{title} ({chosen}) e-mailed {told[title]} times"
                assert how[title] == {chosen}, f"{title}: chose {chosen}, got {how[title]}"
        assert set(told) <= set(expected)
    finally:
        office.outbox.close()


def test_a_daily_digest_follows_the_persons_day_in_their_time_zone(office: Office) -> None:
    # Tokyo is 9 hours ahead: the clock's 09:00 UTC on 2026-03-02 is 18:00 there, and their
    # day ends at 15:00 UTC. A notice at 16:00 UTC belongs to their 3 March already.
    office.engine.choose_quiet_hours(AUTHOR, "23:00", "06:00", "Asia/Tokyo", actor=AUTHOR)
    office.engine.choose_quiet_hours(AUTHOR, None, None, "Asia/Tokyo", actor=AUTHOR)  # cleared
    office.engine.choose_notifications(AUTHOR, "ideas", "daily", actor=AUTHOR)
    first = office.reject()
    office.clock.advance(hours=7)  # 16:00 UTC, 01:00 on 3 March in Tokyo
    second = office.reject()
    office.deliverer.drain()

    [(kind, subject, text)] = office.mail_to(AUTHOR)
    assert (kind, subject) == ("digest", "Your daily digest for 2026-03-02: 1 notification")
    assert first in text and second not in text
    office.clock.advance(hours=22, minutes=59)  # 14:59 UTC on 3 March: not yet over there
    office.deliverer.drain()
    assert len(office.mail_to(AUTHOR)) == 1
    office.clock.advance(minutes=2)
    office.deliverer.drain()
    assert [s for _, s, _ in office.mail_to(AUTHOR)][1] == (
        "Your daily digest for 2026-03-03: 1 notification"
    )
