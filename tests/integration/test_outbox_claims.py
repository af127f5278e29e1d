"""Claims on the outbox, on SQLite and PostgreSQL: a deliverer takes a run of consecutive
messages per recipient, never one behind a message it cannot take (one waiting for a retry,
or held by another deliverer), and two deliverers never split one recipient's run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundswell.delivery.bootstrap import build_outbox
from groundswell.delivery.outbox import PENDING, SENT, Attempt, Message, Outbox, Outcome, stamp
from groundswell.settings import Settings
from tests.support import database_url_or_fail, postgres_schema

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=60)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "sqlite":
        made = build_outbox(Settings(data_dir=tmp_path))
        yield made
        made.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        made = build_outbox(Settings(database_url=url, postgres_schema=schema))
        yield made
        made.close()


def queued(outbox: Outbox, handle: str, count: int, due: datetime = NOW) -> list[str]:
    made = [
        Message(
            f"{handle}-{n}", "email", handle, f"{handle}@example.com", f"e{n}", "ideas",
            stamp(NOW), {"text": f"{n}"}, PENDING, 0, stamp(due), None, None,
        )
        for n in range(count)
    ]  # fmt: skip
    outbox.add(made, 0)
    return [m.message_id for m in made]


def ids(messages: list[Message]) -> list[str]:
    return [m.message_id for m in messages]


def test_a_claim_takes_runs_in_order_and_a_second_deliverer_none_of_a_run_held(
    outbox: Outbox,
) -> None:
    ada = queued(outbox, "ada", 5)
    bob = queued(outbox, "bob", 2)

    first = outbox.claim("first", NOW, LEASE, 4)
    assert ids(first) == ada[:4], "a run of consecutive messages, oldest first"
    second = outbox.claim("second", NOW, LEASE, 10)
    assert ids(second) == bob, "ada's fifth waits behind the four the first one holds"
    assert outbox.claim("third", NOW, LEASE, 10) == []

    # The first one sends two, and the third must be retried: the rest go back untried.
    sent = [
        Outcome(m, Attempt(m.message_id, 1, stamp(NOW), True, "250", 1.0), SENT) for m in first[:2]
    ]
    retry = Outcome(
        first[2],
        Attempt(first[2].message_id, 1, stamp(NOW), False, "451", 1.0),
        PENDING,
        stamp(NOW + timedelta(seconds=10)),
    )
    recorded = outbox.finish([*sent, retry], "first", release=[first[3]])
    assert recorded == {*ada[:3]}
    assert outbox.claim("third", NOW, LEASE, 10) == [], "all of ada's wait behind the retry"
    later = NOW + timedelta(seconds=11)
    assert ids(outbox.claim("third", later, later + timedelta(seconds=60), 10)) == ada[2:]
    assert [len(outbox.attempts(i)) for i in ada] == [1, 1, 1, 0, 0]


def test_a_claim_held_by_a_deliverer_that_was_killed_is_taken_again_when_it_runs_out(
    outbox: Outbox,
) -> None:
    ada = queued(outbox, "ada", 3)
    assert ids(outbox.claim("killed", NOW, LEASE, 2)) == ada[:2]
    assert outbox.claim("other", NOW + timedelta(seconds=30), LEASE, 10) == []
    after = LEASE + timedelta(seconds=1)
    assert ids(outbox.claim("other", after, after + timedelta(seconds=60), 10)) == ada
    # The killed one, had it lived, records nothing now: the claim is no longer its own.
    [late] = outbox.messages(handle="ada")[:1]
    attempt = Attempt(late.message_id, 1, stamp(after), True, "250", 1.0)
    assert outbox.finish([Outcome(late, attempt, SENT)], "killed") == set()
    assert outbox.attempts(late.message_id) == []
