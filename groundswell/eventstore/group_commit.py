"""Group commit: concurrent commands share one transaction, so they share one flush.

Each caller decides its command on its own thread, as before, then hands the stored
events (and its idempotency key) to the committer and waits. One caller at a time is
the *leader*: it takes every command waiting (up to ``max_group``), has the writer save
them in ONE transaction, and wakes each caller with its notification ids or its error.
Whoever is waiting when the leader is done becomes the next leader, so the next group
fills while this one is flushed: no thread of our own, no fixed sleep.

``window`` lets a leader wait a little for callers still deciding (never when nobody
else is): with one caller the command is committed at once.

The writer (``groundswell/eventstore/postgres_group.py``) answers per command: its ids, or
None when it conflicted (another command, in this group or already stored, wrote the
same aggregate version or the same key first). A conflicted command raises
``IntegrityError`` here, exactly as a refused single-command transaction does, and is
decided again on fresh state. If the transaction itself fails, every command in it
gets ``GroupCommitFailed`` and nothing of it was written (unless the connection was lost
for good during COMMIT: then the outcome is unknown, and the error says so).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)

from groundswell.eventstore.keyed import ResultToKeep
from groundswell.settings import DEFAULT_GROUP_COMMIT_MAX, DEFAULT_GROUP_COMMIT_MS

# Read from the application's environment (``Settings.eventsourcing_env`` puts them there).
WINDOW_ENV = "GROUNDSWELL_GROUP_COMMIT_MS"
MAX_ENV = "GROUNDSWELL_GROUP_COMMIT_MAX"


class GroupCommitFailed(PersistenceError):
    """The transaction that was to save a group of commands failed; none of them is saved."""


@dataclass
class PendingCommand:
    """One decided command waiting to be saved."""

    events: Sequence[StoredEvent]
    key: ResultToKeep | None
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # set, with ``done``, when this caller is to lead the next group
    ids: Sequence[int] | None = None
    error: BaseException | None = None


# Saves a group in one transaction; per command, its notification ids or None (conflicted).
GroupWriter = Callable[[Sequence[PendingCommand]], Sequence[Sequence[int] | None]]


@dataclass
class GroupStats:
    """Counters for tests and benchmarks (read without the lock: approximate while busy)."""

    groups: int = 0
    commands: int = 0
    conflicts: int = 0
    failed_groups: int = 0
    largest: int = 0


class GroupCommitter:
    """Batches concurrent commands into shared transactions (see the module docstring)."""

    def __init__(
        self,
        write: GroupWriter,
        window_ms: float = DEFAULT_GROUP_COMMIT_MS,
        max_group: int = DEFAULT_GROUP_COMMIT_MAX,
    ) -> None:
        if max_group < 1 or window_ms < 0:
            raise ValueError("group commit needs max_group >= 1 and window_ms >= 0")
        self._write = write
        self._window = window_ms / 1000
        self._max = max_group
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: list[PendingCommand] = []
        self._leading = False
        self._deciding = 0
        self.stats = GroupStats()

    @contextmanager
    def deciding(self) -> Iterator[Decision]:
        """A caller deciding a command: a leader's window waits only while someone is.

        The decision's ``commit`` stops counting it in the same step as it queues the
        command, so a leader never sees it neither deciding nor waiting."""
        decision = Decision(self)
        with self._lock:
            self._deciding += 1
        try:
            yield decision
        finally:
            if not decision.submitted:
                with self._lock:
                    self._deciding -= 1
                    self._arrived.notify()

    def commit(self, events: Sequence[StoredEvent], key: ResultToKeep | None) -> Sequence[int]:
        """Save ``events`` (and ``key``) in the next group; their notification ids, once
        durable. Raises ``IntegrityError`` on a conflict (decide again), or
        ``GroupCommitFailed`` when the group's transaction failed."""
        return self._enqueue(PendingCommand(events, key), was_deciding=False)

    def _enqueue(self, pending: PendingCommand, was_deciding: bool) -> Sequence[int]:
        with self._lock:
            self._deciding -= was_deciding
            self._queue.append(pending)
            self._arrived.notify()
            lead = not self._leading
            self._leading = True
        if not lead:
            pending.done.wait()
        if lead or pending.lead:
            self._lead()
        if pending.error is not None:
            raise pending.error
        assert pending.ids is not None
        return pending.ids

    def _lead(self) -> None:
        batch = self._take()
        try:
            self._save(batch)
        finally:
            # Hand over first, so the next group is saved while this one's callers wake.
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            if successor is not None:
                successor.lead = True
                successor.done.set()
            for pending in batch:
                pending.done.set()

    def _take(self) -> list[PendingCommand]:
        with self._lock:
            deadline = time.monotonic() + self._window
            # Only wait for callers that are deciding right now; alone, commit at once.
            while self._deciding > 0 and len(self._queue) < self._max:
                left = deadline - time.monotonic()
                if left <= 0 or not self._arrived.wait(left):
                    break
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
        return batch

    def _save(self, batch: list[PendingCommand]) -> None:
        stats = self.stats
        stats.groups += 1
        stats.commands += len(batch)
        stats.largest = max(stats.largest, len(batch))
        try:
            outcomes = self._write(batch)
        except IntegrityError as error:
            # The store refused the group whole (a writer that bypasses the insert lock?):
            # nothing was written; like a refused single command, each is decided again.
            stats.conflicts += len(batch)
            for pending in batch:
                pending.error = IntegrityError(str(error))
            return
        except BaseException as error:  # every command in the group shares the failure
            stats.failed_groups += 1
            for pending in batch:
                pending.error = GroupCommitFailed(failure(len(batch), error))
                pending.error.__cause__ = error
            if not isinstance(error, Exception):
                raise  # an interrupt of the leader's own thread: its callers are answered
            return
        for pending, ids in zip(batch, outcomes, strict=True):
            if ids is None:
                stats.conflicts += 1
                pending.error = IntegrityError(
                    "another command saved the same aggregate version or key first"
                )
            else:
                pending.ids = ids


def failure(commands: int, error: BaseException) -> str:
    """What every caller of a failed group is told: nothing saved, unless the connection
    was lost, when a COMMIT may have landed unanswered (retries found it not, or failed)."""
    cause = f"{type(error).__name__}: {error}"
    if isinstance(error, OperationalError | InterfaceError):
        return (
            f"the connection failed while saving {commands} concurrent command(s) and did "
            f"not come back: {cause}. If it failed during COMMIT they may have been saved; "
            "send them again with the same idempotency key to find out."
        )
    return (
        f"the transaction saving {commands} concurrent command(s) failed, so none of them "
        f"was saved: {cause}"
    )


class Decision:
    """One caller's turn: decide, then ``commit`` (at most once)."""

    def __init__(self, committer: GroupCommitter) -> None:
        self._committer = committer
        self.submitted = False

    def commit(self, events: Sequence[StoredEvent], key: ResultToKeep | None) -> Sequence[int]:
        if self.submitted:
            raise RuntimeError("a decision is committed once; decide again in a new one")
        self.submitted = True
        return self._committer._enqueue(PendingCommand(events, key), was_deciding=True)
