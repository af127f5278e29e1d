"""Live pages: a server-sent event stream that says when new events were stored.

A page listens and, on each new position, fetches itself again with ``at_least`` set to
that position and swaps in the sections marked ``data-live``. One watcher per process
asks the store for its last position at most every ``EVERY`` seconds, however many pages
listen; each stream sends only changes, plus sse-starlette's keep-alive pings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from groundswell.settings import DEFAULT_LIVE_RECHECK_SECONDS
from groundswell.web.render import PageRoute
from groundswell.web.session import Reader, session_caller

router = APIRouter(route_class=PageRoute, include_in_schema=False)
EVERY = 0.4


class PositionWatch:
    """The event store's last position, read once per ``EVERY`` seconds for all listeners."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read
        self._lock = asyncio.Lock()
        self._value = 0
        self._read_at = 0.0

    async def position(self) -> int:
        async with self._lock:
            if time.monotonic() - self._read_at >= EVERY:
                self._value = await anyio.to_thread.run_sync(self._read)
                self._read_at = time.monotonic()
            return self._value


def watch_of(request: Request) -> PositionWatch:
    state = request.app.state
    if getattr(state, "position_watch", None) is None:
        engine = state.api.engine
        state.position_watch = PositionWatch(lambda: engine.last_position)
    watch: PositionWatch = state.position_watch
    return watch


def still_signed_in(request: Request) -> bool:
    """Whether the stream's session is still live (not ended, timed out, or made from a
    token since revoked) and its person still registered."""
    return session_caller(request) is not None


@router.get("/web/live")
async def live(request: Request, _: Reader, since: int = 0) -> EventSourceResponse:
    """``position`` events: the store's last position, whenever it passes ``since``.

    The reader's session is checked again every ``live_recheck_seconds``: a stream ends
    once it ends (sign-out, timeout, its token revoked; the browser's reconnection then
    meets the sign-in page)."""
    watch = watch_of(request)
    recheck = getattr(request.app.state, "live_recheck_seconds", DEFAULT_LIVE_RECHECK_SECONDS)

    async def positions() -> AsyncIterator[ServerSentEvent]:
        last = since
        checked = time.monotonic()
        while not await request.is_disconnected():
            if time.monotonic() - checked >= recheck:
                if not await anyio.to_thread.run_sync(still_signed_in, request):
                    yield ServerSentEvent(data="", event="signed-out")
                    return
                checked = time.monotonic()
            now = await watch.position()
            if now > last:
                last = now
                yield ServerSentEvent(data=str(now), event="position")
            await asyncio.sleep(min(EVERY, recheck))

    return EventSourceResponse(positions(), ping=15)
