"""The aggregate base every groundswell aggregate shares.

Every event carries, besides the library's originator id, version and timestamp:
a stable ``event_id`` (so redelivery can be detected downstream), the ``actor``
who caused it, and the ``challenge_id`` it belongs to (``None`` for people), which
is the ordering key on the wire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate


class GroundswellAggregate(Aggregate):
    """An aggregate whose events carry the groundswell envelope fields."""

    class Event(Aggregate.Event):
        event_id: UUID
        actor: str
        challenge_id: UUID | None

    class Created(Event, Aggregate.Created):
        pass

    def _scope(self) -> UUID | None:
        """The challenge this aggregate's events belong to."""
        raise NotImplementedError

    @classmethod
    def _begin(
        cls,
        created_class: type[Aggregate.Created],
        aggregate_id: UUID,
        actor: str,
        at: datetime,
        *,
        challenge_id: UUID | None,
        **fields: Any,
    ) -> Any:
        """Create the aggregate through its created-event, envelope filled in."""
        return cls._create(
            created_class,
            id=aggregate_id,
            event_id=uuid4(),
            actor=actor,
            challenge_id=challenge_id,
            timestamp=at,
            **fields,
        )

    def _record(
        self, event_class: type[Aggregate.Event], actor: str, at: datetime, **fields: Any
    ) -> None:
        """Trigger an event with the envelope fields filled in."""
        self.trigger_event(
            event_class,
            event_id=uuid4(),
            actor=actor,
            challenge_id=self._scope(),
            timestamp=at,
            **fields,
        )
