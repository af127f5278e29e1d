"""The composition root: builds the engine from settings. Nothing connects at import."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from consumers.log_follower import LogFollower
from consumers.projector import Projector
from groundswell.application import utc_now
from groundswell.engine import Engine
from groundswell.read_models import ReadModels
from groundswell.settings import Settings
from groundswell.stores.readmodels import ReadModelStore
from projections.catalog import all_projections


def build_engine(
    settings: Settings | None = None, clock: Callable[[], datetime] = utc_now
) -> Engine:
    """An engine on SQLite (default) or PostgreSQL (when a database URL is set)."""
    settings = settings or Settings.from_environment()
    return Engine(env=settings.eventsourcing_env(), clock=clock)


def build_read_model_store(settings: Settings) -> ReadModelStore:
    """Read models live in the engine's database: PostgreSQL, or SQLite beside the events."""
    if settings.database_url:
        from groundswell.stores.postgres_readmodels import PostgresReadModelStore

        return PostgresReadModelStore(settings.database_url, settings.postgres_schema)
    from groundswell.stores.sqlite_readmodels import SQLiteReadModelStore

    return SQLiteReadModelStore(settings.data_dir / "readmodels.sqlite")


def build_read_models(engine: Engine, settings: Settings | None = None) -> ReadModels:
    """Every projection, fed in-process from the engine's notification log (embedded mode)."""
    settings = settings or Settings.from_environment()
    projector = Projector(build_read_model_store(settings), all_projections())
    return ReadModels(LogFollower(engine, projector))
