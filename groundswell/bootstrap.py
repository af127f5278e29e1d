"""The composition root: builds the engine from settings. Nothing connects at import."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from consumers.log_follower import LogFollower
from consumers.ports import ReadModelStore
from consumers.projector import Projector
from groundswell.app.application import utc_now
from groundswell.app.engine import Engine
from groundswell.files import private_file
from groundswell.publish.encoder import Encoder, LocalEncoder, ProcessEncoder
from groundswell.publish.positions import RelayPositions
from groundswell.publish.relay import (
    DEFAULT_BATCH,
    DEFAULT_PARTITIONS,
    Relay,
    ensure_topic,
    kafka_producer,
)
from groundswell.reads.read_models import ReadModels
from groundswell.settings import Settings
from projections.catalog import all_projections

if TYPE_CHECKING:
    from fastapi import FastAPI

    from consumers.kafka_projector import KafkaProjector
    from consumers.message_feed import Feed
    from groundswell.access.sessions import SqlSessions
    from groundswell.access.tokens import TokenStore
    from groundswell.delivery.bootstrap import DeliverySettings
    from groundswell.delivery.deliverer import Deliverer
    from groundswell.readstore.search_index import SearchIndex


def build_engine(
    settings: Settings | None = None, clock: Callable[[], datetime] = utc_now
) -> Engine:
    """An engine on SQLite (default) or PostgreSQL (when a database URL is set)."""
    settings = settings or Settings.from_environment()
    engine = Engine(env=settings.eventsourcing_env(), clock=clock)
    if settings.database_url is None:
        private_file(settings.data_dir / "groundswell.sqlite")
    return engine


def build_read_model_store(settings: Settings) -> ReadModelStore:
    """Read models live in the engine's database: PostgreSQL, or SQLite beside the events."""
    if settings.database_url:
        from groundswell.readstore.postgres import PostgresReadModelStore

        return PostgresReadModelStore(settings.database_url, settings.postgres_schema)
    from groundswell.readstore.sqlite import SQLiteReadModelStore

    return SQLiteReadModelStore(settings.data_dir)


def build_read_models(
    engine: Engine,
    settings: Settings | None = None,
    names: Sequence[str] | None = None,
    load: bool = True,
) -> ReadModels:
    """The projections (all, or those named), fed in-process from the engine's notification
    log (embedded mode). ``load=False`` skips reading stored rows (before a rebuild)."""
    settings = settings or Settings.from_environment()
    chosen = [p for p in all_projections() if names is None or p.name in names]
    projector = Projector(build_read_model_store(settings), chosen, load=load)
    return ReadModels(LogFollower(engine, projector))


def build_relay_positions(settings: Settings) -> RelayPositions:
    """The relay's position lives in the event store's database (and schema)."""
    if settings.database_url:
        from groundswell.publish.positions import PostgresRelayPositions

        return PostgresRelayPositions(settings.database_url, settings.postgres_schema)
    from groundswell.publish.positions import SQLiteRelayPositions

    return SQLiteRelayPositions(settings.data_dir / "groundswell.sqlite")


def build_relay(
    engine: Engine,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH,
    partitions: int = DEFAULT_PARTITIONS,
) -> Relay:
    """The outbox relay from the engine's notification log to ``settings.kafka_topic``."""
    servers = settings.kafka_bootstrap_servers
    if not servers:
        raise ValueError("the relay needs Kafka: set KAFKA_BOOTSTRAP_SERVERS (host:port,...)")
    topic = settings.kafka_topic
    return Relay(
        engine,
        build_relay_positions(settings),
        lambda: kafka_producer(servers),
        topic,
        name=topic,  # one position per destination: a new topic starts from the beginning
        servers=servers,
        batch_size=batch_size,
        prepare=lambda: ensure_topic(servers, topic, partitions),
        encoder=build_relay_encoder(engine, settings),
    )


def build_relay_encoder(engine: Engine, settings: Settings) -> Encoder:
    """Encoder processes beside the relay, ready to read (unless none are asked for or the
    store is one no other process can open: then the relay encodes in its own)."""
    if settings.relay_encoders == 0 or not shared_store(engine.env):
        return LocalEncoder(engine)
    encoder = ProcessEncoder(engine, processes=settings.relay_encoders)
    encoder.start()
    return encoder


def shared_store(env: Mapping[str, str]) -> bool:
    """Whether another process can open the store this eventsourcing environment names."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.postgres":
        return True
    name = env.get("SQLITE_DBNAME", "")
    return module == "eventsourcing.sqlite" and ":memory:" not in name and "mode=memory" not in name


def build_kafka_projector(
    settings: Settings,
    name: str,
    *,
    group_id: str | None = None,
    instance_id: str | None = None,
    batch: int = 2_000,
    on_poison: str = "stop",
    rebuild: bool = False,
) -> KafkaProjector:
    """One projection fed from Kafka into PostgreSQL, as a member of its consumer group
    (``groundswell.NAME`` unless ``group_id`` is given). It reads the topic in a process of
    its own unless ``settings.consumer_process`` is off."""
    from consumers.kafka_projector import KafkaProjector, interest_of
    from consumers.message_feed import FeedSpec, LocalFeed, ProcessFeed, kafka_consumer
    from domain.catalog import EVENT_CLASSES
    from groundswell.readstore.postgres_kafka import KafkaReadModelStore, StoredOffsetsReader
    from schemas.codec import EventCodec

    if not settings.database_url or not settings.kafka_bootstrap_servers:
        raise ValueError(
            "a projection fed from Kafka needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS"
        )
    projection = {p.name: p for p in all_projections()}.get(name)
    if projection is None:
        raise ValueError(f"unknown projection {name!r}")
    store = KafkaReadModelStore(settings.database_url, settings.postgres_schema)
    store.adopt(name, settings.kafka_topic, projection.version, rebuild=rebuild)
    group = group_id or f"groundswell.{name}"
    codec = EventCodec(EVENT_CLASSES)
    interest, topic = interest_of(projection, codec), settings.kafka_topic
    feed: Feed
    if settings.consumer_process:
        feed = ProcessFeed(
            FeedSpec(
                settings.kafka_bootstrap_servers,
                group,
                topic,
                name,
                settings.database_url,
                settings.postgres_schema,
                interest,
                StoredOffsetsReader,
                batch,
                instance_id,
            )
        )
    else:
        new_consumer = functools.partial(
            kafka_consumer, settings.kafka_bootstrap_servers, group, batch, instance_id
        )
        stored = functools.partial(store.offsets, name, topic)
        feed = LocalFeed(
            new_consumer(), topic, stored, interest, name=name, batch=batch, renew=new_consumer
        )
    return KafkaProjector(projection, store, feed, codec, topic, on_poison=on_poison)


def build_search(settings: Settings) -> SearchIndex:
    """The search projection's full-text index, where its store keeps it."""
    from groundswell.readstore import search_index

    if settings.database_url:
        return search_index.PostgresSearch(settings.database_url, settings.postgres_schema)
    from groundswell.readstore.sqlite import PREFIX

    path = settings.data_dir / f"{PREFIX}{search_index.PROJECTION}.sqlite"
    return search_index.SQLiteSearch(path)


def build_tokens(settings: Settings) -> TokenStore:
    """API tokens live beside the events: the SQLite file, or the engine's schema."""
    if settings.database_url:
        from groundswell.access.tokens import PostgresTokens

        return PostgresTokens(settings.database_url, settings.postgres_schema)
    from groundswell.access.tokens import SQLiteTokens

    return SQLiteTokens(settings.data_dir / "groundswell.sqlite")


def build_sessions(settings: Settings) -> SqlSessions:
    """The pages' sessions live beside the tokens (their look-up joins them)."""
    from datetime import timedelta

    idle = timedelta(hours=settings.session_idle_hours)
    absolute = timedelta(hours=settings.session_absolute_hours)
    if settings.database_url:
        from groundswell.access.sessions import PostgresSessions

        return PostgresSessions(settings.database_url, settings.postgres_schema, idle, absolute)
    from groundswell.access.sessions import SQLiteSessions

    return SQLiteSessions(settings.data_dir / "groundswell.sqlite", idle, absolute)


def build_http_app(
    settings: Settings, engine: Engine | None = None, delivery: DeliverySettings | None = None
) -> FastAPI:
    """The HTTP API and the web pages on the engine. They read the in-process projections,
    or with PostgreSQL and Kafka both configured, the read models ``groundswell project``
    feeds from Kafka. ``delivery`` (DeliverySettings) overrides the environment's, as when
    ``serve`` delivers to its own local SMTP sink."""
    from groundswell import web
    from groundswell.http.app import create_app
    from groundswell.http.common import Api
    from groundswell.http.gate import Throttle
    from groundswell.http.reads import EmbeddedReadSide, KafkaReadSide, ReadSide

    engine = engine or build_engine(settings)
    reads: ReadSide
    if settings.database_url and settings.kafka_bootstrap_servers:
        from groundswell.readstore.postgres_kafka import KafkaReadModelStore

        store = KafkaReadModelStore(settings.database_url, settings.postgres_schema)
        positions = build_relay_positions(settings)
        latest = engine.recorder.max_notification_id
        reads = KafkaReadSide(
            store,
            positions,
            settings.kafka_topic,
            lambda: latest() or 0,
            settings.kafka_bootstrap_servers,
        )
    else:
        reads = EmbeddedReadSide(build_read_models(engine, settings))
    throttle = Throttle(settings.write_limit, settings.sign_in_failure_limit)
    identity = None
    if settings.oidc is not None:
        from groundswell.identity.tokens import AccessTokens

        identity = AccessTokens(settings.oidc)
    api = Api(
        engine=engine,
        reads=reads,
        tokens=build_tokens(settings),
        identity=identity,
        search=build_search(settings),
    )
    app = create_app(api, throttle, settings.allowed_hosts)
    app.state.live_recheck_seconds = settings.live_recheck_seconds
    app.state.sessions = build_sessions(settings)
    if identity is not None:
        from groundswell.web.render import company_headers

        # The pages' sign-in uses the API's discovery document and keys (fetched once).
        app.state.oidc = identity.settings
        app.state.oidc_provider = identity.keys
        app.state.page_headers = company_headers(identity.settings.issuer)
    web.install(app)
    install_delivery(app, engine, settings, delivery)
    return app


def install_delivery(
    app: Any, engine: Any, settings: Settings, delivery: DeliverySettings | None = None
) -> Deliverer | None:
    """Give the served app the delivery routes and, when an SMTP server is set (``delivery``,
    or else the environment), a deliverer running in a thread of this process (the embedded
    way; ``groundswell deliver`` is the production one, and both may run together)."""
    from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer, build_outbox
    from groundswell.http.delivery import install

    install(app, lambda: build_outbox(settings))
    delivery = delivery or DeliverySettings.from_environment()
    if not delivery.smtp_url:
        return None
    deliverer = build_deliverer(engine, app.state.open_outbox(), delivery)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,), name="deliverer", daemon=True)
    app.state.delivery_stop, app.state.delivery_thread = stop, thread
    thread.start()
    return deliverer


def stop_delivery(app: Any, timeout: float = 60.0) -> None:
    """Stop the deliverer thread ``install_delivery`` started, and wait for it to end: before
    the engine and outbox it reads are closed (SQLite closed under a query in flight takes
    the process down)."""
    stop, thread = (getattr(app.state, name, None) for name in ("delivery_stop", "delivery_thread"))
    if stop is None or thread is None:
        return
    stop.set()
    thread.join(timeout)
    if thread.is_alive():
        raise RuntimeError(f"the deliverer thread did not stop within {timeout:g} s")
