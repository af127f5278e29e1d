"""``groundswell relay``: the outbox relay as its own process."""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from typing import Annotated

import typer

from groundswell.bootstrap import build_relay
from groundswell.cli.common import fail, session
from groundswell.publish.relay import DEFAULT_BATCH, DEFAULT_PARTITIONS, PublishFailed
from groundswell.settings import DEFAULT_TOPIC


def relay(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Publish what is stored now, then exit.")
    ] = False,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Events per batch sent and acknowledged.")
    ] = DEFAULT_BATCH,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka brokers, host:port[,host:port]."
        ),
    ] = None,
    topic: Annotated[str, typer.Option(envvar="GROUNDSWELL_TOPIC")] = DEFAULT_TOPIC,
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of the topic, if the relay creates it.")
    ] = DEFAULT_PARTITIONS,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log the Kafka client too.")] = False,
) -> None:
    """Publish the event history to Kafka, from where the relay last got to.

    Runs until SIGTERM or Ctrl-C (ending after the batch in hand); waits out Kafka
    outages, retrying with backoff. Position is recorded only after the broker
    acknowledged, so a killed relay sends its last unrecorded batch again.
    """
    if not bootstrap_servers:
        fail("the relay needs Kafka: set KAFKA_BOOTSTRAP_SERVERS or --bootstrap-servers")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # The client logs every failed reconnect; the relay's own lines say what matters.
    logging.getLogger("kafka").setLevel(logging.INFO if verbose else logging.CRITICAL)
    found = session(ctx)
    settings = dataclasses.replace(
        found.settings, kafka_bootstrap_servers=bootstrap_servers, kafka_topic=topic
    )
    relay = build_relay(found.engine, settings, batch_size=batch, partitions=partitions)
    try:
        if once:
            try:
                sent = relay.catch_up()
            except PublishFailed as failure:
                fail(f"Kafka unreachable at {bootstrap_servers}: {failure}")
            typer.echo(f"relay: published {sent} events; position {relay.position}")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        logging.getLogger("groundswell.publish.relay").info(
            f"relay: publishing to {topic} at {bootstrap_servers} after position {relay.position}"
        )
        relay.run_forever(stop)
        logging.getLogger("groundswell.publish.relay").info(f"relay: stopped at {relay.position}")
    finally:
        relay.close()
