"""One PostgreSQL session that a server restart does not end for good.

The read-model stores and the relay's positions each hold one connection. When the server
restarts (or an administrator ends the session) the statement in flight fails, and the
caller hears of it; the next call opens a fresh session, with its set-up statements (temp
tables live and die with a session), instead of failing on a closed connection forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import set_json_dumps

from groundswell.ddl import create_one_at_a_time
from groundswell.readstore.row_json import encode_bytes


class Session:
    def __init__(
        self, url: str, schema: str | None, setup: Sequence[str] = (), **connect: Any
    ) -> None:
        self._url = url
        self._schema = schema
        self._options = f"-c search_path={schema}" if schema else ""
        self._setup = list(setup)
        self._connect = connect  # further psycopg.connect arguments
        self._closed = False
        self._conn = self._open()

    def _open(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, options=self._options, autocommit=True, **self._connect)
        set_json_dumps(encode_bytes, context=conn)  # rows' JSON as the embedded store writes it
        create_one_at_a_time(conn, self._setup, self._schema)
        return conn

    def connection(self) -> psycopg.Connection[Any]:
        """The session's connection; a new one if the server closed the last (never in the
        middle of a transaction: a closed connection has already failed it)."""
        if self._conn.closed and not self._closed:
            self._conn = self._open()
        return self._conn

    def close(self) -> None:
        self._closed = True
        self._conn.close()
