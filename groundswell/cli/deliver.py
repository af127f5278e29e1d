"""``groundswell deliver``: the deliverer as its own process; ``groundswell delivery log``."""

from __future__ import annotations

import json
import logging
import signal
import threading
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import typer

from domain.errors import InvalidInput
from groundswell.app.application import utc_now
from groundswell.cli.common import fail, out, session
from groundswell.delivery import webhooks
from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer, build_outbox
from groundswell.delivery.deliverer import BATCH, LANES, LEASE
from groundswell.delivery.outbox import stamp

app = typer.Typer(
    help="What was e-mailed or posted, what is still to be; webhook endpoints.",
    no_args_is_help=True,
)


def deliver(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then exit.")] = False,
    batch: Annotated[int, typer.Option(min=1, help="Messages claimed at a time.")] = BATCH,
    lanes: Annotated[
        int,
        typer.Option(
            min=1, max=32, help="Connections side by side (each person's, subject's in order)."
        ),
    ] = LANES,
    idle: Annotated[
        float, typer.Option(min=0.05, help="Seconds to rest when nothing is due.")
    ] = 1.0,
    lease: Annotated[
        float,
        typer.Option(
            min=1, help="Seconds a claim holds: how soon others resend what a killed one held."
        ),
    ] = LEASE.total_seconds(),
) -> None:
    """E-mail the notifications the history calls for, through GROUNDSWELL_SMTP_URL.

    Runs until SIGTERM or Ctrl-C. Several may run at once (each claims its own messages);
    one killed mid-send has its claimed messages sent again when its claims run out (--lease),
    with the same Message-ID. GROUNDSWELL_MAIL_FROM is the sender, GROUNDSWELL_BASE_URL
    where the links in the e-mails lead.
    """
    try:
        delivery = DeliverySettings.from_environment()
    except ValueError as error:
        fail(str(error))
    if not delivery.smtp_url:
        fail("deliver needs an SMTP server: set GROUNDSWELL_SMTP_URL (smtp://host:port)")
    found = session(ctx)
    outbox = build_outbox(found.settings)
    try:
        deliverer = build_deliverer(
            found.engine,
            outbox,
            delivery,
            batch=batch,
            lease=timedelta(seconds=lease),
            lanes=lanes,
        )
        if once:
            sent = deliverer.drain()
            typer.echo(f"deliver: sent {sent} e-mails")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log = logging.getLogger("groundswell.deliver")
        log.info(f"deliver: {deliverer.name} e-mailing through {delivery.smtp_url}")
        deliverer.run(stop, idle=idle)
        log.info(f"deliver: stopped after sending {deliverer.sent}")
    finally:
        outbox.close()


@app.command("log")
def log(
    ctx: typer.Context,
    person: Annotated[str | None, typer.Option(help="Only messages to this handle.")] = None,
    state: Annotated[str | None, typer.Option(help="pending, sent, parked or skipped.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Each message in the outbox with its state and attempts, oldest first."""
    outbox = build_outbox(session(ctx).settings)
    try:
        messages = outbox.messages(handle=person, state=state)
        if as_json:
            for m in messages:
                tries = [asdict(a) for a in outbox.attempts(m.message_id)]
                typer.echo(json.dumps({**m.logged(), "tries": tries}, ensure_ascii=False))
            return
        from rich.table import Table

        table = Table("To", "Kind", "State", "Tries", "What", "Last error")
        for m in messages:
            table.add_row(
                m.handle, m.kind, m.state, str(m.attempts), m.notice["text"], m.last_error or ""
            )
        out().print(table)
    finally:
        outbox.close()


@app.command("webhook-add")
def webhook_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="https://… (http only to loopback).")],
    type_: Annotated[
        str, typer.Option("--type", help="cloudevents, slack or teams.")
    ] = "cloudevents",
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only these kinds of notification (repeat); all if none."),
    ] = None,
) -> None:
    """Register an endpoint that is POSTed every notification (of the kinds given), signed
    per Standard Webhooks; prints its secret once."""
    outbox = build_outbox(session(ctx).settings)
    try:
        endpoint = webhooks.register(outbox, url, type_, kind or [], stamp(utc_now()))
    except InvalidInput as refusal:
        fail(refusal.message, refusal.field)
    finally:
        outbox.close()
    typer.echo(f"webhook {endpoint.endpoint_id} → {endpoint.url} ({endpoint.type})")
    typer.echo(f"secret (shown once): {endpoint.secret}")


@app.command("webhooks")
def webhook_list(ctx: typer.Context) -> None:
    """The registered endpoints (without their secrets)."""
    outbox = build_outbox(session(ctx).settings)
    try:
        for e in outbox.endpoints():
            kinds = ", ".join(e.kinds) or "every kind"
            state = f"  DISABLED: {e.disabled}" if e.disabled else ""
            typer.echo(f"{e.endpoint_id}  {e.type:<11}  {e.url}  ({kinds}){state}")
    finally:
        outbox.close()


@app.command("webhook-enable")
def webhook_enable(
    ctx: typer.Context, endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id.")]
) -> None:
    """Send to an endpoint again after it was disabled (redeliver what was parked meanwhile)."""
    outbox = build_outbox(session(ctx).settings)
    try:
        if not outbox.disable_endpoint(endpoint_id, None):
            fail(f"no webhook endpoint {endpoint_id!r}; see `groundswell delivery webhooks`.")
    finally:
        outbox.close()
    typer.echo(f"webhook {endpoint_id} enabled")


@app.command("redeliver")
def redeliver(
    ctx: typer.Context, message_id: Annotated[str, typer.Argument(help="A parked message.")]
) -> None:
    """Put a parked message back in line; the next deliverer round sends it."""
    outbox = build_outbox(session(ctx).settings)
    try:
        if not outbox.redeliver(message_id, utc_now()):
            fail(f"no parked message {message_id!r}; see `groundswell delivery log`.", "message")
    finally:
        outbox.close()
    typer.echo(f"message {message_id} will be sent again")
