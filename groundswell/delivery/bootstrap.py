"""Builds the outbox and the deliverer from settings (the delivery package's composition root)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from groundswell.app.application import utc_now
from groundswell.delivery.deliverer import Deliverer
from groundswell.delivery.derive import Deriver
from groundswell.delivery.mail import Letterhead, SmtpServer
from groundswell.delivery.outbox import Outbox
from groundswell.settings import Settings

DEFAULT_SENDER = "groundswell <groundswell@localhost>"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class DeliverySettings:
    """``GROUNDSWELL_SMTP_URL`` (unset: nothing is e-mailed), ``GROUNDSWELL_MAIL_FROM`` (the
    sender), ``GROUNDSWELL_BASE_URL`` (where the pages are, for the links in e-mails)."""

    smtp_url: str | None = None
    sender: str = DEFAULT_SENDER
    base_url: str = DEFAULT_BASE_URL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        env = os.environ if environ is None else environ
        settings = cls(
            smtp_url=env.get("GROUNDSWELL_SMTP_URL") or None,
            sender=env.get("GROUNDSWELL_MAIL_FROM") or DEFAULT_SENDER,
            base_url=env.get("GROUNDSWELL_BASE_URL") or DEFAULT_BASE_URL,
        )
        if settings.smtp_url:
            SmtpServer.from_url(settings.smtp_url)  # a wrong URL is said at start, not later
        return settings


def build_outbox(settings: Settings) -> Outbox:
    """The outbox lives beside the events: its own SQLite file, or the engine's schema."""
    if settings.database_url:
        from groundswell.delivery.outbox import PostgresOutbox

        return PostgresOutbox(settings.database_url, settings.postgres_schema)
    from groundswell.delivery.outbox import SQLiteOutbox

    return SQLiteOutbox(settings.data_dir / "delivery.sqlite")


def build_deliverer(
    engine: Any,
    outbox: Outbox,
    delivery: DeliverySettings,
    clock: Callable[[], datetime] = utc_now,
    **options: Any,
) -> Deliverer:
    """A deliverer e-mailing through ``delivery.smtp_url`` what the engine's log calls for."""
    if not delivery.smtp_url:
        raise ValueError("e-mail needs an SMTP server: set GROUNDSWELL_SMTP_URL (smtp://host:port)")
    head = Letterhead(delivery.sender, delivery.base_url, outbox.secret())
    return Deliverer(
        outbox,
        Deriver(engine, outbox, clock),
        SmtpServer.from_url(delivery.smtp_url),
        head,
        clock,
        **options,
    )
