"""Idempotency keys: a command retried with its key answers its first result, writes nothing.

A client (an HTTP caller, a chat bot retrying after a timeout) names each command with a
key of its choosing. The key, a fingerprint of the request and the command's result are
stored in the same transaction as the command's events (see ``stores/keyed_recorders``),
so either both are durable or neither is: a retry after a crash finds the key exactly
when the events are there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from domain.errors import DomainError

KEY_MAX = 200


class KeyReused(DomainError):
    """The same idempotency key came with a different request."""

    code = "idempotency-key-reused"


@dataclass(frozen=True)
class CommandKey:
    """One caller's key for one request; keys of different callers never meet."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class KeptResult:
    """What the first run of a keyed command answered."""

    fingerprint: str
    result_id: str | None
    events: int
    position: int


def fingerprint(*parts: Any) -> str:
    """A stable hash of what was asked (method, path, body), to tell a retry from a reuse."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_current: ContextVar[CommandKey | None] = ContextVar("groundswell_command_key", default=None)


@contextmanager
def keyed(key: CommandKey | None) -> Iterator[None]:
    """Run the commands inside under ``key`` (None: no key)."""
    token = _current.set(key)
    try:
        yield
    finally:
        _current.reset(token)


def current_key() -> CommandKey | None:
    return _current.get()
