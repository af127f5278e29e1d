"""Avro single-object encoding of domain events, against the .avsc files beside this module.

Bytes on the wire: ``C3 01``, the 8-byte CRC-64-AVRO fingerprint of the writer schema's
parsing canonical form (little-endian), then the Avro binary body. A reader that has the
schema files can decode any message without a registry: the fingerprint names the writer
schema, and the current schema of the same event is the reader schema, so data written
with an older version of a schema is resolved to today's fields (new fields get their
defaults).
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from schemas.envelope import event_fields

MAGIC = b"\xc3\x01"
HERE = Path(__file__).parent


class UndecodableEvent(ValueError):
    """Bytes that are not a groundswell event this reader can decode."""


@dataclass(frozen=True)
class Schema:
    name: str  # the event's stable name, e.g. "Idea.Submitted"
    parsed: Any
    fingerprint: bytes
    current: bool
    # Parsed once more, marked as parsed: fastavro's writer then skips parsing the schema
    # again on every call (half of its time per event).
    writer: Any


def load_schema_file(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def event_name_of(schema: dict[str, Any]) -> str:
    return f"{schema['namespace'].rsplit('.', 1)[-1]}.{schema['name']}"


def fingerprint_of(parsed: Any) -> bytes:
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


class EventCodec:
    """Encodes domain events to bytes and back; knows every published schema version."""

    def __init__(self, event_classes: dict[str, type], directory: Path = HERE) -> None:
        self.event_classes = event_classes
        self.current: dict[str, Schema] = {}
        self.by_fingerprint: dict[bytes, Schema] = {}
        for path in sorted(directory.glob("*.avsc")):
            self._add(load_schema_file(path), current=True)
        for path in sorted((directory / "versions").glob("*.avsc")):
            self._add(load_schema_file(path), current=False)
        missing = sorted(set(event_classes) - set(self.current))
        if missing:
            raise LookupError(f"no schema in {directory} for {', '.join(missing)}")

    def _add(self, raw: dict[str, Any], *, current: bool) -> None:
        name = event_name_of(raw)
        parsed = parse_schema(raw, _write_hint=False)
        schema = Schema(name, parsed, fingerprint_of(parsed), current, parse_schema(raw))
        self.by_fingerprint.setdefault(schema.fingerprint, schema)
        if current:
            self.current[name] = schema

    def fingerprint(self, event: Any) -> bytes:
        return self.current[type(event).__qualname__].fingerprint

    def encode(self, event: Any) -> bytes:
        schema = self.current[type(event).__qualname__]
        body = io.BytesIO()
        body.write(MAGIC)
        body.write(schema.fingerprint)
        fastavro.schemaless_writer(body, schema.writer, to_record(event))
        return body.getvalue()

    def decode_record(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """The event's name and its fields as today's schema names them."""
        if len(data) < 10 or data[:2] != MAGIC:
            raise UndecodableEvent("not Avro single-object encoded (no C3 01 marker)")
        writer = self.by_fingerprint.get(data[2:10])
        if writer is None:
            raise UndecodableEvent(f"unknown schema fingerprint {data[2:10].hex()}")
        reader = self.current.get(writer.name)
        if reader is None:
            raise UndecodableEvent(f"no current schema for {writer.name}")
        # Today's schema wrote it (the common case): nothing to resolve, read it as written.
        resolve_to = None if reader is writer else reader.writer
        try:
            record = fastavro.schemaless_reader(io.BytesIO(data[10:]), writer.writer, resolve_to)
        except Exception as error:  # fastavro raises assorted errors on bad bodies
            raise UndecodableEvent(f"{writer.name}: body does not match its schema") from error
        return writer.name, dict(record)  # type: ignore[arg-type]

    def decode(self, data: bytes) -> Any:
        """The domain event the bytes encode."""
        name, record = self.decode_record(data)
        return from_record(self.event_classes[name], record)


def to_record(event: Any) -> dict[str, Any]:
    """An event as a dict in its schema's shape (envelope first)."""
    record: dict[str, Any] = {
        "event_id": str(event.event_id),
        "event_type": type(event).__qualname__,
        "aggregate_id": str(event.originator_id),
        "aggregate_version": event.originator_version,
        "challenge_id": str(event.challenge_id) if event.challenge_id else None,
        "actor": event.actor,
        "occurred_at": event.timestamp,
    }
    for name in event_fields(type(event)):
        value = getattr(event, name)
        record[name] = str(value) if isinstance(value, UUID) else value
    return record


def from_record(event_class: type, record: dict[str, Any]) -> Any:
    """Rebuild the domain event from a decoded record."""
    hints = event_fields(event_class)
    fields: dict[str, Any] = {}
    for name, hint in hints.items():
        value = record.get(name)
        fields[name] = _revive(hint, value)
    occurred: datetime = record["occurred_at"]
    kwargs: dict[str, Any] = {
        "originator_id": _uuid(record["aggregate_id"]),
        "originator_version": record["aggregate_version"],
        "timestamp": occurred,
        "event_id": _uuid(record["event_id"]),
        "actor": record["actor"],
        "challenge_id": _uuid(record["challenge_id"]) if record["challenge_id"] else None,
        **fields,
    }
    topic = _aggregate_topic(event_class)
    if topic is not None:
        kwargs["originator_topic"] = topic
    return event_class(**kwargs)


@functools.cache
def _aggregate_topic(event_class: type) -> str | None:
    """The aggregate topic a created-event carries (None for other events)."""
    from eventsourcing.utils import get_topic

    if "originator_topic" not in getattr(event_class, "__dataclass_fields__", {}):
        return None
    aggregate = event_class.__qualname__.split(".")[0]
    module = __import__(event_class.__module__, fromlist=[aggregate])
    return str(get_topic(getattr(module, aggregate)))


def _uuid(value: str | UUID) -> UUID:
    # fastavro gives UUID objects for the uuid logical type; older writers may give text
    return value if isinstance(value, UUID) else UUID(value)


def _revive(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is UUID or UUID in getattr(hint, "__args__", ()):
        return _uuid(value)
    return value
