"""Sessions of the web pages: an opaque random id in the browser's cookie, the rest here.

The cookie carries 32 random bytes and nothing else; only their SHA-256 is stored (a copy
of the database opens no session). A session names the person, how they signed in
(``token`` or ``oidc``), when it began and when it was last used; it ends at sign-out,
after ``idle`` without use, ``absolute`` after it began, or, for a session begun with an
API token, when that token is revoked (the look-up joins ``api_tokens``, so a revocation
by the CLI in another process ends it at once). Sessions live beside the tokens: the
SQLite file, or the engine's PostgreSQL schema, in a table of their own.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from groundswell.access.tables import OnTables, PostgresTables, SQLiteTables, Tables
from groundswell.access.tokens import TABLE as TOKENS_TABLE
from groundswell.access.tokens import hash_token

TABLE = (
    "CREATE TABLE IF NOT EXISTS web_sessions (session_hash TEXT PRIMARY KEY,"
    " handle TEXT NOT NULL, method TEXT NOT NULL, token_hash TEXT, id_token TEXT,"
    " created_at TEXT NOT NULL, seen_at TEXT NOT NULL)"
)
# Company sign-ins on their way through the identity provider, under their ``state``'s
# hash: the PKCE verifier and the nonce stay here, never in the browser.
PENDING = (
    "CREATE TABLE IF NOT EXISTS web_sign_ins (state_hash TEXT PRIMARY KEY, nonce TEXT NOT NULL,"
    " verifier TEXT NOT NULL, next TEXT NOT NULL, created_at TEXT NOT NULL)"
)
# A look-up writes ``seen_at`` at most this often (pages and their live stream call often).
TOUCH = timedelta(seconds=60)
# How long a person may take at the identity provider's login page.
SIGN_IN_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class PendingSignIn:
    nonce: str
    verifier: str
    next: str


@dataclass(frozen=True)
class WebSession:
    """A live session (``id_token``: the IdP's, kept as the hint for its sign-out)."""

    handle: str
    method: str
    created_at: datetime
    seen_at: datetime
    id_token: str | None = None
    token_hash: str | None = None

    def allowance(self, session_hash: str) -> str:
        """Whose write allowance the session's forms spend: its token's, shared with the
        API, or else the session's own."""
        return self.token_hash or session_hash


def hash_session(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


class SqlSessions(OnTables):
    """The statements, written once for both databases (``mark`` is the placeholder)."""

    def __init__(
        self,
        tables: Tables,
        idle: timedelta,
        absolute: timedelta,
        now: Callable[[], datetime] = now_utc,
    ) -> None:
        super().__init__(tables)
        self.idle = idle
        self.absolute = absolute
        self.now = now

    def start(
        self,
        handle: str,
        method: str,
        *,
        token: str | None = None,
        id_token: str | None = None,
    ) -> str:
        """A new session for ``handle``; returns the id for the cookie (never stored)."""
        session_id = secrets.token_urlsafe(32)
        at = self.now()
        self._forget_expired(at)
        m = self.mark
        self._run(
            "INSERT INTO web_sessions (session_hash, handle, method, token_hash, id_token,"
            f" created_at, seen_at) VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m})",
            (
                hash_session(session_id),
                handle,
                method,
                hash_token(token) if token else None,
                id_token,
                at.isoformat(),
                at.isoformat(),
            ),
        )
        return session_id

    def find(self, session_id: str) -> WebSession | None:
        """The live session ``session_id`` names (None: unknown, ended, timed out, or its
        token revoked); a timed-out session is deleted on the way."""
        if not session_id:
            return None
        m, key = self.mark, hash_session(session_id)
        rows = self._run(
            "SELECT s.handle, s.method, s.created_at, s.seen_at, s.id_token, s.token_hash,"
            " s.token_hash IS NOT NULL AND (t.token_hash IS NULL OR t.revoked_at IS NOT NULL)"
            " FROM web_sessions s LEFT JOIN api_tokens t ON t.token_hash = s.token_hash"
            f" WHERE s.session_hash = {m}",
            (key,),
        )
        if not rows:
            return None
        handle, method, created, seen, id_token, token_hash, revoked = rows[0]
        found = WebSession(
            handle,
            method,
            datetime.fromisoformat(created),
            datetime.fromisoformat(seen),
            id_token,
            token_hash,
        )
        at = self.now()
        if revoked or at - found.seen_at > self.idle or at - found.created_at > self.absolute:
            self._run(f"DELETE FROM web_sessions WHERE session_hash = {m}", (key,))
            return None
        if at - found.seen_at >= TOUCH:
            self._run(
                f"UPDATE web_sessions SET seen_at = {m} WHERE session_hash = {m}",
                (at.isoformat(), key),
            )
        return found

    def end(self, session_id: str) -> WebSession | None:
        """End the session (sign-out); returns what it was, if it was live."""
        found = self.find(session_id)
        self._run(
            f"DELETE FROM web_sessions WHERE session_hash = {self.mark}",
            (hash_session(session_id),),
        )
        return found

    def hold_sign_in(self, state: str, nonce: str, verifier: str, next: str) -> None:
        """Keep a company sign-in's secrets until the identity provider sends the person back."""
        at, m = self.now(), self.mark
        self._run(f"DELETE FROM web_sign_ins WHERE created_at < {m}",
                  ((at - SIGN_IN_WINDOW).isoformat(),))  # fmt: skip
        self._run(
            "INSERT INTO web_sign_ins (state_hash, nonce, verifier, next, created_at)"
            f" VALUES ({m}, {m}, {m}, {m}, {m})",
            (hash_session(state), nonce, verifier, next, at.isoformat()),
        )

    def take_sign_in(self, state: str) -> PendingSignIn | None:
        """The sign-in ``state`` names, once: deleted in the same statement that reads it, so
        a replayed callback finds nothing (None: unknown, used, or older than the window)."""
        rows = self._run(
            f"DELETE FROM web_sign_ins WHERE state_hash = {self.mark}"
            " RETURNING nonce, verifier, next, created_at",
            (hash_session(state),),
        )
        if not rows:
            return None
        nonce, verifier, next, created = rows[0]
        if self.now() - datetime.fromisoformat(created) > SIGN_IN_WINDOW:
            return None
        return PendingSignIn(nonce, verifier, next)

    def _forget_expired(self, at: datetime) -> None:
        m = self.mark
        self._run(
            f"DELETE FROM web_sessions WHERE seen_at < {m} OR created_at < {m}",
            ((at - self.idle).isoformat(), (at - self.absolute).isoformat()),
        )


class SQLiteSessions(SqlSessions):
    def __init__(self, path: Path, idle: timedelta, absolute: timedelta) -> None:
        # The tokens' table is joined by every look-up, whoever made it first.
        super().__init__(SQLiteTables(path, TOKENS_TABLE, TABLE, PENDING), idle, absolute)


class PostgresSessions(SqlSessions):
    def __init__(self, url: str, schema: str | None, idle: timedelta, absolute: timedelta) -> None:
        super().__init__(PostgresTables(url, schema, TOKENS_TABLE, TABLE, PENDING), idle, absolute)
