"""Two follow-up processes at once over one store record each reminder once (SQLite file and
PostgreSQL): the FollowUp aggregate's next version can be written only once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest

from domain.follow_up import FollowUp
from groundswell.app.engine import Engine
from groundswell.app.follow_up_process import FollowUpProcess
from groundswell.bootstrap import build_engine
from groundswell.demo.summary import all_events
from groundswell.settings import Settings
from tests.follow_up_world import World, day, organisation
from tests.support import database_url_or_fail, postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path)
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        yield Settings(database_url=url, postgres_schema=schema)


def test_two_processes_at_once_record_each_step_once(settings: Settings) -> None:
    world = World("2027-01-01 09:00", engine=None)
    world.engine = build_engine(settings, clock=world.clock)
    organisation(world)
    for n in range(12):
        idea = world.engine.submit_idea("ann", world.challenge_id(), title=f"I{n}", description="d")
        assert idea.id is not None
        world.engine.comment("ben", idea.id, f"question {n}")
    moment = day("2027-03-01 09:00")
    engines: list[Engine] = [build_engine(settings, clock=lambda: moment) for _ in range(2)]
    rows = world.rows()  # both decide on the same rows: every step is contested
    processes = [FollowUpProcess(e, lambda: nullcontext(rows), lambda: moment) for e in engines]
    results = []
    start = threading.Barrier(2)

    def run(process: FollowUpProcess) -> None:
        start.wait()
        results.append(process.run_once())

    threads = [threading.Thread(target=run, args=(p,)) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        steps = Counter(
            (e.item_key, e.step)
            for e in all_events(engines[0])
            if isinstance(e, (FollowUp.ReminderSent, FollowUp.Escalated))
        )
        assert len(results) == 2
        assert steps and max(steps.values()) == 1
        assert sum(r.recorded for r in results) == len(steps)
        assert all(r.recorded + r.already == len(steps) for r in results)
        # 12 ideas (due 01-31: 5 reminders, kai, coo) and 12 comments (due 01-09: 8 reminders,
        # the managers, coo) by 03-01
        assert len(steps) == 12 * (5 + 2) + 12 * (8 + 2)
    finally:
        for engine in engines:
            engine.close()
        world.engine.close()
