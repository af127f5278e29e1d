"""Digest periods are the recipient's own days and weeks, in their time zone, including the
days when the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from groundswell.delivery.digests import period_end, period_of, summary

BERLIN = "Europe/Berlin"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_day_the_clocks_go_forward_is_23_hours_long_and_the_day_they_go_back_25() -> None:
    # 29 March 2026: Berlin goes from UTC+1 to UTC+2; 25 October: back to UTC+1.
    assert period_of("daily", utc("2026-03-28T23:30:00"), BERLIN) == "daily/2026-03-29@" + BERLIN
    assert period_end("daily/2026-03-29@" + BERLIN) == utc("2026-03-29T22:00:00")
    assert period_end("daily/2026-03-28@" + BERLIN) == utc("2026-03-28T23:00:00")
    assert period_of("daily", utc("2026-03-29T22:30:00"), BERLIN) == "daily/2026-03-30@" + BERLIN
    assert period_end("daily/2026-10-25@" + BERLIN) - period_end("daily/2026-10-24@" + BERLIN) == (
        utc("2026-01-02T01:00:00") - utc("2026-01-01T00:00:00")
    )


def test_a_week_ends_at_midnight_from_sunday_to_monday_where_the_person_is() -> None:
    # Sunday 29 March, 23:30 in Berlin (summer time: 21:30 UTC) is still week 13 there.
    assert period_of("weekly", utc("2026-03-29T21:30:00"), BERLIN) == "weekly/2026-W13@" + BERLIN
    assert period_of("weekly", utc("2026-03-29T22:30:00"), BERLIN) == "weekly/2026-W14@" + BERLIN
    assert period_end("weekly/2026-W13@" + BERLIN) == utc("2026-03-29T22:00:00")
    # New York is behind UTC: Monday 02:00 UTC is still Sunday evening there.
    new_york = "America/New_York"
    assert period_of("weekly", utc("2026-03-02T02:00:00"), new_york).startswith("weekly/2026-W09")
    assert period_of("weekly", utc("2026-03-02T02:00:00")) == "weekly/2026-W10"
    assert (
        summary("weekly/2026-W09@" + new_york, 2)
        == "Your weekly digest for 2026-W09: 2 notifications"
    )


ZONES = st.sampled_from(["UTC", BERLIN, "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"])


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
    st.sampled_from(["daily", "weekly"]),
    ZONES,
)
def test_every_moment_of_a_period_is_in_it_and_its_end_is_not(
    naive: datetime, choice: str, zone: str
) -> None:
    at = naive.replace(tzinfo=UTC)
    key = period_of(choice, at, zone)
    end = period_end(key)
    assert at < end
    assert period_of(choice, end - timedelta(microseconds=1), zone) == key
    assert period_of(choice, end, zone) != key, "the period is over at its end"
