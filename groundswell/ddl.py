"""Tables that processes starting together on a new PostgreSQL database all create.

The API, the relay, the projectors and the follow-up process each run their
``CREATE TABLE IF NOT EXISTS`` set-up when they start. Run at the same moment on a new
schema, PostgreSQL refuses all but one (a duplicate ``pg_type`` row, "tuple concurrently
updated"), and the process that lost ends at start. So set-up runs one process at a
time: in a transaction, under an advisory lock named after the schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# For a rebuild's tables, filled and indexed in sessions of their own before they are
# swapped in: autovacuum, drawn to a committed table of a million new rows, would make each
# index build and the swap wait for it (a second each, until PostgreSQL cancels it). The
# swap switches it on again.
NO_AUTOVACUUM = " WITH (autovacuum_enabled = false)"


def create_one_at_a_time(conn: Any, statements: Iterable[str], schema: str | None) -> None:
    """Run ``statements`` on the psycopg connection ``conn`` while no other process runs
    its own set-up on ``schema`` (None: the connection's search path). A session with
    nothing to set up waits for nobody."""
    statements = list(statements)
    if not statements:
        return
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('groundswell-tables:' || %s))",
            (schema or "",),
        )
        for statement in statements:
            conn.execute(statement)
