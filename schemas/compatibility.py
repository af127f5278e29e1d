"""Which schema changes keep old data readable: the rules of Avro schema resolution we use.

A new version of an event's schema may add fields with defaults and widen types the way
Avro promotes them; anything else would leave stored or published events unreadable.
"""

from __future__ import annotations

from typing import Any

PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def breaking_changes(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Why data written with ``writer`` could not be read with ``reader`` (empty: it can)."""
    problems = []
    written = {f["name"]: f for f in writer["fields"]}
    for field in reader["fields"]:
        name = field["name"]
        if name not in written:
            if "default" not in field:
                problems.append(f"field {name!r} was added without a default")
        elif not resolvable(written[name]["type"], field["type"]):
            problems.append(
                f"field {name!r} changed type from {_show(written[name]['type'])} "
                f"to {_show(field['type'])}"
            )
    return problems


def resolvable(writer: Any, reader: Any) -> bool:
    """Whether a value written as ``writer`` can be read as ``reader``."""
    if isinstance(writer, list):
        return all(resolvable(branch, reader) for branch in writer)
    if isinstance(reader, list):
        return any(resolvable(writer, branch) for branch in reader)
    w, r = _kind(writer), _kind(reader)
    if w == r == "array":
        return resolvable(writer["items"], reader["items"])
    if w == r == "map":
        return resolvable(writer["values"], reader["values"])
    return w == r or (w, r) in PROMOTIONS


def _kind(schema: Any) -> str:
    return str(schema["type"] if isinstance(schema, dict) else schema)


def _show(schema: Any) -> str:
    if isinstance(schema, list):
        return " | ".join(_show(s) for s in schema)
    return _kind(schema)
