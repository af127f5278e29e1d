"""Every domain event class, by its stable name (the aggregate's and the event's class name)."""

from __future__ import annotations

from domain.base import GroundswellAggregate
from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.follow_up import FollowUp
from domain.idea import Idea
from domain.person import Person
from domain.store import StoreItem

AGGREGATES: tuple[type[GroundswellAggregate], ...] = (
    Challenge,
    Idea,
    Contribution,
    Person,
    FollowUp,
    StoreItem,
)


def _events_of(aggregate: type[GroundswellAggregate]) -> dict[str, type]:
    found = {}
    for name, value in vars(aggregate).items():
        is_event = isinstance(value, type) and issubclass(value, GroundswellAggregate.Event)
        if is_event and name not in ("Event", "Created"):
            found[f"{aggregate.__name__}.{name}"] = value
    return found


EVENT_CLASSES: dict[str, type] = {
    name: cls for aggregate in AGGREGATES for name, cls in _events_of(aggregate).items()
}


def event_name(event: object) -> str:
    """The stable name of an event's class, e.g. ``Idea.Submitted``."""
    return type(event).__qualname__
