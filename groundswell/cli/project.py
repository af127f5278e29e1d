"""`groundswell project NAME|all`: projections fed from Kafka, each its own consumer group.

Runs until SIGTERM or Ctrl-C, which finish the current batch first. Start the same
command several times to share a projection's partitions among instances.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, Any

import typer

from groundswell.bootstrap import build_kafka_projector
from groundswell.cli.common import fail, session
from groundswell.settings import DEFAULT_TOPIC
from projections.catalog import PROJECTION_NAMES

PANEL = "Production"
JOIN_WAIT = 15.0  # seconds a projector of `project all` may take to join before the next starts


class OnPoison(StrEnum):
    """What an undecodable message does to the projection."""

    stop = "stop"
    dead_letter = "dead-letter"


def register(app: typer.Typer) -> None:
    """Add ``project`` to the root command."""
    app.command("project", rich_help_panel=PANEL)(project)


def project(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME|all",
            help=f"One of: {', '.join(PROJECTION_NAMES)}; or all, one process for all.",
            show_default=False,
        ),
    ],
    group_id: Annotated[
        str | None,
        typer.Option(
            help="Consumer group (default groundswell.NAME); with all, a prefix: GROUP.NAME.",
            show_default=False,
        ),
    ] = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            help="A stable name for this instance (static membership): restarted, it takes "
            "back its partitions at once instead of after the 10 s session timeout.",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Most messages per transaction.")] = 2_000,
    on_poison: Annotated[
        OnPoison,
        typer.Option(help="An undecodable message stops the projection, or is set aside."),
    ] = OnPoison.stop,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild", help="Delete the stored rows and offsets and read from the beginning."
        ),
    ] = False,
    bootstrap_servers: Annotated[
        str | None, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="host:port[,host:port].")
    ] = None,
    topic: Annotated[str, typer.Option(envvar="GROUNDSWELL_TOPIC")] = DEFAULT_TOPIC,
    postgres_schema: Annotated[
        str | None,
        typer.Option(
            envvar="GROUNDSWELL_POSTGRES_SCHEMA", help="Keep the read models in this schema."
        ),
    ] = None,
) -> None:
    """Feed a projection's read model from Kafka into PostgreSQL, batch by batch."""
    if name != "all" and name not in PROJECTION_NAMES:
        fail(f"unknown projection {name!r}; the projections are: {', '.join(PROJECTION_NAMES)}.")
    settings = replace(
        session(ctx).settings,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic=topic,
        postgres_schema=postgres_schema,
    )
    if not settings.database_url:
        fail("a projection fed from Kafka keeps its rows in PostgreSQL: set --database-url.")
    if not bootstrap_servers:
        fail("set --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS) to read from Kafka.")
    names = list(PROJECTION_NAMES) if name == "all" else [name]
    projectors = []
    for each in names:
        group = f"{group_id}.{each}" if group_id and name == "all" else group_id
        try:
            projectors.append(
                build_kafka_projector(
                    settings,
                    each,
                    group_id=group,
                    instance_id=f"{instance_id}.{each}" if instance_id else None,
                    batch=batch,
                    on_poison=on_poison.value,
                    rebuild=rebuild,
                )
            )
        except Exception as error:  # the database, the broker or stale rows: say which
            fail(f"{each}: cannot start: {error}")

    def stop(signum: int, _frame: Any) -> None:
        for projector in projectors:
            projector.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures: list[str] = []

    def run(projector: Any) -> None:
        typer.echo(
            f"{projector.name}: reading {topic} (batch {batch}, on poison: {on_poison.value})",
            err=True,
        )
        try:
            projector.run()
        except Exception as error:
            failures.append(str(error))
            typer.echo(f"error: {error}", err=True)
            # All or none: a process with one projection stopped would look alive to its
            # supervisor while that read model stood still. Exit, and be restarted whole.
            for other in projectors:
                other.stop()
        finally:
            projector.store.close()
        typer.echo(f"{projector.name}: stopped after {projector.applied} events", err=True)

    if len(projectors) == 1:
        run(projectors[0])
    else:
        threads = [threading.Thread(target=run, args=(p,), name=p.name) for p in projectors]
        for projector, thread in zip(projectors, threads, strict=True):
            thread.start()
            # One group joins at a time: seven consumer groups joining at once from one
            # process were seen to stall kafka-python's group coordination for minutes.
            deadline = time.monotonic() + JOIN_WAIT
            while thread.is_alive() and not projector.assigned and time.monotonic() < deadline:
                time.sleep(0.05)
        for thread in threads:
            # Joined with a timeout so the main thread stays free to take signals.
            while thread.is_alive():
                thread.join(timeout=0.5)
    if failures:
        raise typer.Exit(1)
