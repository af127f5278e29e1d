"""`groundswell.audit.export`: read back with fastavro and json, an export equals the stored
events (every field, in log order); a challenge's export holds exactly its part; the
manifest's counts, positions and file hashes are right. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import importlib
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings

from domain.catalog import EVENT_CLASSES, event_name
from domain.errors import NotFound
from domain.person import Person
from groundswell.app.engine import Engine
from groundswell.audit import export as export_module
from groundswell.audit import history as history_module
from groundswell.audit.export import ExportRefused, export
from schemas.codec import from_record, to_record
from tests.histories import History, played_histories
from tests.scenario import AUTHOR, CO_MANAGER, COLLEAGUE, MANAGER, REVIEWER, TEAMMATE, Scenario
from tests.support import SteppingClock, redeem

Positioned = tuple[int, Any]


def realistic_history(engine: Engine, clock: SteppingClock) -> tuple[UUID, UUID]:
    """Two challenges with ideas in many states, feedback, moderation, every kind of reward,
    people changing, a redemption, a prize and an archived pot. Returns both challenges."""
    s = Scenario(engine).with_cast()
    first = s.challenge()
    second = s.challenge(title="Fewer forklift accidents", pot=80)
    idea = s.idea(first, "implemented", team=(TEAMMATE,))
    clock.advance(days=1)
    comment = s.helpful_comment(idea)
    engine.grant_reward(CO_MANAGER, "helpful-contribution", comment)
    engine.grant_reward(CO_MANAGER, "idea-accepted", idea)
    engine.grant_reward(MANAGER, "idea-implemented", idea)
    engine.endorse(COLLEAGUE, idea)
    spam = engine.comment(REVIEWER, idea, 'Ünïcødé — 漢字, "quotes" and a\nnew line').id
    assert spam is not None
    engine.hide_contribution(MANAGER, spam, "Off topic")
    s.idea(first, "rejected", title="Print less")
    s.idea(first, "withdrawn", title="Paperless Fridays")
    clock.advance(hours=5)
    other = s.idea(second, "accepted", author=COLLEAGUE, title="Mirrors at corners")
    engine.grant_reward(MANAGER, "idea-accepted", other)
    engine.build_on(AUTHOR, other, "Add lights to the mirrors.", idea)
    redeem(engine, AUTHOR, 5, "Coffee")
    engine.choose_pseudonym(COLLEAGUE, "Night Owl")
    engine.change_department(TEAMMATE, "Logistics")
    engine.change_roles(REVIEWER, ["contributor", "owner"])
    s.move(first, "closed")
    engine.award_prize(MANAGER, idea, 1)
    s.move(first, "archived")
    return first, second


def stored(engine: Engine) -> list[Positioned]:
    """Every stored event with its position, in log order."""
    found: list[Positioned] = []
    start = 1
    while page := engine.recorder.select_notifications(start=start, limit=500):
        found += [(n.id, engine.mapper.to_domain_event(n)) for n in page]
        start = page[-1].id + 1
    return found


def plain(value: Any) -> Any:
    """UUIDs as text, as ``to_record`` gives them (fastavro reads the uuid type as UUID)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def read_avro(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open("rb") as f:
        records: list[Any] = list(fastavro.reader(f))
    return [(r["position"], plain(r["event"])) for r in records]


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        position = record.pop("position")
        record["occurred_at"] = datetime.fromisoformat(record["occurred_at"])
        found.append((position, record))
    return found


def assert_export_equals(out: Path, expected: list[Positioned]) -> None:
    """Both files hold exactly ``expected``: the same positions, records and events."""
    want = [(p, to_record(e)) for p, e in expected]
    for read in (read_avro(out / "events.avro"), read_jsonl(out / "events.jsonl")):
        assert [p for p, _ in read] == [p for p, _ in want]
        for (_, got), (position, record), (_, event) in zip(read, want, expected, strict=True):
            assert got == record, position
            assert list(got) == list(record), "fields in the schema's order"
            assert from_record(EVENT_CLASSES[got["event_type"]], got) == event


def test_a_full_export_reads_back_as_the_stored_events(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    realistic_history(engine, clock)
    manifest = export(engine, tmp_path / "out")
    everything = stored(engine)
    assert_export_equals(tmp_path / "out", everything)
    assert manifest["total"] == len(everything) > 50
    assert {event_name(e) for _, e in everything} >= {
        "Challenge.RewardGranted",
        "Challenge.Archived",
        "Contribution.Hidden",
        "Person.RewardReceived",
        "Person.PointsRedeemed",
        "Person.RolesChanged",
        "Idea.Implemented",
    }


def test_the_manifest_counts_positions_and_hashes(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    realistic_history(engine, clock)
    out = tmp_path / "out"
    manifest = export(engine, out)
    everything = stored(engine)
    counts: dict[str, int] = {}
    for _, event in everything:
        counts[event_name(event)] = counts.get(event_name(event), 0) + 1
    assert manifest["counts"] == counts
    assert manifest["total"] == sum(counts.values())
    assert manifest["first_position"] == everything[0][0]
    assert manifest["last_position"] == everything[-1][0] == manifest["log_last_position"]
    assert [f["name"] for f in manifest["files"]] == ["events.avro", "events.jsonl"]
    for f in manifest["files"]:
        data = (out / f["name"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
        assert f["bytes"] == len(data)
    assert json.loads((out / "manifest.json").read_text()) == manifest
    assert sorted(p.name for p in out.iterdir()) == ["events.avro", "events.jsonl", "manifest.json"]
    datetime.fromisoformat(manifest["exported_at"])


def test_the_manifest_has_the_chains_head_when_the_chain_module_exists(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    realistic_history(engine, clock)
    manifest = export(engine, tmp_path / "out")
    try:
        chain = importlib.import_module("groundswell.eventstore.chain")
    except ImportError:
        assert manifest["chain_head"] is None
        assert "not available" in manifest["chain_note"]
        return
    found = chain.head(engine)
    if found is None:  # the store keeps no chain (yet): said so, never a made-up hash
        assert manifest["chain_head"] is None
        assert "no chain head" in manifest["chain_note"]
        return
    position, digest = found
    assert manifest["chain_head"] == {"position": position, "hash": digest}
    assert position == manifest["last_position"], "nothing was written while exporting"


def concerns(event: Any, challenge_id: UUID) -> bool:
    """The documented scope of a challenge's export, said again independently."""
    if isinstance(event, Person.RewardReceived):
        return event.paying_challenge_id == challenge_id
    return event.challenge_id == challenge_id


def test_a_challenges_export_holds_exactly_its_events(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    first, second = realistic_history(engine, clock)
    everything = stored(engine)
    for challenge in (first, second):
        out = tmp_path / str(challenge)
        manifest = export(engine, out, challenge_id=challenge)
        expected = [(p, e) for p, e in everything if concerns(e, challenge)]
        assert_export_equals(out, expected)
        assert manifest["total"] == len(expected)
        assert manifest["scope"]["challenge_id"] == str(challenge)
        names = {event_name(e) for _, e in expected}
        assert {"Challenge.Drafted", "Challenge.RewardGranted", "Person.RewardReceived"} <= names
        assert {"Idea.Submitted", "Contribution.Added"} <= names
        assert not {"Person.Registered", "Person.PointsRedeemed"} & names
    # The build-on made in the second challenge on the first's idea belongs to the second.
    ideas_of_first = {e.originator_id for _, e in everything if concerns(e, first)}
    build_on = next(
        e for _, e in everything if event_name(e) == "Contribution.Added" and e.kind == "build-on"
    )
    assert build_on.challenge_id == second and build_on.originator_id not in ideas_of_first


def test_an_export_streams_in_batches(
    engine: Engine, clock: SteppingClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small batches, the null codec and a progress callback: the same events, in order."""
    realistic_history(engine, clock)
    monkeypatch.setattr(history_module, "BATCH", 7)
    seen: list[tuple[int, int]] = []
    manifest = export(
        engine, tmp_path / "out", codec="null", progress=lambda p, upto: seen.append((p, upto))
    )
    assert_export_equals(tmp_path / "out", stored(engine))
    assert manifest["avro"]["codec"] == "null"
    assert len(seen) == -(-manifest["last_position"] // 7)
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert seen[-1] == (manifest["last_position"], manifest["last_position"])


def test_an_export_refuses_to_overwrite_and_leaves_nothing_when_interrupted(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    realistic_history(engine, clock)
    out = tmp_path / "out"
    export(engine, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ExportRefused, match=r"events\.avro exists"):
        export(engine, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    def interrupt(position: int, upto: int) -> None:
        raise KeyboardInterrupt

    elsewhere = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        export(engine, elsewhere, progress=interrupt)
    assert list(elsewhere.iterdir()) == []
    idea = next(e for _, e in stored(engine) if event_name(e) == "Idea.Submitted")
    with pytest.raises(NotFound):
        export(engine, tmp_path / "idea", challenge_id=idea.originator_id)
    with pytest.raises(NotFound):
        export(engine, tmp_path / "none", challenge_id=UUID(int=1))


def test_the_container_files_schema_is_the_union_of_the_event_schemas(
    engine: Engine, clock: SteppingClock, tmp_path: Path
) -> None:
    realistic_history(engine, clock)
    export(engine, tmp_path / "out")
    with (tmp_path / "out" / "events.avro").open("rb") as f:
        reader = fastavro.reader(f)
        schema: Any = reader.writer_schema
        metadata = reader.metadata
    assert schema["name"] == "groundswell.export.LoggedEvent"
    branches = schema["fields"][1]["type"]
    assert sorted(b["name"] for b in branches) == sorted(
        f"groundswell.events.{name}" for name in EVENT_CLASSES
    )
    assert metadata["avro.codec"] == "deflate"
    assert metadata["groundswell.scope"] == "all"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(played_histories(max_steps=80))
def test_any_valid_history_exports_as_stored(history: History) -> None:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        manifest = export(history.engine, out / "all")
        assert_export_equals(out / "all", history.events)
        assert manifest["total"] == len(history.events)
        challenge = history.challenges[0]
        export(history.engine, out / "one", challenge_id=challenge)
        assert_export_equals(
            out / "one", [(p, e) for p, e in history.events if concerns(e, challenge)]
        )


def test_the_export_module_reads_only_what_a_challenge_could_hold() -> None:
    """People's events other than received rewards are filtered out by the database."""
    topics = export_module._challenge_topics()
    assert "domain.person:Person.RewardReceived" in topics
    assert not [t for t in topics if "Person." in t and "RewardReceived" not in t]
