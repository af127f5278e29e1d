"""Bearer tokens for the HTTP API: issued by an administrator, stored hashed, revocable.

A token is 32 random bytes (URL-safe text with a ``gs_`` prefix); only its SHA-256 is
stored, so a copy of the database gives nobody a usable token. Tokens are random and
long, so a plain hash suffices (a slow password hash guards guessable secrets).
Tokens live beside the events (the SQLite file, or the engine's PostgreSQL schema).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from groundswell.access.tables import OnTables, PostgresTables, SQLiteTables

PREFIX = "gs_"
TABLE = (
    "CREATE TABLE IF NOT EXISTS api_tokens (token_hash TEXT PRIMARY KEY, token_id TEXT UNIQUE"
    " NOT NULL, handle TEXT NOT NULL, label TEXT NOT NULL, issued_at TEXT NOT NULL,"
    " revoked_at TEXT)"
)
COLUMNS = "token_id, handle, label, issued_at, revoked_at"


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a token without the token itself."""

    token_id: str
    handle: str
    label: str
    issued_at: str
    revoked_at: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh token and its public id (the id names it in lists and revocations)."""
    return PREFIX + secrets.token_urlsafe(32), secrets.token_hex(6)


class TokenStore(Protocol):
    def issue(self, handle: str, label: str = "") -> tuple[str, TokenInfo]: ...

    def holder(self, token: str) -> str | None:
        """The handle a live token belongs to (None: unknown or revoked)."""
        ...

    def revoke(self, token_id: str) -> bool: ...

    def list(self, handle: str | None = None) -> list[TokenInfo]: ...

    def close(self) -> None: ...


class SqlTokens(OnTables):
    """The statements, written once for both databases (``mark`` is the placeholder)."""

    def issue(self, handle: str, label: str = "") -> tuple[str, TokenInfo]:
        token, token_id = new_token()
        info = TokenInfo(token_id, handle, label, datetime.now(UTC).isoformat(), None)
        marks = ", ".join([self.mark] * 5)
        self._run(
            f"INSERT INTO api_tokens (token_hash, token_id, handle, label, issued_at)"
            f" VALUES ({marks})",
            (hash_token(token), token_id, handle, label, info.issued_at),
        )
        return token, info

    def holder(self, token: str) -> str | None:
        found = self._run(
            f"SELECT handle FROM api_tokens WHERE token_hash = {self.mark} AND revoked_at IS NULL",
            (hash_token(token),),
        )
        return str(found[0][0]) if found else None

    def revoke(self, token_id: str) -> bool:
        m = self.mark
        found = self._run(
            f"UPDATE api_tokens SET revoked_at = {m} WHERE token_id = {m}"
            " AND revoked_at IS NULL RETURNING token_id",
            (datetime.now(UTC).isoformat(), token_id),
        )
        return bool(found)

    def list(self, handle: str | None = None) -> list[TokenInfo]:
        if handle is None:
            found = self._run(f"SELECT {COLUMNS} FROM api_tokens ORDER BY issued_at")
        else:
            found = self._run(
                f"SELECT {COLUMNS} FROM api_tokens WHERE handle = {self.mark} ORDER BY issued_at",
                (handle,),
            )
        return [TokenInfo(*row) for row in found]


class SQLiteTokens(SqlTokens):
    def __init__(self, path: Path) -> None:
        super().__init__(SQLiteTables(path, TABLE))


class PostgresTokens(SqlTokens):
    def __init__(self, url: str, schema: str | None = None) -> None:
        super().__init__(PostgresTables(url, schema, TABLE))
