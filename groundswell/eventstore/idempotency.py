"""Idempotency keys: a command retried with its key answers its first result, writes nothing.

A client (an HTTP caller, a chat bot retrying after a timeout) names each command with a
key of its choosing. The key, a fingerprint of the request and the command's result are
stored in the same transaction as the command's events (see ``eventstore/keyed``),
so either both are durable or neither is: a retry after a crash finds the key exactly
when the events are there.

The first answer stands, refusals included (as the IETF Idempotency-Key draft asks of a
retried request): a command the domain refused on the state it saw (a 4xx: not permitted,
wrong stage, too few points...) keeps that refusal under its key, so a retry answers the
same refusal even after the state or the caller's roles changed; a new attempt takes a new
key. Nothing transient is kept: lost races (``ConcurrencyConflict``), failures of the
store or server, and refusals before the command ran (authentication, rate limits, the
request's shape) leave the key free for the retry. The key is looked up before the
command is decided, so before every check that could change over time, and only within
the caller's own scope: nobody reads another caller's answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from domain.errors import ConcurrencyConflict, DomainError

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
    refusal: str | None = None  # the refusal kept instead of a result (``kept_refusal``)


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


def is_definite(error: DomainError) -> bool:
    """Whether a refusal is the command's answer for good, to keep under its key."""
    return not isinstance(error, ConcurrencyConflict | KeyReused)


def _domain_errors() -> dict[str, type[DomainError]]:
    found: dict[str, type[DomainError]] = {}
    kinds: list[type[DomainError]] = [DomainError]
    while kinds:
        kind = kinds.pop()
        found.setdefault(kind.code, kind)
        kinds.extend(kind.__subclasses__())
    return found


def refusal_record(error: DomainError) -> str:
    """A refusal as kept under its key: its kind (the stable code) and its fields."""
    fields = {k: v for k, v in vars(error).items() if isinstance(v, str | int | None)}
    return json.dumps({"code": error.code, **fields}, sort_keys=True)


def kept_refusal(record: str) -> DomainError:
    """The refusal ``refusal_record`` kept, as the same kind of error with the same fields."""
    fields = json.loads(record)
    kind = _domain_errors().get(fields.pop("code"), DomainError)
    error = kind.__new__(kind)
    Exception.__init__(error, fields.get("message", ""))
    vars(error).update(fields)
    return error
