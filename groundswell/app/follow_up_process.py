"""The follow-up process: a process manager driven by the event log and a clock.

Each pass reads the follow-up projection (caught up with the event store when embedded,
or as ``groundswell project`` fed it from Kafka in production), asks which reminders and
escalations the policies imply by now that are not recorded yet, and records each as an
event on the item's FollowUp aggregate; then it closes the follow-up of items answered
since. Deciding keeps nothing in memory: a pass that dies between deciding and recording
loses only its decision, and the next pass decides the same step again. Recording is
idempotent by the event store's optimistic concurrency (see domain/follow_up.py), so
several processes may run at once; each step is stored once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from groundswell.app.engine import Engine
from projections.follow_up_due import closings, plan
from projections.rows import Rows

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60.0


@dataclass(frozen=True)
class PassResult:
    """What one pass did: steps recorded, steps found recorded by someone else, closings."""

    now: datetime
    recorded: int
    already: int
    closed: int


Reading = Callable[[], AbstractContextManager[Rows]]


class FollowUpProcess:
    """Runs passes on ``engine`` over the follow-up rows ``reading`` opens, at ``clock``'s time.

    ``reading()`` is held only while deciding (where the served engine's readers wait for
    it), never while recording. The engine's own clock stamps the events; give both the
    same clock.
    """

    def __init__(self, engine: Engine, reading: Reading, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.reading = reading
        self.clock = clock

    def run_once(self) -> PassResult:
        """One pass: record every step due by now, close what was answered."""
        now = self.clock()
        with self.reading() as rows:
            planned = plan(rows, now)
            closing = closings(rows)
        recorded = already = closed = 0
        for step in planned:
            receipt = self.engine.record_follow_up_step(step)
            if receipt.events:
                recorded += 1
            else:
                already += 1
        for answered in closing:
            receipt = self.engine.close_follow_up(
                answered.item_key, answered.answered_at, answered.answered_by
            )
            closed += 1 if receipt.events else 0
        return PassResult(now, recorded, already, closed)

    def run_forever(self, stop: threading.Event, interval: float = DEFAULT_INTERVAL) -> None:
        """Pass after pass, ``interval`` seconds apart, until ``stop`` is set. A failing pass
        is logged and retried at the next interval: nothing it decided was half recorded."""
        while not stop.is_set():
            try:
                result = self.run_once()
            except Exception:
                log.exception("follow-up pass failed; trying again in %.0f s", interval)
            else:
                if result.recorded or result.closed:
                    log.info(
                        "follow-up: %d reminders/escalations recorded, %d closed",
                        result.recorded,
                        result.closed,
                    )
            stop.wait(interval)

    def start_in_thread(self, interval: float = DEFAULT_INTERVAL) -> Callable[[], None]:
        """Run passes in a daemon thread; returns the function that stops it."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self.run_forever, args=(stop, interval), name="follow-up", daemon=True
        )
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(30)

        return halt
