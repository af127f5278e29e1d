"""The group committer on its own, with a fake writer: who leads, who waits, who hears what."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent

from groundswell.eventstore.group_commit import (
    WINDOW_ENV,
    GroupCommitFailed,
    GroupCommitter,
    PendingCommand,
)
from groundswell.settings import Settings
from tests.support import memory_engine


def one_event() -> list[StoredEvent]:
    return [StoredEvent(uuid.uuid4(), 1, "topic", b"{}")]


class FakeWriter:
    """Numbers events in arrival order; remembers each group; can be told to fail."""

    def __init__(self, delay: float = 0.0) -> None:
        self.groups: list[int] = []
        self.position = 0
        self.delay = delay
        self.fail: Exception | None = None
        self.conflicted: set[int] = set()  # indexes within a group to answer None
        self.lock = threading.Lock()

    def __call__(self, batch: Sequence[PendingCommand]) -> list[Sequence[int] | None]:
        assert self.lock.acquire(blocking=False), "two leaders wrote at once"
        try:
            time.sleep(self.delay)
            self.groups.append(len(batch))
            if self.fail is not None:
                raise self.fail
            answers: list[Sequence[int] | None] = []
            for index, pending in enumerate(batch):
                if index in self.conflicted:
                    answers.append(None)
                    continue
                ids = list(range(self.position + 1, self.position + len(pending.events) + 1))
                self.position += len(ids)
                answers.append(ids)
            return answers
        finally:
            self.lock.release()


def commit_many(committer: GroupCommitter, callers: int) -> list[Sequence[int] | BaseException]:
    start = threading.Barrier(callers)

    def one(_: int) -> Sequence[int] | BaseException:
        with committer.deciding() as decision:
            start.wait()
            try:
                return decision.commit(one_event(), None)
            except Exception as error:
                return error

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(one, range(callers)))


def test_a_lone_caller_is_committed_at_once_without_waiting_for_the_window() -> None:
    writer = FakeWriter()
    committer = GroupCommitter(writer, window_ms=500)
    started = time.perf_counter()
    for _ in range(5):
        with committer.deciding() as decision:
            decision.commit(one_event(), None)
    assert time.perf_counter() - started < 0.25
    assert writer.groups == [1] * 5


def test_concurrent_callers_share_groups_and_each_hears_its_own_ids() -> None:
    writer = FakeWriter(delay=0.005)
    committer = GroupCommitter(writer, window_ms=50)
    outcomes = commit_many(committer, 24)
    ids = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(ids) == 24
    assert sorted(i for one in ids for i in one) == list(range(1, 25))
    assert sum(writer.groups) == 24
    assert len(writer.groups) < 24 and max(writer.groups) > 1


def test_a_group_never_exceeds_the_largest_size() -> None:
    writer = FakeWriter(delay=0.002)
    outcomes = commit_many(GroupCommitter(writer, window_ms=50, max_group=4), 16)
    assert all(not isinstance(o, BaseException) for o in outcomes)
    assert max(writer.groups) <= 4 and sum(writer.groups) == 16


def test_a_conflicted_command_alone_hears_an_integrity_error() -> None:
    writer = FakeWriter()
    writer.conflicted = {1}
    committer = GroupCommitter(writer, window_ms=200)
    outcomes = commit_many(committer, 3)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == len(writer.groups)  # the second of each group
    assert all(isinstance(e, IntegrityError) for e in errors)
    assert committer.stats.conflicts == len(errors)


def test_a_failed_transaction_fails_every_command_of_the_group_with_a_clear_error() -> None:
    writer = FakeWriter(delay=0.01)
    writer.fail = RuntimeError("disk full")
    committer = GroupCommitter(writer, window_ms=200)
    outcomes = commit_many(committer, 6)
    assert all(isinstance(o, GroupCommitFailed) for o in outcomes)
    message = str(outcomes[0])
    assert "none of them was saved" in message and "disk full" in message
    assert isinstance(outcomes[0].__cause__, RuntimeError)  # type: ignore[union-attr]
    # The committer is not stuck: the next command is led and saved.
    writer.fail = None
    assert GroupCommitter(writer).commit(one_event(), None)
    assert committer.commit(one_event(), None)


def test_a_store_that_refuses_the_group_whole_has_every_command_decided_again() -> None:
    writer = FakeWriter()
    writer.fail = IntegrityError("duplicate key")
    outcomes = commit_many(GroupCommitter(writer, window_ms=100), 4)
    assert all(type(o) is IntegrityError for o in outcomes)


def test_settings_refuse_a_negative_window() -> None:
    with pytest.raises(ValueError):
        GroupCommitter(FakeWriter(), window_ms=-1)


def test_group_commit_is_on_by_default_for_postgresql_and_can_be_turned_off() -> None:
    url = "postgresql://u:p@127.0.0.1:5432/db"
    default = Settings.from_environment({"DATABASE_URL": url}).eventsourcing_env()
    assert default["GROUNDSWELL_GROUP_COMMIT_MS"] == "2.0"
    assert default["GROUNDSWELL_GROUP_COMMIT_MAX"] == "128"
    environ = {"DATABASE_URL": url, "GROUNDSWELL_GROUP_COMMIT_MS": "OFF"}
    assert Settings.from_environment(environ).eventsourcing_env()[WINDOW_ENV] == "off"
    environ = {"DATABASE_URL": url, "GROUNDSWELL_GROUP_COMMIT_MS": "0.5"}
    environ["GROUNDSWELL_GROUP_COMMIT_MAX"] = "16"
    chosen = Settings.from_environment(environ)
    assert (chosen.group_commit_ms, chosen.group_commit_max) == (0.5, 16)
    with pytest.raises(ValueError):
        Settings.from_environment({"GROUNDSWELL_GROUP_COMMIT_MS": "-1"})


def test_sqlite_and_the_memory_store_save_each_command_alone(tmp_path: Path) -> None:
    assert WINDOW_ENV not in Settings(data_dir=tmp_path).eventsourcing_env()
    assert memory_engine().committer is None


def test_a_lost_connection_is_not_reported_as_nothing_saved() -> None:
    """A COMMIT may land and its answer be lost: the callers are told so, not "none saved"."""
    writer = FakeWriter()
    writer.fail = OperationalError("server closed the connection unexpectedly")
    outcomes = commit_many(GroupCommitter(writer, window_ms=100), 2)
    assert all(isinstance(o, GroupCommitFailed) for o in outcomes)
    assert all("may have been saved" in str(o) for o in outcomes)
    assert all("same idempotency key" in str(o) for o in outcomes)
