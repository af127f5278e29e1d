"""`groundswell serve`: the HTTP API, on the embedded store or on PostgreSQL and Kafka."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from groundswell.app.follow_up_process import DEFAULT_INTERVAL, FollowUpProcess
from groundswell.bootstrap import build_http_app, build_relay, build_tokens, stop_delivery
from groundswell.cli.common import fail, out, session
from groundswell.delivery.bootstrap import DeliverySettings
from groundswell.demo import tokens as demo_logins
from groundswell.demo.seed import DemoRefused, run_demo, where
from groundswell.http.server import ServerLimits, uvicorn_options
from groundswell.settings import DEFAULT_TOPIC, Settings

if TYPE_CHECKING:
    from groundswell.delivery.sink import LocalSink
    from groundswell.web.mail import MailSinkPage

# Whose tokens `serve --demo` prints: a manager, a contributor and an implementation owner.
DEMO_PEOPLE = (
    ("manager", "mia"),
    ("contributor", "anna.kowalski"),
    ("owner", "sofia"),
    ("admin", "theo"),
    ("auditor", "ada"),
)
LIMITS = ServerLimits()


def demo_tokens(settings: Settings, fresh: bool = False) -> list[tuple[str, str, str]]:
    """The demo people's tokens: the same at every start on this data, unless ``fresh``."""
    tokens = build_tokens(settings)
    try:
        handles = [handle for _, handle in DEMO_PEOPLE]
        issued = demo_logins.demo_tokens(tokens, settings.data_dir, handles, fresh=fresh)
        return [(role, handle, issued[handle]) for role, handle in DEMO_PEOPLE]
    finally:
        tokens.close()


def local_mail(
    settings: Settings, url: str, demo: bool
) -> tuple[DeliverySettings, LocalSink, MailSinkPage] | None:
    """On the embedded store with no ``GROUNDSWELL_SMTP_URL``: a local SMTP sink on a free
    loopback port, the delivery settings that send to it, and its page (admins; with the
    demo, managers too: the demo prints a manager's token, not an administrator's)."""
    delivery = DeliverySettings.from_environment()
    if delivery.smtp_url or settings.database_url:
        return None
    from domain.person import Role
    from groundswell.delivery.sink import LocalSink
    from groundswell.web.mail import MailSinkPage

    maildir = settings.data_dir / "mail-sink"
    sink = LocalSink(maildir)
    base_url = os.environ.get("GROUNDSWELL_BASE_URL") or url
    sending = dataclasses.replace(delivery, smtp_url=sink.smtp_url, base_url=base_url)
    readers = (Role.ADMIN, Role.MANAGER) if demo else (Role.ADMIN,)
    return sending, sink, MailSinkPage(maildir, sink.smtp_url, readers)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="On an empty store, create the demo organisation; print demo tokens."
        ),
    ] = False,
    fresh_tokens: Annotated[
        bool,
        typer.Option(
            "--fresh-tokens",
            help="With --demo: revoke the demo tokens printed before and print new ones "
            "(by default every start prints the same ones, so signed-in tabs stay signed in).",
        ),
    ] = False,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka: also run the outbox relay."),
    ] = None,
    topic: Annotated[str, typer.Option(envvar="GROUNDSWELL_TOPIC")] = DEFAULT_TOPIC,
    relay: Annotated[
        bool,
        typer.Option(
            help="With Kafka: run the outbox relay in this process (--no-relay when "
            "`groundswell relay` runs elsewhere: one relay per topic).",
        ),
    ] = True,
    projectors: Annotated[
        bool,
        typer.Option(
            help="With Kafka: also run `groundswell project all` as a child process "
            "(--no-projectors when they run elsewhere, as in docker-compose).",
        ),
    ] = True,
    follow_up: Annotated[
        bool,
        typer.Option(
            help="Embedded: run the follow-up process in this process, a pass every "
            "--follow-up-interval seconds (with Kafka, run `groundswell follow-up run`).",
        ),
    ] = True,
    follow_up_interval: Annotated[
        float, typer.Option(min=1, help="Seconds between follow-up passes.")
    ] = DEFAULT_INTERVAL,
    max_header_bytes: Annotated[
        int,
        typer.Option(
            min=1024, envvar="GROUNDSWELL_MAX_HEADER_BYTES",
            help="Longest request line and headers, in bytes (431 over).",
        ),
    ] = LIMITS.max_head_bytes,
    header_timeout: Annotated[
        float,
        typer.Option(
            min=0.1, envvar="GROUNDSWELL_HEADER_TIMEOUT",
            help="Seconds a request's headers may take to arrive (408 after).",
        ),
    ] = LIMITS.head_seconds,
    body_timeout: Annotated[
        float,
        typer.Option(
            min=0.1, envvar="GROUNDSWELL_BODY_TIMEOUT",
            help="Seconds a request's body may take to arrive after its headers.",
        ),
    ] = LIMITS.body_seconds,
    keep_alive: Annotated[
        float,
        typer.Option(
            min=0.1, envvar="GROUNDSWELL_KEEP_ALIVE",
            help="Seconds an idle connection is kept open between requests.",
        ),
    ] = LIMITS.keep_alive_seconds,
    max_connections: Annotated[
        int,
        typer.Option(
            min=1, envvar="GROUNDSWELL_MAX_CONNECTIONS",
            help="Open connections at most (one more is answered 503 and closed).",
        ),
    ] = LIMITS.max_connections,
) -> None:  # fmt: skip
    """Serve the web pages (/web) and the HTTP API (OpenAPI at /docs) until Ctrl-C.

    On the embedded default the projections run in-process. With DATABASE_URL the store
    is PostgreSQL; with KAFKA_BOOTSTRAP_SERVERS as well, the relay publishes every event
    to Kafka from this process, and the API reads the read models that
    `groundswell project all` feeds from Kafka (started as a child unless --no-projectors).
    """
    import uvicorn

    env = Settings.from_environment()
    # The address served is a Host its readers use (not so 0.0.0.0: name the hosts).
    named = () if host in ("0.0.0.0", "::", "") else (host,)
    settings = dataclasses.replace(
        session(ctx).settings,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic=topic,
        write_limit=env.write_limit,
        sign_in_failure_limit=env.sign_in_failure_limit,
        allowed_hosts=tuple(dict.fromkeys(env.allowed_hosts + named)),
        live_recheck_seconds=env.live_recheck_seconds,
    )
    console = out()
    engine = session(ctx).engine
    if demo and not engine.last_position:
        console.print(f"First start: writing the demo organisation to {where(settings)}…")
        try:
            run_demo(settings, console=Console(quiet=True), report=False)
        except DemoRefused as refused:
            fail(str(refused))
    url = f"http://{host}:{port}"
    mail = local_mail(settings, url, demo)
    app = build_http_app(settings, engine, mail[0] if mail else None)
    if mail is not None:
        app.state.mail_sink = mail[2]
    relaying = build_relay(engine, settings) if bootstrap_servers and relay else None
    from groundswell.http.reads import EmbeddedReadSide

    halt_follow_up = None
    reads = app.state.api.reads
    if follow_up and isinstance(reads, EmbeddedReadSide):
        process = FollowUpProcess(engine, lambda: reads.reading("follow_up"), engine.clock)
        halt_follow_up = process.start_in_thread(follow_up_interval)
        console.print(f"follow-up: reminders and escalations every {follow_up_interval:.0f} s")
    console.print(f"groundswell on [bold]{url}[/bold] ({where(settings)})")
    console.print(f"  pages  {url}/web — sign in with a token")
    console.print(f"  API    {url}/v1 — docs at {url}/docs")
    if mail is not None:
        who = "admins and managers" if demo else "admins"
        console.print(
            f"  e-mail {url}/web/mail ({who}) — what it would send, caught by its own SMTP "
            f"sink on {mail[1].smtp_url} (set GROUNDSWELL_SMTP_URL to send for real)"
        )
    if relaying is not None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        relaying.start_in_thread()
        console.print(f"relay: publishing every event to {topic} at {bootstrap_servers}")
    children = []
    if bootstrap_servers and settings.database_url and projectors:
        command = [sys.executable, "-m", "groundswell", "project", "all"]
        children.append(subprocess.Popen(command))
        console.print("projectors: `groundswell project all` feeds the read models from Kafka")
    if demo:
        for role, handle, token in demo_tokens(settings, fresh=fresh_tokens):
            console.print(f"  {role:<12} {handle:<14} Authorization: Bearer {token}")
        console.print(f"  try: curl -H 'Authorization: Bearer …' {url}/v1/me")
    try:
        limits = ServerLimits(
            max_head_bytes=max_header_bytes,
            head_seconds=header_timeout,
            body_seconds=body_timeout,
            keep_alive_seconds=keep_alive,
            max_connections=max_connections,
        )
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=os.environ.get("LOG_LEVEL", "warning"),
            **uvicorn_options(limits),
        )
    finally:
        stop_delivery(app)
        if halt_follow_up is not None:
            halt_follow_up()
        if mail is not None:
            mail[1].stop()
        for child in children:
            child.terminate()
            child.wait(30)
        if relaying is not None:
            relaying.close()
