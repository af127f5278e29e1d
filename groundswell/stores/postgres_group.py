"""Saves a group of decided commands in ONE PostgreSQL transaction (for group commit).

The transaction does what ``KeyedPostgresRecorder`` does for one command, once for all:

1. ``LOCK TABLE`` on the events table (EXCLUSIVE, as the library's recorder takes it):
   from here on no other transaction inserts events, keys or chain rows;
2. looks up which of the group's (aggregate, version) pairs and idempotency keys are
   stored already. Under the lock that answer cannot change before our insert, so a
   command that would violate a unique key is set aside (conflicted) before anything is
   written, instead of failing the whole transaction; so is a command that wants a
   version or key an earlier command of the same group takes;
3. inserts the survivors' events in one statement, their chain rows after the chain's
   last row, their keys with the position of their last event; commits.

One round trip finds the conflicts for the whole group, where a SAVEPOINT per command
would cost one each. Should an insert still hit a unique violation (a writer that does
not take the lock), the transaction fails whole and the group's commands are decided again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from groundswell.group_commit import PendingCommand
from groundswell.stores.keyed_recorders import KeyedPostgresRecorder, PostgresChainReader

Pair = tuple[Any, int]


class PostgresGroupWriter:
    """The ``GroupWriter`` for ``KeyedPostgresRecorder`` stores."""

    def __init__(self, recorder: KeyedPostgresRecorder) -> None:
        self.recorder = recorder
        d = recorder.datastore
        events = Identifier(d.schema, recorder.events_table_name)
        id_type = SQL(d.originator_id_type)  # "uuid" or "text", checked by the datastore
        self.stored_versions = SQL(
            "SELECT originator_id, originator_version FROM {} WHERE"
            " (originator_id, originator_version) IN"
            " (SELECT * FROM unnest(%s::{}[], %s::bigint[]))"
        ).format(events, id_type)
        keys = SQL(recorder.keys_table)  # schema-qualified by the recorder
        self.stored_keys = SQL(
            "SELECT scope, key FROM {} WHERE (scope, key) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))"
        ).format(keys)
        self.insert_keys = SQL(
            "INSERT INTO {} (scope, key, fingerprint, result_id, events, position)"
            " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::int[], %s::bigint[])"
        ).format(keys)
        self.notify = SQL("NOTIFY {}").format(Identifier(recorder.channel_name))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def __call__(self, batch: Sequence[PendingCommand]) -> list[Sequence[int] | None]:
        """Per command, its notification ids, or None when it conflicted."""
        r = self.recorder
        with (
            r.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as c,
        ):
            for statement in r.lock_table_statements:
                c.execute(statement, prepare=True)
            accepted = self._without_conflicts(c, batch)
            rows = [e for i in accepted for e in batch[i].events]
            if not rows:
                return [None] * len(batch)
            c.execute(self.notify)  # delivered at commit, as the library's insert does
            c.execute(
                r.insert_events_statement,
                ([self._composite(e) for e in rows],),
                prepare=True,
            )
            ids = [int(row[0]) for row in c.fetchall()]
            chain = PostgresChainReader(c, r.chain_queries)
            chain.extend(ids, rows, chain.head())
            return self._answer(c, batch, accepted, ids)

    def _without_conflicts(self, c: Any, batch: Sequence[PendingCommand]) -> list[int]:
        """The indexes of the commands that can be saved, in the order they came."""
        pairs = [(e.originator_id, e.originator_version) for p in batch for e in p.events]
        keys = [(p.key.key.scope, p.key.key.key) for p in batch if p.key is not None]
        taken_pairs: set[Pair] = set(self._stored(c, self.stored_versions, pairs))
        taken_keys: set[Pair] = set(self._stored(c, self.stored_keys, keys)) if keys else set()
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

    @staticmethod
    def _stored(c: Any, query: SQL | Any, pairs: list[Pair]) -> list[Pair]:
        firsts, seconds = zip(*pairs, strict=True) if pairs else ((), ())
        c.execute(query, (list(firsts), list(seconds)), prepare=True)
        return [(row[0], row[1]) for row in c.fetchall()]

    def _composite(self, e: Any) -> Any:
        return self.recorder.construct_pg_stored_event(
            e.originator_id, e.originator_version, e.topic, e.state
        )

    def _answer(
        self, c: Any, batch: Sequence[PendingCommand], accepted: list[int], ids: list[int]
    ) -> list[Sequence[int] | None]:
        """Split the ids among the accepted commands; store their keys."""
        answers: list[Sequence[int] | None] = [None] * len(batch)
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
        return answers
