"""The envelope every event carries on the wire, and the mapping of Python types to Avro."""

from __future__ import annotations

import functools
import types
import typing
from typing import Any
from uuid import UUID

NAMESPACE = "groundswell.events"

# Fields the eventsourcing library adds to every event, and those groundswell adds; on the
# wire they travel as the envelope, in this order, before the event's own fields.
ENVELOPE: list[dict[str, Any]] = [
    {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "event_type", "type": "string"},
    {"name": "aggregate_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "aggregate_version", "type": "long"},
    {"name": "challenge_id", "type": ["null", {"type": "string", "logicalType": "uuid"}]},
    {"name": "actor", "type": "string"},
    {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
]
LIBRARY_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}
ENVELOPE_EVENT_FIELDS = {"event_id", "actor", "challenge_id"}


def avro_type(hint: Any) -> Any:
    """The Avro type for a Python annotation used in an event class."""
    if hint is str:
        return "string"
    if hint is int:
        return "long"
    if hint is bool:
        return "boolean"
    if hint is UUID:
        return {"type": "string", "logicalType": "uuid"}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return ["null", avro_type(inner)]
    if origin is list:
        return {"type": "array", "items": avro_type(args[0])}
    if origin is dict and args[0] is str:
        return {"type": "map", "values": avro_type(args[1])}
    raise TypeError(f"no Avro type for {hint!r}")


@functools.cache  # resolving annotations is slow, and codecs ask for every event
def event_fields(event_class: type) -> dict[str, Any]:
    """An event class's own fields (beyond the envelope) and their annotations, in order."""
    hints = typing.get_type_hints(event_class)
    skip = LIBRARY_FIELDS | ENVELOPE_EVENT_FIELDS
    return {
        name: hint
        for name, hint in hints.items()
        if name not in skip and typing.get_origin(hint) is not typing.ClassVar
    }


def _doc(name: str, event_class: type) -> str:
    doc = (event_class.__doc__ or "").strip()
    # dataclasses fill in a signature when a class has no docstring of its own
    if not doc or doc.startswith(event_class.__name__ + "("):
        return f"The {name} event."
    return doc.split("\n")[0]


def schema_for(name: str, event_class: type) -> dict[str, Any]:
    """The Avro record schema for an event class, envelope first."""
    aggregate, _, event = name.partition(".")
    fields = [{"name": n, "type": avro_type(h)} for n, h in event_fields(event_class).items()]
    return {
        "type": "record",
        "name": event,
        "namespace": f"{NAMESPACE}.{aggregate}",
        "doc": _doc(name, event_class),
        "fields": ENVELOPE + fields,
    }
