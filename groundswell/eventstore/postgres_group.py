"""Saves a group of decided commands in ONE PostgreSQL transaction (for group commit).

The transaction does what ``KeyedPostgresRecorder`` does for one command, once for all:
``LOCK TABLE`` on the events table (EXCLUSIVE, as the library's recorder takes it, so no
other transaction inserts events, keys or chain rows until we commit); one insert of the
group's events; their chain rows after the chain's last row; each command's key with the
position of its last event; COMMIT. Pipelined, as the library's insert is: two round
trips for the whole group.

Conflicts set aside only the command concerned:

- within the group, a command that wants an (aggregate, version) or a key an earlier
  command of the group takes is left out before anything is sent;
- against what is stored, the first attempt just inserts (conflicts are rare); if the
  store refuses it (a unique violation rolls the transaction back whole, using up the
  sequence numbers it drew: positions may have gaps, as with the library's inserts),
  the second attempt looks the group's versions and keys up under the lock first and
  leaves out the commands that want stored ones. Under the lock the answer cannot
  change before the insert. One look-up for the group, where a SAVEPOINT per command
  would cost a round trip each. While groups keep meeting stored versions (a contended
  aggregate), the look-up comes first, saving the refused attempt.

A group retried after a connection error whose COMMIT had in fact landed finds its own
events in the look-up, byte for byte, and answers them as saved (see ``_unstored``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from eventsourcing.utils import retry
from psycopg import Connection, Cursor, Pipeline
from psycopg.rows import TupleRow, tuple_row
from psycopg.sql import SQL, Identifier

from groundswell.eventstore.group_commit import (
    MAX_ENV,
    WINDOW_ENV,
    GroupCommitter,
    PendingCommand,
)
from groundswell.eventstore.postgres_recorder import (
    KeyedPostgresRecorder,
    PostgresChainReader,
    rendered,
)
from groundswell.settings import DEFAULT_GROUP_COMMIT_MAX

if TYPE_CHECKING:
    from eventsourcing.application import Application

Pair = tuple[Any, Any]
Answers = list[Sequence[int] | None]


class PostgresGroupWriter:
    """The ``GroupWriter`` for ``KeyedPostgresRecorder`` stores."""

    def __init__(self, recorder: KeyedPostgresRecorder) -> None:
        self.recorder = recorder
        d = recorder.datastore
        events = Identifier(d.schema, recorder.events_table_name)
        id_type = SQL(d.originator_id_type)  # "uuid" or "text", checked by the datastore
        # Rendered once (see postgres_recorder): psycopg would render a Composed every time.
        self.stored_versions = rendered(
            SQL(
                "SELECT originator_id, originator_version, notification_id, state FROM {} WHERE"
                " (originator_id, originator_version) IN"
                " (SELECT * FROM unnest(%s::{}[], %s::bigint[]))"
            ).format(events, id_type)
        )
        keys = SQL(recorder.keys_table)  # schema-qualified by the recorder
        self.stored_keys = rendered(
            SQL(
                "SELECT scope, key FROM {} WHERE (scope, key) IN"
                " (SELECT * FROM unnest(%s::text[], %s::text[]))"
            ).format(keys)
        )
        self.insert_keys = rendered(
            SQL(
                "INSERT INTO {} (scope, key, fingerprint, result_id, events, position)"
                " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
                " %s::int[], %s::bigint[])"
            ).format(keys)
        )
        self.notify = recorder.notify_statement
        # Only the leader writes (one group at a time), so these need no lock.
        self.expect_conflicts = False
        self.found_stored = False
        # Four arrays sent in binary (%b), rather than the library's array of composites
        # sent as text: the states need no escaping, which was most of the insert's CPU.
        self.insert_events = rendered(
            SQL(
                "INSERT INTO {} (originator_id, originator_version, topic, state)"
                " SELECT * FROM unnest(%b::{}[], %b::bigint[], %b::text[], %b::bytea[])"
                " RETURNING notification_id"
            ).format(events, id_type)
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def __call__(self, batch: Sequence[PendingCommand]) -> Answers:
        """Per command, its notification ids, or None when it conflicted."""
        accepted = first_claims(batch, set(), set())
        if not self.expect_conflicts:
            try:
                return self._save(batch, accepted, look_up=False)
            except IntegrityError:
                self.expect_conflicts = True
        answers = self._save(batch, accepted, look_up=True)
        # Contended aggregates: keep looking up first while groups still meet stored ones.
        self.expect_conflicts = self.found_stored
        return answers

    def _save(self, batch: Sequence[PendingCommand], accepted: list[int], look_up: bool) -> Answers:
        """One transaction, BEGIN to COMMIT inside one pipeline: psycopg's ``transaction()``
        in a pipeline nests pipelines that sync at every edge, two more round trips (and
        ~0.3 ms of CPU) for each group. On an error the pool's connection context rolls
        the transaction back, as ``transaction()`` did."""
        with self.recorder.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.cursor() as c:
                try:
                    c.execute(b"BEGIN")  # the pool's connections are in autocommit mode
                    answers = self._write(conn, batch, accepted, look_up)
                    c.execute(b"COMMIT")
                except psycopg.Error:
                    drain(pipeline)
                    raise
            return answers

    def _write(
        self,
        conn: Connection[Any],
        batch: Sequence[PendingCommand],
        accepted: list[int],
        look_up: bool,
    ) -> Answers:
        r = self.recorder

        def cursor() -> Cursor[TupleRow]:
            return conn.cursor(row_factory=tuple_row)

        with cursor() as c:
            for statement in r.lock_table_statements:
                c.execute(statement, prepare=True)
        landed: dict[int, list[int]] = {}
        if look_up:
            accepted, landed = self._unstored(cursor, batch, accepted)
        answers: Answers = [landed.get(i) for i in range(len(batch))]
        rows = [e for i in accepted for e in batch[i].events]
        if not rows:
            return answers
        conn.execute(self.notify)  # delivered at commit, as the library's insert does
        with cursor() as inserted, cursor() as c:
            columns = [
                [e.originator_id for e in rows],
                [e.originator_version for e in rows],
                [e.topic for e in rows],
                [e.state for e in rows],
            ]
            inserted.execute(self.insert_events, columns, prepare=True)
            chain = PostgresChainReader(c, r.chain_queries)
            last = chain.head()  # this fetch sends the insert too: one round trip
            ids = [int(row[0]) for row in inserted.fetchall()]
            chain.extend(ids, rows, last)
            self._answer(c, batch, accepted, ids, answers)
            return answers

    def _unstored(
        self,
        cursor: Callable[[], Cursor[TupleRow]],
        batch: Sequence[PendingCommand],
        accepted: list[int],
    ) -> tuple[list[int], dict[int, list[int]]]:
        """Of ``accepted``: those whose versions and key are not stored yet, and those
        stored already, byte for byte, with their positions. Each event's state carries
        its own random event id, so only this very command can have stored them: its
        transaction committed though the answer was lost (a connection error, retried)."""
        chosen = [batch[i] for i in accepted]
        pairs = [(e.originator_id, e.originator_version) for p in chosen for e in p.events]
        keys = [(p.key.key.scope, p.key.key.key) for p in chosen if p.key is not None]
        with cursor() as versions, cursor() as stored_keys:
            self._look_up(versions, self.stored_versions, pairs)
            self._look_up(stored_keys, self.stored_keys, keys)
            stored = {(r[0], r[1]): (int(r[2]), bytes(r[3])) for r in versions.fetchall()}
            taken_keys = {(row[0], row[1]) for row in stored_keys.fetchall()}
        self.found_stored = bool(stored or taken_keys)
        landed: dict[int, list[int]] = {}
        for index in accepted:
            events = batch[index].events
            found = [stored.get((e.originator_id, e.originator_version)) for e in events]
            if all(f is not None and f[1] == e.state for f, e in zip(found, events, strict=True)):
                landed[index] = [f[0] for f in found if f is not None]
        left = [i for i in accepted if i not in landed]
        claims = first_claims([batch[i] for i in left], set(stored), taken_keys)
        return [left[i] for i in claims], landed

    @staticmethod
    def _look_up(c: Cursor[TupleRow], query: bytes, pairs: list[Pair]) -> None:
        firsts, seconds = zip(*pairs, strict=True) if pairs else ((), ())
        c.execute(query, (list(firsts), list(seconds)), prepare=True)

    def _answer(
        self,
        c: Cursor[TupleRow],
        batch: Sequence[PendingCommand],
        accepted: list[int],
        ids: list[int],
        answers: Answers,
    ) -> None:
        """Split the ids among the accepted commands, in order; store their keys."""
        key_rows = []
        start = 0
        for index in accepted:
            pending = batch[index]
            mine = ids[start : start + len(pending.events)]
            start += len(mine)
            answers[index] = mine
            if pending.key is not None:
                key_rows.append(pending.key.row(max(mine)))
        if key_rows:
            columns = [list(column) for column in zip(*key_rows, strict=True)]
            c.execute(self.insert_keys, columns, prepare=True)


def drain(pipeline: Pipeline) -> None:
    """Collect what the server answered for the statements queued after the one that
    failed (each "pipeline aborted"), so the pipeline ends empty and the error raised is
    the first one. Left queued, they were met by the pipeline's exit while the first error
    was propagating, and psycopg logged and dropped them ("error ignored terminating ...
    pipeline aborted") whenever the server's answers had not all arrived when the first
    error was read: a warning that came and went with the timing of the network."""
    # What it raises follows from the error being raised (or a lost connection it reports).
    with suppress(psycopg.Error):
        pipeline.sync()


def first_claims(
    batch: Sequence[PendingCommand], taken_pairs: set[Pair], taken_keys: set[Pair]
) -> list[int]:
    """The indexes of the commands that can be saved, in the order they came: a command
    conflicts if a version or key it wants is taken, stored or by a command before it."""
    accepted = []
    for index, pending in enumerate(batch):
        mine = {(e.originator_id, e.originator_version) for e in pending.events}
        key = None if pending.key is None else (pending.key.key.scope, pending.key.key.key)
        if mine & taken_pairs or key in taken_keys:
            continue
        accepted.append(index)
        taken_pairs |= mine
        if key is not None:
            taken_keys.add(key)
    return accepted


def group_committer(app: Application) -> GroupCommitter | None:
    """The committer ``app`` should save through, or None for one transaction per command:
    when its environment does not ask for group commit (``GROUNDSWELL_GROUP_COMMIT_MS``
    unset or ``off``), its store is not PostgreSQL, or it takes snapshots (which
    ``Application.save`` would take and a group does not)."""
    window = (app.env.get(WINDOW_ENV) or "off").strip().lower()
    if window == "off" or not isinstance(app.recorder, KeyedPostgresRecorder) or app.snapshots:
        return None
    return GroupCommitter(
        PostgresGroupWriter(app.recorder),
        window_ms=float(window),
        max_group=int(app.env.get(MAX_ENV) or DEFAULT_GROUP_COMMIT_MAX),
    )
