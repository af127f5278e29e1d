"""The composition root: builds the engine from settings. Nothing connects at import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from groundswell.application import utc_now
from groundswell.engine import Engine
from groundswell.settings import Settings


def build_engine(
    settings: Settings | None = None, clock: Callable[[], datetime] = utc_now
) -> Engine:
    """An engine on SQLite (default) or PostgreSQL (when a database URL is set)."""
    settings = settings or Settings.from_environment()
    return Engine(env=settings.eventsourcing_env(), clock=clock)
