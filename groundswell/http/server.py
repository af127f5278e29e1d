"""The served engine's connection limits: uvicorn, with a protocol that bounds what it
does not bound itself.

uvicorn (with httptools) bounds idle keep-alive connections (``timeout_keep_alive``), but
it reads a request's head for as long and as
large as a client sends it, and waits for a body forever. So each connection here gets:

- a head (request line and headers) of at most ``max_head_bytes`` (431, then closed);
- ``head_seconds`` from its first byte (or from the connection) to the head's end
  (408, then closed): a slow header sender ("slowloris") is let go;
- ``body_seconds`` from the head's end to the body's end (closed): a slow body sender too;
- no more than ``max_connections`` open at once: one more is answered 503 and closed.

Behind a reverse proxy these hold too; the proxy should hold the same or tighter ones
(docs/deployment.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_END = b"\r\n\r\n"


@dataclass(frozen=True)
class ServerLimits:
    """What one served process lets a connection do (the defaults suit production)."""

    max_head_bytes: int = 16 * 1024
    head_seconds: float = 10.0
    body_seconds: float = 30.0
    keep_alive_seconds: float = 5.0
    max_connections: int = 500


def refusal(status: bytes, text: str) -> bytes:
    body = text.encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


TOO_LARGE = refusal(b"431 Request Header Fields Too Large", "the request's headers are too large.")
TOO_SLOW = refusal(b"408 Request Timeout", "the request's headers came too slowly.")
TOO_MANY = refusal(b"503 Service Unavailable", "too many connections; try again shortly.")


def guarded_protocol(limits: ServerLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, bounded by ``limits`` (see the module docstring)."""

    class GuardedProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._reading_head = True
            self._head_bytes = 0
            self._deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                transport.write(TOO_MANY)
                transport.close()
                return
            self._arm(limits.head_seconds, TOO_SLOW)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._reading_head:
                end = data.find(HEAD_END)
                counted = len(data) if end < 0 else end + len(HEAD_END)
                if self._head_bytes + counted > limits.max_head_bytes:
                    self._refuse(TOO_LARGE)
                    return
                self._head_bytes += counted
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self._reading_head:  # the next request on a kept-alive connection
                self._reading_head, self._head_bytes = True, 0
                self._arm(limits.head_seconds, TOO_SLOW)

        def on_headers_complete(self) -> None:
            self._reading_head = False
            self._arm(limits.body_seconds, None)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def _arm(self, seconds: float, answer: bytes | None) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._refuse, answer)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _refuse(self, answer: bytes | None) -> None:
            """Answer (when the request has no answer under way) and close."""
            self._disarm()
            if self.transport.is_closing():
                return
            if answer is not None and (self.cycle is None or self.cycle.response_complete):
                self.transport.write(answer)
            self.transport.close()

    return GuardedProtocol


def uvicorn_options(limits: ServerLimits) -> dict[str, Any]:
    """The ``uvicorn.run``/``uvicorn.Config`` arguments that apply ``limits``."""
    # Not uvicorn's ``limit_concurrency``: it answers 503 to the last connection under the
    # cap (it counts the one asking), and this protocol already caps connections.
    return {"http": guarded_protocol(limits), "timeout_keep_alive": limits.keep_alive_seconds}
