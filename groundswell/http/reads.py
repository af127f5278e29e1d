"""The read side as the API sees it: a projection's rows, caught up to what the caller wrote."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from groundswell.http.problems import ApiProblem
from groundswell.read_models import ReadModels
from projections.rows import Rows

WAIT_SECONDS = 2.0


class ReadSide(Protocol):
    def reading(self, name: str, at_least: int = 0) -> Iterator[Rows]:
        """The rows of projection ``name``, including at least position ``at_least``."""
        ...

    def position(self) -> int: ...


def not_caught_up(at_least: int, position: int) -> ApiProblem:
    return ApiProblem(
        503,
        "not-caught-up",
        f"the read models are at position {position}, not yet at {at_least}; "
        "try again in a moment.",
        field="at_least",
        headers={"Retry-After": "1"},
    )


class EmbeddedReadSide:
    """Projections fed in-process from the engine's notification log (embedded mode).

    One lock around catching up and reading: the projector mutates rows in place, so a
    read never sees half of a batch. A write's events are in the log when its command
    returns, so catching up always reaches a position the caller was given.
    """

    def __init__(self, read_models: ReadModels, wait_seconds: float = WAIT_SECONDS) -> None:
        self._models = read_models
        self._wait = wait_seconds
        self._lock = threading.Lock()

    @contextmanager
    def reading(self, name: str, at_least: int = 0) -> Iterator[Rows]:
        with self._lock:
            follower = self._models.follower
            if at_least and not follower.wait_until(at_least, timeout=self._wait):
                raise not_caught_up(at_least, follower.projector.position)
            follower.catch_up()
            yield self._models.projector.rows[name]

    def position(self) -> int:
        return self._models.projector.position

    def close(self) -> None:
        self._models.close()
