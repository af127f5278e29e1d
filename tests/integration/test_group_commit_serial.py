"""Group commit's property: for random concurrent command mixes on PostgreSQL, the stored
history is a serial history of the accepted commands, and the reward invariants hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.eventstore.chain import verify
from groundswell.eventstore.group_commit import GroupStats
from tests import invariants
from tests.group_commit_world import (
    AUTHORS,
    CHALLENGES,
    IDEAS,
    Command,
    at_once,
    fixed,
    grouped_engine,
    set_up,
)
from tests.scenario import MANAGER, all_events
from tests.support import database_url_or_fail, memory_engine, postgres_schema

pytestmark = pytest.mark.postgres


def command_of(step: tuple[str, int, int], n: int) -> Command:
    """One concurrent command; ``n`` makes the ids it creates its own."""
    op, a, b = step
    idea = IDEAS[a % len(IDEAS)]
    person = AUTHORS[b % len(AUTHORS)]
    if op == "submit":
        return lambda e: e.submit_idea(
            person, CHALLENGES[a % 2], title=f"New {n}", description="More.", idea_id=fixed(f"n{n}")
        )
    if op == "comment":
        return lambda e: e.comment(person, idea, f"Comment {n}")
    if op == "endorse":
        return lambda e: e.endorse(person, idea)
    if op == "top_up":
        return lambda e: e.top_up_pot(MANAGER, CHALLENGES[a % 2], 1 + b)
    if op == "grant":
        return lambda e: e.grant_reward(MANAGER, "idea-accepted", idea)
    assert op == "redeem"
    return lambda e: e.redeem_item(AUTHORS[a % len(AUTHORS)], VOUCHER)


steps = st.lists(
    st.tuples(
        st.sampled_from(["submit", "comment", "endorse", "top_up", "grant", "redeem"]),
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    min_size=2,
    max_size=16,
)


VOUCHER = fixed("voucher")


def set_up_with_store(engine: Engine) -> None:
    """The shared world, and a 5-point voucher in the store to redeem."""
    set_up(engine)
    engine.offer_item("Voucher", price=5, item_id=VOUCHER)


def normalised(events: list[Any]) -> list[tuple[str, Any]]:
    """Events with their ids numbered by first appearance and their times left out, so two
    engines that did the same things in the same order give equal lists."""
    numbers: dict[UUID, int] = {}

    def plain(value: Any) -> Any:
        if isinstance(value, UUID):
            return f"id{numbers.setdefault(value, len(numbers))}"
        if isinstance(value, datetime):
            return "time"
        if isinstance(value, dict):
            return {k: plain(v) for k, v in sorted(value.items())}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return [(type(e).__qualname__, plain(dict(e.__dict__))) for e in events]


def assert_serial(plan: list[tuple[str, int, int]]) -> GroupStats:
    """Run the plan's commands at once; check the history; return the committer's counts."""
    with postgres_schema(database_url_or_fail()) as schema:
        engine = grouped_engine(schema, window_ms=20)
        try:
            set_up_with_store(engine)
            before = len(all_events(engine))
            assert engine.committer is not None
            engine.committer.stats = GroupStats()
            commands = [command_of(step, n) for n, step in enumerate(plan)]
            outcomes = at_once(engine, commands)
            events = all_events(engine)
            invariants.check_all(events, engine.repository.get)
            assert verify(engine).ok

            # Replayed one at a time, in the order they were stored, on a fresh engine, the
            # accepted commands are accepted again and store the very same history.
            accepted = sorted(
                (o.position, n)
                for n, o in enumerate(outcomes)
                if isinstance(o, Receipt) and o.position is not None
            )
            assert sum(o.events for o in outcomes if isinstance(o, Receipt)) == len(events) - before
            serial = memory_engine()
            set_up_with_store(serial)
            for _, n in accepted:
                commands[n](serial)
            assert normalised(all_events(serial)) == normalised(events)
            return engine.committer.stats
        finally:
            engine.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps)
def test_concurrent_commands_store_a_serial_history_of_the_accepted_ones(
    plan: list[tuple[str, int, int]],
) -> None:
    assert_serial(plan)


def test_a_contended_mix_is_grouped_conflicts_and_still_stores_a_serial_history() -> None:
    """The property's machinery on a mix known to group and to conflict: grants and top-ups
    on one pot, one person's endorsement twice, redemptions, comments, submissions."""
    plan = [("grant", 0, 0), ("grant", 1, 0), ("grant", 0, 1), ("top_up", 0, 1)]
    plan += [("top_up", 0, 2), ("endorse", 2, 1), ("endorse", 2, 1), ("redeem", 0, 0)]
    plan += [("comment", i, i) for i in range(4)] + [("submit", i, i) for i in range(4)]
    stats = assert_serial(plan)
    assert stats.largest > 1 and stats.conflicts >= 1, stats
