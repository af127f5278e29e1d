"""The event-sourced application: runs commands with optimistic-concurrency retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.authority import actors_of, require_may_record
from domain.base import GroundswellAggregate
from domain.errors import ConcurrencyConflict, DomainError, NotFound
from groundswell.app.services.unit_of_work import UnitOfWork, replay
from groundswell.eventstore.group_commit import Decision
from groundswell.eventstore.idempotency import (
    CommandKey,
    KeyReused,
    current_key,
    is_definite,
    kept_refusal,
    refusal_record,
)
from groundswell.eventstore.keyed import ResultToKeep
from groundswell.eventstore.postgres_group import group_committer
from groundswell.eventstore.postgres_recorder import PreparedPostgresRecorder

T = TypeVar("T")
A = TypeVar("A", bound=GroundswellAggregate)

MAX_ATTEMPTS = 12


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass(frozen=True)
class Receipt:
    """What a command answers: the id it created or changed, and where its events landed.

    ``position`` is the notification-log id of the command's last event; readers can
    wait until their read models have caught up with it.
    """

    id: UUID | None
    position: int | None
    events: int


class GroundswellApplication(Application):
    """Loads aggregates, lets the domain decide, saves every change in one transaction."""

    name = "groundswell"

    def __init__(
        self, env: Mapping[str, str] | None = None, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.committer = group_committer(self)
        recorder = self.recorder
        self.read_many = (
            recorder.select_events_of if isinstance(recorder, PreparedPostgresRecorder) else None
        )

    def run(self, command: Callable[[UnitOfWork], UUID | None]) -> Receipt:
        """Run ``command`` against fresh state, retrying when a concurrent write wins.

        The command decides against the aggregates as loaded; if another writer saved a
        conflicting version first, the store refuses it (the whole transaction, or with
        group commit this command alone) and the command is decided again on the new
        state. It is never applied twice.

        Under an idempotency key, the key is looked up first (before any rule is checked),
        and a definite refusal is kept under it like a result (``groundswell/idempotency``).
        """
        key = current_key()
        for attempt in range(MAX_ATTEMPTS):
            with self._deciding() as decision:
                if key is not None and (kept := self.kept(key)) is not None:
                    return kept
                uow = UnitOfWork(self.repository, self.clock, self.read_many)
                try:
                    result_id = command(uow)
                    changed = uow.changed()
                    authorise(uow, changed)
                except DomainError as error:
                    # The same keyed command, sent twice at once, may have just been saved
                    # by its twin: then its first answer is the answer, not "already done".
                    if key is not None and (kept := self.kept(key)) is not None:
                        return kept
                    if key is None or not is_definite(error):
                        raise
                    refusal = error
                else:
                    if not changed:
                        return Receipt(result_id, None, 0)
                    keyed: ResultToKeep | None = None
                    if key is not None:
                        events = sum(len(a.pending_events) for a in changed)
                        keep = str(result_id) if result_id is not None else None
                        keyed = ResultToKeep(key, keep, events)
                    try:
                        ids = self._store(changed, keyed, decision)
                    except IntegrityError:
                        # A concurrent writer won (or sent the same key first): decide again.
                        time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.2)))
                        continue
                    return Receipt(result_id, max(ids, default=None), len(ids))
            # Only a refusal gets here; kept outside the group commit's deciding (it joins
            # no group), so that a retry under the same key answers it again.
            self.recorder.keep_refusal(key, refusal_record(refusal))  # type: ignore[attr-defined]
            raise refusal
        raise ConcurrencyConflict(
            "others changed the same thing at the same moment; please try again."
        )

    def _deciding(self) -> AbstractContextManager[Decision | None]:
        return nullcontext() if self.committer is None else self.committer.deciding()

    def _store(
        self,
        changed: list[GroundswellAggregate],
        keyed: ResultToKeep | None,
        decision: Decision | None,
    ) -> Sequence[int]:
        """Save the command's new events: alone, or in the next group (``decision``)."""
        if decision is None:
            extra = {} if keyed is None else {"command_key": keyed}
            return [r.notification.id for r in self.save(*changed, **extra)]
        events = [event for aggregate in changed for event in aggregate.collect_events()]
        ids = decision.commit([self.mapper.to_stored_event(e) for e in events], keyed)
        if self.repository.cache and not self.repository.fastforward:
            for aggregate in changed:  # as Application.save does
                self.repository.cache.put(aggregate.id, aggregate)
        return ids

    def kept(self, key: CommandKey) -> Receipt | None:
        """The first result of the command sent with ``key``, if it was stored; a different
        request under the same key is refused."""
        found = self.recorder.kept(key)  # type: ignore[attr-defined]
        if found is None:
            return None
        if found.fingerprint != key.fingerprint:
            raise KeyReused(
                f"idempotency key {key.key!r} was used before for a different request; "
                "use a new key for a new request.",
                field="Idempotency-Key",
            )
        if found.refusal is not None:
            raise kept_refusal(found.refusal)
        result_id = UUID(found.result_id) if found.result_id else None
        return Receipt(result_id, found.position, found.events)

    def load(self, kind: type[A], aggregate_id: UUID) -> A:
        """Read one aggregate as it is now (for views and tests; commands use ``run``)."""
        try:
            found = self.repository.get(aggregate_id, projector_func=replay)
        except AggregateNotFoundError:
            raise NotFound(f"no {kind.__name__.lower()} with id {aggregate_id}.") from None
        if not isinstance(found, kind):
            raise NotFound(f"{aggregate_id} is not a {kind.__name__.lower()}.")
        return found

    def history(self, aggregate_id: UUID) -> list[Any]:
        """Every stored event of one aggregate, oldest first."""
        return list(self.repository.event_store.get(aggregate_id))

    @property
    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0


def authorise(uow: UnitOfWork, changed: list[GroundswellAggregate]) -> None:
    """Refuse a command whose actor may not, today, record the events it decided on
    (``domain/authority.py``): auditors write nothing, managing needs the manager role."""
    events = [event for aggregate in changed for event in aggregate.pending_events]
    for handle in actors_of(events):
        require_may_record(uow.person(handle), events)
