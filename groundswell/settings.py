"""Settings read from the environment (or given by tests); nothing connects here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from groundswell.files import private_dir
from groundswell.identity.settings import OidcSettings

DEFAULT_DATA_DIR = Path("data")
DEFAULT_TOPIC = "groundswell.events"
# Event recorders that keep idempotency keys in the events' transaction.
SQLITE_RECORDER = "groundswell.eventstore.sqlite_recorder:KeyedSQLiteRecorder"
POSTGRES_RECORDER = "groundswell.eventstore.postgres_recorder:KeyedPostgresRecorder"
DEFAULT_GROUP_COMMIT_MS = 2.0
DEFAULT_GROUP_COMMIT_MAX = 128
DEFAULT_RELAY_ENCODERS = 1
# Rate limits (the `limits` library's notation: "N/second;M/minute"). Writes per token:
# well above a person's pace and an integration's steady rate, well below a flood.
DEFAULT_WRITE_LIMIT = "20/second;600/minute"
# Refused tokens per client address (the API's bearer tokens and the sign-in form).
DEFAULT_SIGN_IN_FAILURE_LIMIT = "10/minute;100/hour"
# Host headers answered (plus the address `serve` listens on); "*" answers any.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")
# How often an open live-updates stream checks that its reader's token is still valid.
DEFAULT_LIVE_RECHECK_SECONDS = 30.0
# A page session ends after this long unused, and this long after sign-in whatever happens
# (a working day's pause; a week, so a lost laptop's session does not live on).
DEFAULT_SESSION_IDLE_HOURS = 8.0
DEFAULT_SESSION_ABSOLUTE_HOURS = 7 * 24.0


@dataclass(frozen=True)
class Settings:
    """Where the engine keeps its history.

    Without ``database_url`` the engine embeds SQLite in ``data_dir``; with one
    (``postgresql://user:password@host:port/dbname``) it uses PostgreSQL.
    ``postgres_schema`` keeps separate engines apart in one database (tests).
    With ``kafka_bootstrap_servers`` the relay publishes the history to ``kafka_topic``
    and projections can be fed from Kafka instead of in-process.
    On PostgreSQL, concurrent commands share transactions (group commit, ADR 0009): a
    group waits at most ``group_commit_ms`` for callers still deciding and holds at most
    ``group_commit_max`` commands; ``group_commit_ms=None`` saves each command alone.
    SQLite always saves each command alone.
    The relay encodes events in ``relay_encoders`` processes of its own (0: in its own
    process; always so for a store only this process can open, as in-memory SQLite).
    A projection fed from Kafka reads the topic in a process of its own unless
    ``consumer_process`` is off.
    The HTTP API and pages allow ``write_limit`` writes per token and
    ``sign_in_failure_limit`` refused tokens per client address (None: unlimited),
    answer only requests whose Host is one of ``allowed_hosts``, and end a live-updates
    stream within ``live_recheck_seconds`` of its token's revocation. A page session ends
    after ``session_idle_hours`` unused and ``session_absolute_hours`` after sign-in.
    With ``oidc`` (``GROUNDSWELL_OIDC_ISSUER`` and the rest, groundswell/identity/settings.py)
    people sign in at the company's identity provider and the API accepts its access tokens.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    postgres_schema: str | None = None
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = DEFAULT_TOPIC
    group_commit_ms: float | None = DEFAULT_GROUP_COMMIT_MS
    group_commit_max: int = DEFAULT_GROUP_COMMIT_MAX
    relay_encoders: int = DEFAULT_RELAY_ENCODERS
    consumer_process: bool = True
    write_limit: str | None = DEFAULT_WRITE_LIMIT
    sign_in_failure_limit: str | None = DEFAULT_SIGN_IN_FAILURE_LIMIT
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    live_recheck_seconds: float = DEFAULT_LIVE_RECHECK_SECONDS
    session_idle_hours: float = DEFAULT_SESSION_IDLE_HOURS
    session_absolute_hours: float = DEFAULT_SESSION_ABSOLUTE_HOURS
    oidc: OidcSettings | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("GROUNDSWELL_DATA_DIR", str(DEFAULT_DATA_DIR))),
            database_url=env.get("DATABASE_URL") or None,
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            kafka_topic=env.get("GROUNDSWELL_TOPIC") or DEFAULT_TOPIC,
            group_commit_ms=group_commit_window(env.get("GROUNDSWELL_GROUP_COMMIT_MS")),
            group_commit_max=int(
                env.get("GROUNDSWELL_GROUP_COMMIT_MAX") or DEFAULT_GROUP_COMMIT_MAX
            ),
            relay_encoders=relay_encoders(env.get("GROUNDSWELL_RELAY_ENCODERS")),
            consumer_process=switch(env, "GROUNDSWELL_CONSUMER_PROCESS", default=True),
            write_limit=rate_limit(env, "GROUNDSWELL_WRITE_LIMIT", DEFAULT_WRITE_LIMIT),
            sign_in_failure_limit=rate_limit(
                env, "GROUNDSWELL_SIGN_IN_FAILURE_LIMIT", DEFAULT_SIGN_IN_FAILURE_LIMIT
            ),
            allowed_hosts=hosts(env.get("GROUNDSWELL_ALLOWED_HOSTS")),
            live_recheck_seconds=seconds(
                env, "GROUNDSWELL_LIVE_RECHECK_SECONDS", DEFAULT_LIVE_RECHECK_SECONDS
            ),
            session_idle_hours=hours(
                env, "GROUNDSWELL_SESSION_IDLE_HOURS", DEFAULT_SESSION_IDLE_HOURS
            ),
            session_absolute_hours=hours(
                env, "GROUNDSWELL_SESSION_ABSOLUTE_HOURS", DEFAULT_SESSION_ABSOLUTE_HOURS
            ),
            oidc=OidcSettings.from_environment(env),
        )

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment the eventsourcing library's Application reads."""
        if self.database_url is None:
            private_dir(self.data_dir)
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.data_dir / "groundswell.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "10",
                "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER,
            }
        else:
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                **postgres_env(self.database_url),
                "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER,
            }
            if self.postgres_schema:
                env["POSTGRES_SCHEMA"] = self.postgres_schema
            ms = self.group_commit_ms
            env["GROUNDSWELL_GROUP_COMMIT_MS"] = "off" if ms is None else str(ms)
            env["GROUNDSWELL_GROUP_COMMIT_MAX"] = str(self.group_commit_max)
        return {**env, **self.extra_env}


def postgres_env(url: str) -> dict[str, str]:
    """Translate a database URL into the eventsourcing library's POSTGRES_* settings."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql") or not parsed.path.strip("/"):
        raise ValueError("DATABASE_URL must look like postgresql://user:password@host:5432/dbname")
    return {
        "POSTGRES_DBNAME": parsed.path.lstrip("/"),
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or ""),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "8",
    }


def group_commit_window(text: str | None) -> float | None:
    """``GROUNDSWELL_GROUP_COMMIT_MS``: unset for the default, ``off`` for none, or ms."""
    if text is None or not text.strip():
        return DEFAULT_GROUP_COMMIT_MS
    if text.strip().lower() == "off":
        return None
    window = float(text)
    if window < 0:
        raise ValueError("GROUNDSWELL_GROUP_COMMIT_MS must be 'off' or milliseconds >= 0")
    return window


def relay_encoders(text: str | None) -> int:
    """``GROUNDSWELL_RELAY_ENCODERS``: unset for the default, else 0 (none) to 8 processes."""
    if text is None or not text.strip():
        return DEFAULT_RELAY_ENCODERS
    try:
        count = int(text)
    except ValueError:
        count = -1
    if not 0 <= count <= 8:
        raise ValueError(f"GROUNDSWELL_RELAY_ENCODERS must be a whole number 0 to 8, not {text!r}")
    return count


def switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no setting: unset or empty for the default, else 1/0, true/false, yes/no, on/off."""
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {env[name]!r}")


def rate_limit(env: Mapping[str, str], name: str, default: str) -> str | None:
    """A rate limit such as ``10/minute;100/hour``: unset for the default, ``off`` for none."""
    from limits import parse_many

    text = (env.get(name) or "").strip()
    if not text:
        return default
    if text.lower() == "off":
        return None
    try:
        parse_many(text)
    except ValueError:
        raise ValueError(
            f"{name} must be 'off' or limits such as '10/minute;100/hour', not {text!r}"
        ) from None
    return text


def hosts(text: str | None) -> tuple[str, ...]:
    """``GROUNDSWELL_ALLOWED_HOSTS``: comma-separated host names (``*.example.com`` allowed,
    ``*`` for any); unset for localhost only."""
    if text is None or not text.strip():
        return DEFAULT_ALLOWED_HOSTS
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())


def hours(env: Mapping[str, str], name: str, default: float) -> float:
    """A session timeout in hours: more than none, at most 90 days."""
    return more_than_none(env, name, default, 90 * 24, "hours")


def seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return more_than_none(env, name, default, 3600, "seconds")


def more_than_none(
    env: Mapping[str, str], name: str, default: float, most: float, unit: str
) -> float:
    """``name``'s number of ``unit``, above 0 and at most ``most`` (unset: ``default``)."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= most:
        raise ValueError(f"{name} must be {unit} between 0 and {most:g}, not {text!r}")
    return value
