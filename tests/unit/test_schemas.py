"""The wire format: one schema per event class, single-object encoding, compatible evolution."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from domain.catalog import EVENT_CLASSES
from schemas.codec import HERE, EventCodec, UndecodableEvent, event_name_of, load_schema_file
from schemas.compatibility import breaking_changes
from schemas.envelope import schema_for
from tests.fixtures.every_event import FIXTURES, every_event_history, record_json

CODEC = EventCodec(EVENT_CLASSES)


@pytest.mark.parametrize("name", sorted(EVENT_CLASSES))
def test_each_event_class_and_its_schema_agree_field_for_field(name: str) -> None:
    path = HERE / f"{name}.avsc"
    assert path.exists(), f"{name} has no schema: run scripts/generate-schemas"
    on_file = {f["name"]: f["type"] for f in load_schema_file(path)["fields"]}
    in_code = {f["name"]: f["type"] for f in schema_for(name, EVENT_CLASSES[name])["fields"]}
    for field, avro_type in in_code.items():
        assert field in on_file, f"{name}.{field} is in the event class but not in {path.name}"
        assert on_file[field] == avro_type, (
            f"{name}.{field}: class {avro_type}, file {on_file[field]}"
        )
    for field in on_file:
        assert field in in_code, f"{name}.{field} is in {path.name} but not in the event class"


def test_every_schema_file_names_an_event_class() -> None:
    for path in HERE.glob("*.avsc"):
        assert event_name_of(load_schema_file(path)) in EVENT_CLASSES, path.name


def test_every_event_round_trips_through_single_object_encoding() -> None:
    engine = every_event_history()
    seen = set()
    for notification in engine.recorder.select_notifications(start=1, limit=10_000):
        event = engine.mapper.to_domain_event(notification)
        data = CODEC.encode(event)
        assert CODEC.decode(data) == event
        seen.add(type(event).__qualname__)
    assert seen == set(EVENT_CLASSES)


def test_the_header_is_the_marker_and_the_crc64_fingerprint_of_the_canonical_form() -> None:
    event = next(iter(_events()))
    data = CODEC.encode(event)
    schema = parse_schema(load_schema_file(HERE / f"{type(event).__qualname__}.avsc"))
    expected = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == expected


def test_bytes_that_are_not_an_event_are_refused_with_a_reason() -> None:
    with pytest.raises(UndecodableEvent, match="marker"):
        CODEC.decode(b"not avro at all")
    with pytest.raises(UndecodableEvent, match="unknown schema fingerprint 0102030405060708"):
        CODEC.decode(b"\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08rest")
    good = CODEC.encode(next(iter(_events())))
    with pytest.raises(UndecodableEvent, match="does not match"):
        CODEC.decode(good[:12])


def test_every_current_schema_version_has_a_stored_fixture() -> None:
    stored = {path.stem for path in FIXTURES.glob("*.bin")}
    for name, schema in CODEC.current.items():
        assert f"{name}.{schema.fingerprint.hex()}" in stored, (
            f"no fixture for the current schema of {name}: run python -m tests.fixtures.every_event"
        )


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.bin")), ids=lambda p: p.stem)
def test_todays_reader_decodes_every_published_version(path: Path) -> None:
    name, record = CODEC.decode_record(path.read_bytes())
    expected = json.loads(path.with_suffix(".json").read_text())
    decoded = record_json(record)
    for field, value in expected.items():
        assert decoded[field] == value, f"{name}.{field}"
    reader = load_schema_file(HERE / f"{name}.avsc")
    for field in reader["fields"]:
        if field["name"] not in expected:
            assert decoded[field["name"]] == field["default"], f"{name}.{field['name']}"
    assert CODEC.decode(path.read_bytes()) is not None


def test_every_older_schema_version_is_readable_by_todays_schema() -> None:
    for old in sorted((HERE / "versions").glob("*.avsc")):
        written = load_schema_file(old)
        current = load_schema_file(HERE / f"{event_name_of(written)}.avsc")
        assert breaking_changes(written, current) == [], old.name


def test_a_breaking_change_fails_with_a_message_naming_the_field() -> None:
    old = load_schema_file(HERE / "Idea.Submitted.avsc")
    added = {**old, "fields": [*old["fields"], {"name": "budget", "type": "long"}]}
    retyped = {
        **old,
        "fields": [{**f, "type": "long"} if f["name"] == "title" else f for f in old["fields"]],
    }
    compatible = {
        **old,
        "fields": [*old["fields"], {"name": "budget", "type": "long", "default": 0}],
    }
    assert breaking_changes(old, added) == ["field 'budget' was added without a default"]
    assert breaking_changes(old, retyped) == ["field 'title' changed type from string to long"]
    assert breaking_changes(old, compatible) == []


def _events() -> list[object]:
    engine = every_event_history()
    return [
        engine.mapper.to_domain_event(n)
        for n in engine.recorder.select_notifications(start=1, limit=100)
    ]
