"""One aggregate's history, and an idea's whole story, as timeline entries for auditors.

Pure reads of the event store: nothing here writes, and every entry turns into plain JSON
(``to_json``), so the CLI and the HTTP API show the same thing.

An idea's story gathers what other aggregates say about it: its contributions (which know
their idea; the idea does not know them) and its challenge's rewards for it or for them.
The rewards come from the challenge's own events (an indexed read). The contributions cost
one range scan of the notification log, from the challenge's first position to the end,
filtered by the database to the three contribution event types; only the ``Added`` rows
whose stored bytes mention the idea are decoded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.catalog import event_name
from domain.contribution import Contribution
from domain.errors import InvalidInput, NotFound
from domain.follow_up import follow_up_id
from domain.person import checked_handle, person_id
from groundswell.app.application import GroundswellApplication
from schemas.codec import to_record

BATCH = 5_000
# The envelope ``to_record`` puts first; an entry keeps it in its own attributes.
ENVELOPE_KEYS = frozenset(
    {"event_id", "event_type", "aggregate_id", "aggregate_version", "challenge_id"}
    | {"actor", "occurred_at"}
)

# Where each event belongs in an idea's story; other events are named by their aggregate.
CHAPTERS = {
    "Idea.Submitted": "submission",
    "Idea.Edited": "submission",
    "Idea.TeamMemberInvited": "team",
    "Idea.TeamMemberJoined": "team",
    "Idea.ReviewerAsked": "review",
    "Idea.ReviewStarted": "review",
    "Contribution.Added": "feedback",
    "Contribution.MarkedHelpful": "feedback",
    "Contribution.Hidden": "feedback",
    "Idea.Accepted": "decision",
    "Idea.Rejected": "decision",
    "Idea.Withdrawn": "withdrawal",
    "Idea.MergedInto": "merge",
    "Idea.MergeUndone": "merge",
    "Idea.DuplicateAbsorbed": "merge",
    "Idea.DuplicateReleased": "merge",
    "Idea.TakeOverRequested": "hand-over",
    "Idea.TakenOver": "hand-over",
    "Idea.OwnerReassigned": "hand-over",
    "Idea.ProgressReported": "progress",
    "Idea.Implemented": "implementation",
    "Idea.Abandoned": "implementation",
    "Challenge.RewardGranted": "reward",
    "FollowUp.Opened": "follow-up",
    "FollowUp.ReminderSent": "follow-up",
    "FollowUp.Escalated": "follow-up",
    "FollowUp.Answered": "follow-up",
}


@dataclass(frozen=True)
class TimelineEntry:
    """One stored event as an auditor reads it.

    ``position`` is the event's place in the notification log (None where the store
    cannot say); ``fields`` are the event's own fields, JSON-ready (ids as text).
    """

    position: int | None
    at: datetime  # UTC
    aggregate_kind: str  # Challenge | Idea | Contribution | Person
    aggregate_id: UUID
    version: int
    event_type: str  # e.g. "Idea.Submitted"
    actor: str
    event_id: UUID
    challenge_id: UUID | None
    chapter: str
    fields: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        found = asdict(self)
        for name in ("aggregate_id", "event_id", "challenge_id"):
            found[name] = None if found[name] is None else str(found[name])
        found["at"] = self.at.isoformat()
        return found


def entry_of(event: Any, position: int | None = None) -> TimelineEntry:
    """The timeline entry of one domain event."""
    record = to_record(event)
    name = event_name(event)
    kind = name.split(".", 1)[0]
    return TimelineEntry(
        position=position,
        at=event.timestamp,
        aggregate_kind=kind,
        aggregate_id=event.originator_id,
        version=event.originator_version,
        event_type=name,
        actor=event.actor,
        event_id=event.event_id,
        challenge_id=event.challenge_id,
        chapter=CHAPTERS.get(name, kind.lower()),
        fields={k: v for k, v in record.items() if k not in ENVELOPE_KEYS},
    )


def resolve(reference: str) -> UUID:
    """An aggregate id from what an auditor types: a UUID, or a person's handle."""
    try:
        return UUID(reference.strip())
    except ValueError:
        pass
    try:
        return person_id(checked_handle(reference.strip()))
    except InvalidInput:
        raise InvalidInput(
            f"{reference!r} is neither an id nor a person's handle.", field="id"
        ) from None


def history(engine: GroundswellApplication, aggregate_id: UUID) -> list[TimelineEntry]:
    """Every event of one challenge, idea, contribution or person, oldest first."""
    events = engine.history(aggregate_id)
    if not events:
        raise NotFound(f"nothing was ever recorded under id {aggregate_id}.", field="id")
    positions = stored_positions(engine, aggregate_id)
    return [entry_of(e, positions.get(e.originator_version)) for e in events]


def idea_story(engine: GroundswellApplication, idea_id: UUID) -> list[TimelineEntry]:
    """The idea's own events, its contributions' events and the challenge's rewards for
    either, merged in time order (ties in log order)."""
    own = history(engine, idea_id)
    if own[0].event_type != "Idea.Submitted":
        raise NotFound(f"{idea_id} is not an idea.", field="id")
    assert own[0].challenge_id is not None
    challenge = history(engine, own[0].challenge_id)
    # A contribution needs an open challenge, saved before it: none lies before the
    # challenge's first position. The earliest safe start that is cheap to know (the
    # idea's own would do for commands too, but one batch save may order aggregates
    # freely, and an auditor's view must not miss anything).
    start = challenge[0].position or 1
    feedback = list(_contributions(engine, idea_id, start))
    subjects = {str(idea_id)} | {str(e.aggregate_id) for e in feedback}
    rewards = [
        e
        for e in challenge
        if e.event_type == "Challenge.RewardGranted" and e.fields["subject_id"] in subjects
    ]
    followed = list(_follow_ups(engine, idea_id, subjects, own))
    return sorted([*own, *feedback, *rewards, *followed], key=_time_order)


def _follow_ups(
    engine: GroundswellApplication,
    idea_id: UUID,
    subjects: set[str],
    own: list[TimelineEntry],
) -> Iterator[TimelineEntry]:
    """The reminders, escalations and closings the follow-up process recorded for the idea,
    its contributions and its progress reports (their FollowUp ids follow from the keys)."""
    reports = sum(1 for e in own if e.event_type == "Idea.ProgressReported")
    taken = any(e.event_type == "Idea.TakenOver" for e in own)
    periods = [f"{idea_id}/progress/{n}" for n in range(1, reports + 2)] if taken else []
    for key in sorted(subjects) + periods:
        aggregate_id = follow_up_id(key)
        events = engine.history(aggregate_id)
        if events:
            positions = stored_positions(engine, aggregate_id)
            yield from (entry_of(e, positions.get(e.originator_version)) for e in events)


def _time_order(entry: TimelineEntry) -> tuple[datetime, bool, int, int]:
    return (entry.at, entry.position is None, entry.position or 0, entry.version)


ADDED, HELPFUL, HIDDEN = (
    get_topic(c) for c in (Contribution.Added, Contribution.MarkedHelpful, Contribution.Hidden)
)


def _contributions(
    engine: GroundswellApplication, idea_id: UUID, start: int
) -> Iterator[TimelineEntry]:
    """The events of the contributions on the idea: one pass over the log from ``start``,
    filtered by the database to contribution events. Only ``Added`` rows whose bytes name
    the idea are decoded; a contribution's later events are known by their aggregate id
    (always after its ``Added``)."""
    decode = engine.mapper.to_domain_event
    prefilter = raw_mentions_supported(engine)
    needle = idea_id.hex.encode()
    found: set[UUID] = set()
    upto = engine.recorder.max_notification_id() or 0
    for batch in log_batches(engine, start, upto, [ADDED, HELPFUL, HIDDEN]):
        for n in batch:
            if n.topic != ADDED:
                if as_uuid(n.originator_id) in found:
                    yield entry_of(decode(n), n.id)
            elif not prefilter or needle in n.state:
                event: Any = decode(n)
                if event.idea_id == idea_id:
                    found.add(event.originator_id)
                    yield entry_of(event, n.id)


def log_batches(
    engine: GroundswellApplication, start: int, stop: int, topics: Sequence[str] = ()
) -> Iterator[Sequence[Notification]]:
    """The notification log from ``start`` to ``stop`` (inclusive) in batches, only the
    given topics when some are named (the database filters them)."""
    while start <= stop:
        batch = engine.recorder.select_notifications(
            start=start, limit=BATCH, stop=stop, topics=topics
        )
        if not batch:
            return
        yield batch
        start = batch[-1].id + 1


def raw_mentions_supported(engine: GroundswellApplication) -> bool:
    """Whether a stored event's bytes contain the hex of every id it carries.

    True for the plain JSON the engine stores; with a cipher or compression configured
    the bytes say nothing, and every candidate must be decoded.
    """
    mapper = engine.mapper
    if getattr(mapper, "cipher", None) is not None:
        return False
    if getattr(mapper, "compressor", None) is not None:
        return False
    probe = UUID(int=0x0123456789ABCDEF0123456789ABCDEF)
    try:
        return probe.hex.encode() in mapper.transcoder.encode({"id": probe})
    except Exception:  # a transcoder that cannot say: decode everything
        return False


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def stored_positions(engine: GroundswellApplication, aggregate_id: UUID) -> dict[int, int]:
    """Version → notification-log position of one aggregate's events ({} if unknown).

    The library reads an aggregate's events without their positions; this asks the
    same primary-key index for them, on the stores groundswell runs on.
    """
    from eventsourcing.popo import POPOApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    recorder = engine.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        table = recorder.events_table_name
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid FROM {table} WHERE originator_id=?",
                (aggregate_id.hex,),
            )
            return {int(row[0]): int(row[1]) for row in c.fetchall()}
    if isinstance(recorder, POPOApplicationRecorder):
        index = getattr(recorder, "_stored_events_index", {})
        found = index.get(str(aggregate_id), {})
        return {int(version): i + 1 for version, i in found.items()}
    return _postgres_positions(recorder, aggregate_id)


def _postgres_positions(recorder: Any, aggregate_id: UUID) -> dict[int, int]:
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder
        from psycopg.sql import SQL, Identifier
    except ImportError:
        return {}
    if not isinstance(recorder, PostgresApplicationRecorder):
        return {}
    statement = SQL(
        "SELECT originator_version, notification_id FROM {}.{} WHERE originator_id = %s"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    key: UUID | str = aggregate_id
    if recorder.datastore.originator_id_type == "text":
        key = str(aggregate_id)
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, [key])
        return {
            int(row["originator_version"]): int(row["notification_id"]) for row in curs.fetchall()
        }
