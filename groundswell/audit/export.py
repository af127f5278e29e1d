"""A complete, verifiable export of the event log: Avro, JSON lines and a manifest.

Layout of an export directory (written as ``*.partial`` and renamed when complete; the
manifest comes last, so a directory with a manifest holds a whole export):

- ``events.avro``: one Avro Object Container File. Its schema is the record
  ``groundswell.export.LoggedEvent {position: long, event: <union>}`` whose union lists
  every event record schema of ``schemas/`` unchanged. One file keeps the log's total
  order (what auditors replay and what the hash chain covers) and carries each event's
  position; any Avro reader resolves the union branch from the schema in the file header.
  One file per event type would lose that order, or need a join on positions to get it back.
- ``events.jsonl``: one event per line in the same order: ``position``, then the envelope
  and fields exactly as the Avro record names them (``occurred_at`` in ISO 8601, UTC).
- ``manifest.json``: counts per event type and in total, first and last position, the
  export time, each file's size and SHA-256, and the hash chain's head.

A challenge's export (``challenge_id``) holds, in log order: every event whose envelope
names the challenge (the challenge's own events including its ``RewardGranted``, and every
event of its ideas and of their contributions: these carry the challenge id), and the
``Person.RewardReceived`` events it paid (``paying_challenge_id``), the people's side of
its grants. People's other events (registration, pseudonym, department, roles,
redemptions) belong to no challenge and are left out; a full export has them.

The log is read in batches and written as it is read: memory stays flat whatever its size.
Only events up to the last position stored when the export began are exported.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from fastavro import parse_schema
from fastavro.write import Writer

from domain.catalog import EVENT_CLASSES, event_name
from domain.challenge import Challenge
from domain.errors import NotFound
from domain.person import Person
from groundswell.app.application import GroundswellApplication
from groundswell.audit.history import log_batches, raw_mentions_supported
from schemas.codec import HERE, event_name_of, load_schema_file, to_record

AVRO_FILE = "events.avro"
JSONL_FILE = "events.jsonl"
MANIFEST_FILE = "manifest.json"
FILES = (AVRO_FILE, JSONL_FILE, MANIFEST_FILE)
EXPORT_RECORD = "groundswell.export.LoggedEvent"
FORMAT = "groundswell-audit-export/1"
CHALLENGE_SCOPE = (
    "events whose envelope challenge_id is the challenge (its own, its ideas' and their "
    "contributions'), and Person.RewardReceived events with that paying_challenge_id"
)
RECEIVED = get_topic(Person.RewardReceived)

Progress = Callable[[int, int], None]  # (position reached, last position to export)


class ExportRefused(Exception):
    """The export cannot be written where it was asked to go."""


def export_schema() -> dict[str, Any]:
    """The container file's schema: a position and one of the event records of schemas/."""
    records = [load_schema_file(p) for p in sorted(HERE.glob("*.avsc"))]
    return {
        "type": "record",
        "name": "LoggedEvent",
        "namespace": "groundswell.export",
        "doc": "One stored event and its position in groundswell's notification log.",
        "fields": [
            {"name": "position", "type": "long"},
            {"name": "event", "type": records},
        ],
    }


def avro_names() -> dict[str, str]:
    """Event name → the full Avro name of its record (which picks the union branch)."""
    names = {}
    for path in sorted(HERE.glob("*.avsc")):
        raw = load_schema_file(path)
        names[event_name_of(raw)] = f"{raw['namespace']}.{raw['name']}"
    return names


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    first: int | None = None
    last: int | None = None

    def add(self, name: str, position: int) -> None:
        self.counts[name] += 1
        self.first = position if self.first is None else self.first
        self.last = position


def export(
    engine: GroundswellApplication,
    out_dir: Path,
    *,
    challenge_id: UUID | None = None,
    codec: str = "deflate",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write the whole log (or one challenge's part of it) to ``out_dir``; the manifest."""
    if challenge_id is not None:
        _require_challenge(engine, challenge_id)
    taken = [name for name in FILES if (out_dir / name).exists()]
    if taken:
        raise ExportRefused(f"{out_dir / taken[0]} exists; export into an empty directory.")
    out_dir.mkdir(parents=True, exist_ok=True)
    # The head first: its position then lies within what is exported (writes may go on).
    chain = _chain_head(engine)
    upto = engine.recorder.max_notification_id() or 0
    started = datetime.now(tz=UTC)
    tally = _Tally()
    avro_path, jsonl_path = out_dir / f"{AVRO_FILE}.partial", out_dir / f"{JSONL_FILE}.partial"
    try:
        with avro_path.open("wb") as avro, jsonl_path.open("w", encoding="utf-8") as jsonl:
            metadata = {
                "groundswell.format": FORMAT,
                "groundswell.scope": _scope_label(challenge_id),
            }
            writer = Writer(avro, parse_schema(export_schema()), codec=codec, metadata=metadata)
            _write_log(engine, upto, challenge_id, writer, jsonl, tally, progress)
            writer.flush()
    except BaseException:
        # An interrupted export leaves nothing an auditor could mistake for a whole one.
        avro_path.unlink(missing_ok=True)
        jsonl_path.unlink(missing_ok=True)
        raise
    files = []
    for partial, name in ((avro_path, AVRO_FILE), (jsonl_path, JSONL_FILE)):
        files.append(_described(partial, name))
        os.replace(partial, out_dir / name)
    manifest = {
        "format": FORMAT,
        "exported_at": started.isoformat(),
        "scope": {
            "challenge_id": str(challenge_id) if challenge_id else None,
            "includes": CHALLENGE_SCOPE if challenge_id else "every stored event",
        },
        "log_last_position": upto,
        "first_position": tally.first,
        "last_position": tally.last,
        "total": sum(tally.counts.values()),
        "counts": dict(sorted(tally.counts.items())),
        "files": files,
        "avro": {"schema": EXPORT_RECORD, "codec": codec},
        **chain,
    }
    partial = out_dir / f"{MANIFEST_FILE}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, out_dir / MANIFEST_FILE)
    return manifest


def _write_log(
    engine: GroundswellApplication,
    upto: int,
    challenge_id: UUID | None,
    writer: Writer,
    jsonl: IO[str],
    tally: _Tally,
    progress: Progress | None,
) -> None:
    decode = engine.mapper.to_domain_event
    names = avro_names()
    wanted = _challenge_filter(engine, challenge_id)
    topics = _challenge_topics() if challenge_id else []
    for batch in log_batches(engine, 1, upto, topics):
        lines = []
        for n in batch:
            if wanted is not None and not wanted(n):
                continue
            event = decode(n)
            if challenge_id is not None and not concerns(event, challenge_id):
                continue
            name = event_name(event)
            record = to_record(event)
            writer.write({"position": n.id, "event": (names[name], record)})
            lines.append(json_line(n.id, record))
            tally.add(name, n.id)
        jsonl.write("".join(lines))
        if progress:
            progress(batch[-1].id, upto)


def concerns(event: Any, challenge_id: UUID) -> bool:
    """Whether a challenge's export includes ``event`` (see the module's docstring)."""
    if event.challenge_id == challenge_id:
        return True
    return isinstance(event, Person.RewardReceived) and event.paying_challenge_id == challenge_id


def json_line(position: int, record: dict[str, Any]) -> str:
    shown = {"position": position, **record, "occurred_at": record["occurred_at"].isoformat()}
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":")) + "\n"


def _challenge_topics() -> list[str]:
    # People's events other than the rewards they receive never concern a challenge.
    kept = (cls for name, cls in EVENT_CLASSES.items() if not name.startswith("Person."))
    return [*sorted(get_topic(cls) for cls in kept), RECEIVED]


def _challenge_filter(
    engine: GroundswellApplication, challenge_id: UUID | None
) -> Callable[[Notification], bool] | None:
    """A cheap test on the stored bytes that no event of the challenge fails (or None)."""
    if challenge_id is None or not raw_mentions_supported(engine):
        return None
    needle = challenge_id.hex.encode()
    return lambda n: needle in n.state


def _require_challenge(engine: GroundswellApplication, challenge_id: UUID) -> None:
    first = list(engine.repository.event_store.get(challenge_id, limit=1))
    if not first or not isinstance(first[0], Challenge.Drafted):
        raise NotFound(f"no challenge with id {challenge_id}.", field="challenge")


def _scope_label(challenge_id: UUID | None) -> str:
    return f"challenge {challenge_id}" if challenge_id else "all"


def _described(path: Path, name: str) -> dict[str, Any]:
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"name": name, "bytes": path.stat().st_size, "sha256": digest}


def _chain_head(engine: GroundswellApplication) -> dict[str, Any]:
    """The tamper-evident chain's last position and hash, as the chain module reports it:
    an anchor for verifying the store later. Null only with a note saying why."""
    try:
        from groundswell.eventstore.chain import head
    except ImportError:
        return {
            "chain_head": None,
            "chain_note": "groundswell.eventstore.chain is not available in this build",
        }
    found = head(engine)
    if found is None:
        return {
            "chain_head": None,
            "chain_note": "no chain head: the log is empty or the store keeps no chain",
        }
    position, digest = found
    return {"chain_head": {"position": position, "hash": digest}}
