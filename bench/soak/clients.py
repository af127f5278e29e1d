"""HTTP clients as real ones behave: every command under an Idempotency-Key of its own,
sent again with the same key and body until the answer is definite.

Definite: 2xx (acknowledged, with the receipt ``{id, position, events}``) or 4xx other
than 408/429 (refused: nothing written). Anything else (5xx, a dropped connection, a
timeout) leaves the client not knowing, so it backs off and asks again. Every command and
its fate is kept in the :class:`Ledger` the checks compare with the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

NOT_DEFINITE_4XX = {408, 429}


@dataclass
class Command:
    client: str  # the caller's handle: the key's scope in the store
    kind: str
    key: str
    method: str
    path: str
    body: bytes | None
    attempts: int = 0
    outcome: str = "pending"  # acknowledged | refused | undecided
    status: int | None = None
    receipt: dict[str, Any] | None = None
    code: str | None = None  # a refusal's problem code
    failures: Counter[str] = field(default_factory=Counter)  # why attempts were not definite


@dataclass
class Ledger:
    """Every command the clients sent, and every read."""

    commands: list[Command] = field(default_factory=list)
    reads: Counter[str] = field(default_factory=Counter)

    def of(self, outcome: str) -> list[Command]:
        return [c for c in self.commands if c.outcome == outcome]


class Client:
    """One person's keep-alive connection to the API."""

    def __init__(
        self, handle: str, token: str, base: str, ledger: Ledger, run: str, patience: float
    ) -> None:
        self.handle, self.token, self.base = handle, token, base
        self.ledger, self.run, self.patience = ledger, run, patience
        self.sent = 0
        self.last_position = 0
        self.acknowledged_at: float | None = None  # monotonic time of the last 2xx
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made inside the running loop, as aiohttp requires
            self._session = aiohttp.ClientSession(
                self.base, timeout=aiohttp.ClientTimeout(total=20, connect=5)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def command(
        self, kind: str, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> Command:
        """Send until definite or out of patience; the same key and bytes every time."""
        self.sent += 1
        body = None if payload is None else json.dumps(payload).encode()
        command = Command(
            self.handle, kind, f"{self.run}-{self.handle}-{self.sent}", method, path, body
        )
        self.ledger.commands.append(command)
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": command.key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        give_up = time.monotonic() + self.patience
        while True:
            command.attempts += 1
            answer = await self._send(method, path, headers, body)
            if isinstance(answer, tuple):
                status, data = answer
                if 200 <= status < 300:
                    command.outcome, command.status = "acknowledged", status
                    command.receipt = json.loads(data)
                    position = command.receipt.get("position") or 0
                    self.last_position = max(self.last_position, position)
                    self.acknowledged_at = time.monotonic()
                    return command
                if 400 <= status < 500 and status not in NOT_DEFINITE_4XX:
                    command.outcome, command.status = "refused", status
                    with contextlib.suppress(ValueError, AttributeError):
                        command.code = json.loads(data).get("code")
                    return command
                command.failures[str(status)] += 1
            else:
                command.failures[answer] += 1
            if time.monotonic() >= give_up:
                command.outcome = "undecided"
                return command
            backoff = min(2.0, 0.1 * 2 ** min(command.attempts, 6))
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))

    async def read(self, path: str) -> int:
        """A read, sent once; 503 (not caught up yet) is an answer too."""
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = await self._send("GET", path, headers, None)
        outcome = str(answer[0]) if isinstance(answer, tuple) else answer
        self.ledger.reads[outcome] += 1
        return answer[0] if isinstance(answer, tuple) else 0

    async def _send(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes] | str:
        try:
            async with self.session.request(method, path, headers=headers, data=body) as answer:
                return answer.status, await answer.read()
        except TimeoutError:
            return "timeout"
        except (aiohttp.ClientError, OSError):
            return "connection"
