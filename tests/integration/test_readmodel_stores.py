"""Read models kept in SQLite and PostgreSQL: checkpoints, resuming, rebuilds, atomic saves.

Every test runs on both backends through the ``engine`` fixture; the read models go in
the engine's own database (its PostgreSQL schema, or beside its SQLite file).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from consumers.projector import Projector
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_read_models
from groundswell.reads.read_models import ReadModels
from groundswell.settings import Settings
from projections.catalog import PROJECTION_NAMES, all_projections
from projections.leaderboard import LeaderboardProjection
from projections.projection import fold
from projections.rows import VERSIONS
from tests.support import SteppingClock, redeem

PEOPLE = {
    "mia": ("Innovation", ["manager"]),
    "max": ("Innovation", ["manager"]),
    "ann": ("Sales", ["contributor"]),
    "bob": ("Operations", ["contributor"]),
    "cat": ("Finance", ["contributor"]),
    "olo": ("Logistics", ["owner"]),
}


def created(receipt: Any) -> UUID:
    assert receipt.id is not None
    return UUID(str(receipt.id))


def first_day(e: Engine, clock: SteppingClock) -> dict[str, UUID]:
    """Enough history to give every projection rows: ideas, a team, rewards, a redemption."""
    for handle, (department, roles) in PEOPLE.items():
        e.register_person(
            handle, name=handle.title(), department=department, roles=roles, pseudonym=None
        )
    challenge = created(
        e.draft_challenge(
            "mia",
            pot=100,
            title="Less paper",
            question="How?",
            sponsor="COO",
            target_departments=["Operations"],
            submission_deadline="2026-04-30",
            decision_deadline_days=7,
            accepted_idea_points=11,
            helpful_contribution_points=3,
        )
    )
    e.add_manager("mia", challenge, "max")
    e.open_challenge("mia", challenge)
    idea = created(e.submit_idea("ann", challenge, title="Scan notes", description="Scan."))
    e.invite_to_team("ann", idea, "bob")
    e.join_team("bob", idea)
    comment = created(e.comment("cat", idea, "Ask the carriers."))
    e.submit_idea("cat", challenge, title="Print less", description="Less.")
    clock.advance(days=2)
    e.start_review("mia", idea)
    e.accept_idea("mia", idea)
    e.take_over_idea("mia", idea, core_process="Inbound", owner="olo")
    e.mark_helpful("mia", comment)
    e.grant_reward("max", "idea-accepted", idea)
    e.grant_reward("max", "helpful-contribution", comment)
    redeem(e, "ann", 4, "Coffee")
    return {"challenge": challenge, "idea": idea}


def next_day(e: Engine, clock: SteppingClock, ids: dict[str, UUID]) -> None:
    clock.advance(days=1)
    e.choose_pseudonym("ann", "Lightbulb")
    e.comment("bob", ids["idea"], "On it.")
    e.report_progress("olo", ids["idea"], "Scanners ordered")
    e.move_challenge_to_review("mia", ids["challenge"])
    redeem(e, "bob", 2, "Tea")


def expected(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every read model folded from zero over the engine's whole history."""
    notifications = engine.recorder.select_notifications(start=1, limit=10**6)
    events = [engine.mapper.to_domain_event(n) for n in notifications]
    return {p.name: fold(p, events).public() for p in all_projections()}


def live(read_models: ReadModels) -> dict[str, dict[str, Any]]:
    return {name: copy.deepcopy(read_models.rows(name).public()) for name in PROJECTION_NAMES}


def stored(read_models: ReadModels) -> dict[str, tuple[dict[str, Any], int, int]]:
    """What the store holds now: each projection's rows (with versions), position, version."""
    found = {}
    for name in PROJECTION_NAMES:
        rows, position, version = read_models.projector.store.load(name)
        found[name] = (copy.deepcopy(rows.tables()), position, version)
    return found


@pytest.fixture
def settings(engine: Engine) -> Settings:
    """Settings that put the read models where the engine keeps its events."""
    if engine.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        schema = engine.env.get("POSTGRES_SCHEMA")
        assert schema, "the postgres engine fixture works in a fresh schema"
        return Settings(database_url=os.environ["DATABASE_URL"], postgres_schema=schema)
    return Settings(data_dir=Path(str(engine.env.get("SQLITE_DBNAME"))).parent)


@pytest.fixture
def open_read_models(engine: Engine, settings: Settings) -> Iterator[Any]:
    """Opens ReadModels over the engine (as many as a test wants); closes them after."""
    opened: list[ReadModels] = []

    def open_one() -> ReadModels:
        read_models = build_read_models(engine, settings)
        opened.append(read_models)
        return read_models

    yield open_one
    for read_models in opened:
        read_models.close()


@pytest.fixture
def ids(engine: Engine, clock: SteppingClock) -> dict[str, UUID]:
    return first_day(engine, clock)


# -- catching up ----------------------------------------------------------------------------


def test_catching_up_writes_rows_and_a_checkpoint_per_projection(
    engine: Engine, ids: dict[str, UUID], open_read_models: Any
) -> None:
    read_models = open_read_models()

    reached = read_models.follower.catch_up()

    assert reached == engine.last_position > 0
    checkpoints = {c.projection: c for c in read_models.projector.store.checkpoints()}
    assert sorted(checkpoints) == sorted(PROJECTION_NAMES)
    for projection in all_projections():
        checkpoint = checkpoints[projection.name]
        assert (checkpoint.position, checkpoint.version) == (reached, projection.version)
        assert checkpoint.rows > 0, projection.name
    assert live(read_models) == expected(engine)
    # The log delivers each position once, so the embedded store keeps no versions.
    assert {n: s[0] for n, s in stored(read_models).items()} == expected(engine)
    assert all(VERSIONS not in s[0] for s in stored(read_models).values())


def test_rows_can_wait_for_a_commands_position(
    engine: Engine, ids: dict[str, UUID], open_read_models: Any
) -> None:
    read_models = open_read_models()
    read_models.follower.catch_up()

    receipt = engine.choose_pseudonym("cat", "Critic")
    people = read_models.rows("leaderboard", at_least=receipt.position or 0).table("people")

    assert people["cat"]["pseudonym"] == "Critic"
    assert read_models.projector.position == receipt.position


# -- resuming -------------------------------------------------------------------------------


def test_a_new_instance_resumes_from_the_checkpoint_and_equals_the_first(
    engine: Engine, clock: SteppingClock, ids: dict[str, UUID], open_read_models: Any
) -> None:
    first = open_read_models()
    checkpoint = first.follower.catch_up()
    next_day(engine, clock, ids)

    second = open_read_models()
    assert second.projector.positions == dict.fromkeys(PROJECTION_NAMES, checkpoint)
    read_from = []
    read = second.follower.read
    second.follower.read = lambda after, stop=None, topics=(): (
        read_from.append(after) or read(after, stop, topics)
    )
    second.follower.catch_up()

    assert read_from == [checkpoint]  # it read only what came after its checkpoint
    assert live(second) == live(first) == expected(engine)
    second.follower.rebuild()
    assert live(second) == expected(engine)


def test_rebuilding_one_projection_equals_the_live_one(
    engine: Engine, clock: SteppingClock, ids: dict[str, UUID], open_read_models: Any
) -> None:
    read_models = open_read_models()
    read_models.follower.catch_up()
    next_day(engine, clock, ids)
    read_models.follower.catch_up()

    for name in PROJECTION_NAMES:
        before = copy.deepcopy(read_models.projector.rows[name].public())
        read_models.follower.rebuild([name])

        assert read_models.projector.rows[name].public() == before, name
        assert read_models.projector.positions[name] == engine.last_position
        rows, position, _version = read_models.projector.store.load(name)
        assert (rows.public(), position) == (before, engine.last_position), name


def test_rows_written_after_a_rebuild_reach_the_store(
    engine: Engine, clock: SteppingClock, ids: dict[str, UUID], open_read_models: Any
) -> None:
    read_models = open_read_models()
    read_models.follower.rebuild()
    next_day(engine, clock, ids)
    read_models.follower.catch_up()

    assert live(open_read_models()) == expected(engine)


# -- a changed fold is rebuilt from zero -----------------------------------------------------


def stale(read_models: ReadModels, name: str) -> int:
    """Mark ``name``'s stored rows as written by another fold version, with a row it
    would never write; returns the stored position."""
    store = read_models.projector.store
    position = read_models.projector.positions[name]
    store.save(name, [("stale", "leftover", {"from": "version 0"})], position, 0)
    return position


def test_a_store_written_by_another_fold_version_is_rebuilt_from_zero(
    engine: Engine, ids: dict[str, UUID], open_read_models: Any
) -> None:
    first = open_read_models()
    first.follower.catch_up()
    stale(first, "leaderboard")

    second = open_read_models()
    assert second.projector.positions["leaderboard"] == 0
    assert second.projector.rows["leaderboard"].tables() == {}
    assert second.projector.positions["balances"] == engine.last_position
    read_from = []
    read = second.follower.read
    second.follower.read = lambda after, stop=None, topics=(): (
        read_from.append(after) or read(after, stop, topics)
    )
    second.follower.catch_up()

    assert read_from == [0]
    assert live(second) == expected(engine)
    (checkpoint,) = [
        c for c in second.projector.store.checkpoints() if c.projection == "leaderboard"
    ]
    assert (checkpoint.position, checkpoint.version) == (
        engine.last_position,
        LeaderboardProjection().version,
    )


def test_rows_of_the_old_fold_version_do_not_survive_in_the_store(
    engine: Engine, ids: dict[str, UUID], open_read_models: Any
) -> None:
    first = open_read_models()
    first.follower.catch_up()
    stale(first, "leaderboard")
    open_read_models().follower.catch_up()

    third = open_read_models()

    assert third.rows("leaderboard").public() == expected(engine)["leaderboard"]


# -- atomicity ------------------------------------------------------------------------------


class Crash(Exception):
    pass


def crash_after_writing(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store's row writes fail halfway: rows written, then an error."""
    write = store._write

    def write_then_crash(projection: str, changes: list[Any]) -> None:
        write(projection, changes)
        raise Crash(f"disk full while saving {projection}")

    monkeypatch.setattr(store, "_write", write_then_crash)


def test_a_save_that_fails_midway_changes_neither_rows_nor_checkpoint(
    engine: Engine,
    clock: SteppingClock,
    ids: dict[str, UUID],
    open_read_models: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_models = open_read_models()
    read_models.follower.catch_up()
    before = stored(read_models)
    checkpoints = read_models.projector.store.checkpoints()
    next_day(engine, clock, ids)
    crash_after_writing(read_models.projector.store, monkeypatch)

    with pytest.raises(Crash):
        read_models.follower.catch_up()

    assert stored(read_models) == before
    assert read_models.projector.store.checkpoints() == checkpoints
    monkeypatch.undo()
    assert stored(open_read_models()) == before  # as another connection sees it


def test_a_replace_that_fails_midway_keeps_the_old_read_model(
    engine: Engine,
    clock: SteppingClock,
    ids: dict[str, UUID],
    open_read_models: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_models = open_read_models()
    read_models.follower.catch_up()
    before = stored(read_models)
    store = read_models.projector.store
    checkpoint = store._checkpoint

    def checkpoint_then_crash(*args: Any) -> None:
        checkpoint(*args)
        raise Crash("connection lost")

    monkeypatch.setattr(store, "_checkpoint", checkpoint_then_crash)

    with pytest.raises(Crash):
        read_models.follower.rebuild(["balances"])

    monkeypatch.undo()
    assert stored(read_models) == before


def test_catching_up_again_after_a_failed_save_loses_nothing(
    engine: Engine,
    clock: SteppingClock,
    ids: dict[str, UUID],
    open_read_models: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_models = open_read_models()
    read_models.follower.catch_up()
    next_day(engine, clock, ids)
    crash_after_writing(read_models.projector.store, monkeypatch)
    with pytest.raises(Crash):
        read_models.follower.catch_up()
    monkeypatch.undo()

    read_models.follower.catch_up()

    assert live(open_read_models()) == expected(engine)


def test_a_projector_built_on_an_empty_store_starts_from_zero(
    engine: Engine, ids: dict[str, UUID], open_read_models: Any
) -> None:
    store = open_read_models().projector.store

    projector = Projector(store, all_projections())

    assert projector.position == 0
    assert all(rows.public() == {} for rows in projector.rows.values())
