"""A small world for the group-commit tests: fixed ids (so the same commands run on
another engine too), an engine with group commit, and commands released together."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.settings import Settings
from tests.scenario import AUTHOR, CAST, COLLEAGUE, MANAGER, REVIEWER, TEAMMATE, terms
from tests.support import SteppingClock, database_url_or_fail

Command = Callable[[Engine], Receipt]
# A generous window: commands started together land in one group, so the tests see groups.
WINDOW_MS = 200.0


def grouped_engine(schema: str, window_ms: float = WINDOW_MS) -> Engine:
    settings = Settings(
        database_url=database_url_or_fail(), postgres_schema=schema, group_commit_ms=window_ms
    )
    engine = build_engine(settings, clock=SteppingClock())
    assert engine.committer is not None, "group commit is on by default on PostgreSQL"
    return engine


def at_once(
    engine: Engine,
    commands: list[Command],
    caught: tuple[type[Exception], ...] = (DomainError,),
) -> list[Any]:
    """Run every command on its own thread, all released together; an exception of a
    ``caught`` kind is that command's outcome."""
    start = threading.Barrier(len(commands))

    def one(command: Command) -> Any:
        start.wait()
        try:
            return command(engine)
        except caught as refusal:
            return refusal

    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(one, commands))


def fixed(name: str) -> UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"groundswell-test:{name}")


CHALLENGES = [fixed("challenge-0"), fixed("challenge-1")]
IDEAS = [fixed(f"idea-{i}") for i in range(4)]  # 0, 1 in challenge 0; 2, 3 in challenge 1
AUTHORS = [AUTHOR, TEAMMATE, COLLEAGUE, REVIEWER]


def set_up(engine: Engine, pot: int = 30) -> None:
    for handle, (name, department, roles) in CAST.items():
        engine.register_person(handle, name=name, department=department, roles=roles)
    for challenge_id in CHALLENGES:
        engine.draft_challenge(MANAGER, pot=pot, challenge_id=challenge_id, **terms())
        engine.open_challenge(MANAGER, challenge_id)
    for i, idea_id in enumerate(IDEAS):
        engine.submit_idea(
            AUTHORS[i],
            CHALLENGES[i // 2],
            title=f"Idea {i}",
            description="Scan it.",
            idea_id=idea_id,
        )
        engine.start_review(MANAGER, idea_id)
        engine.accept_idea(MANAGER, idea_id, "Worth a pilot.")
