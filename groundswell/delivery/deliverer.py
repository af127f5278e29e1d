"""The deliverer: derive new messages, claim the due ones, send them, record every attempt.

At least once: a message is marked sent only after the SMTP server accepted it, so a deliverer
killed in between sends it again when its claim runs out (with the same Message-ID, so the
receiver can drop the copy). A server that is down only delays: failed attempts are retried
with exponential backoff and jitter, and a message still undelivered a day after its event is
parked (shown in the delivery log) rather than retried for ever. A refusal the server says is
permanent (5xx: no such mailbox) parks it at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import secrets
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from groundswell.delivery import webhooks
from groundswell.delivery.derive import WEBHOOK, Deriver
from groundswell.delivery.mail import Letterhead, SmtpServer, compose, page_of
from groundswell.delivery.outbox import PARKED, SENT, Attempt, Message, Outbox, stamp

LOG = logging.getLogger("groundswell.deliver")
LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 50


def backoff(attempts: int, jitter: float) -> timedelta:
    """How long to wait after the ``attempts``-th failure: doubling from 10 s up to an hour,
    scaled by ``jitter`` in [0.5, 1] so that retries after an outage do not all come at once."""
    wait = min(FIRST_RETRY * 2 ** min(attempts - 1, 20), LONGEST_WAIT)
    return wait * jitter


class Deliverer:
    """One deliverer; run as many as wanted against the same outbox."""

    def __init__(
        self,
        outbox: Outbox,
        deriver: Deriver,
        server: SmtpServer,
        head: Letterhead,
        clock: Callable[[], datetime],
        *,
        name: str | None = None,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        webhook_timeout: float = webhooks.TIMEOUT,
    ) -> None:
        self.outbox = outbox
        self.deriver = deriver
        self.server = server
        self.head = head
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.batch = batch
        self.lease = lease
        self.webhook_timeout = webhook_timeout
        self.jitter = random.Random()
        self.sent = 0

    def run_once(self) -> int:
        """Derive, then try one batch of due messages; how many were tried."""
        self.deriver.derive()
        now = self.clock()
        self.outbox.make_digests(now)
        claimed = self.outbox.claim(self.name, now, now + self.lease, self.batch)
        if claimed:
            hooks = [m for m in claimed if m.channel.startswith(f"{WEBHOOK}:")]
            mails = [m for m in claimed if not m.channel.startswith(f"{WEBHOOK}:")]
            if mails:
                self.sent += self._send(mails)
            if hooks:
                self.sent += self._call(hooks)
        return len(claimed)

    def drain(self, rounds: int = 1_000) -> int:
        """Try until nothing is due now (tests, and ``groundswell deliver --once``); how many
        were sent."""
        before = self.sent
        for _ in range(rounds):
            if not self.run_once():
                break
        return self.sent - before

    def run(self, stop: threading.Event, idle: float = 1.0) -> None:
        """Deliver until ``stop`` is set, resting ``idle`` seconds when nothing is due."""
        failures = 0
        while not stop.is_set():
            try:
                busy = self.run_once()
                failures = 0
            except Exception:
                # The outbox's database or the log could not be read: nothing was marked sent,
                # so nothing is lost; say so, and try again after a growing rest.
                failures += 1
                LOG.exception(f"deliverer {self.name}: a round failed ({failures} in a row)")
                stop.wait(min(idle * 2**failures, 60.0))
                continue
            if not busy:
                stop.wait(idle)

    def _send(self, messages: list[Message]) -> int:
        sent = 0
        started = time.monotonic()
        try:
            smtp = self.server.connect()
        except (OSError, smtplib.SMTPException) as error:
            for message in messages:
                self._failed(message, f"cannot reach the SMTP server: {error}", started, False)
            return 0
        try:
            for message in messages:
                began = time.monotonic()
                try:
                    smtp.send_message(
                        compose(message, self.head),
                        from_addr=self.head.sender,
                        to_addrs=[message.address or ""],
                    )
                except smtplib.SMTPRecipientsRefused as error:
                    code, why = next(iter(error.recipients.values()))
                    self._failed(
                        message, f"{code} {why.decode(errors='replace')}", began, code >= 500
                    )
                except smtplib.SMTPResponseException as error:
                    detail = f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
                    self._failed(message, detail, began, error.smtp_code >= 500)
                except (OSError, smtplib.SMTPException) as error:
                    self._failed(message, f"the SMTP server failed: {error}", began, False)
                    # The connection is gone: the rest go back for the next round.
                    self.outbox.release(messages[messages.index(message) + 1 :], self.name)
                    break
                else:
                    attempt = self._attempt(message, True, "250 accepted", began)
                    if self.outbox.finish(message, self.name, attempt, SENT):
                        sent += 1
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        return sent

    def _call(self, messages: list[Message]) -> int:
        """Each webhook message, one signed request each."""
        endpoints = {f"{WEBHOOK}:{e.endpoint_id}": e for e in self.outbox.endpoints()}
        base = self.head.base_url.rstrip("/")
        sent = 0
        for message in messages:
            began = time.monotonic()
            endpoint = endpoints.get(message.channel)
            if endpoint is None:
                self._failed(message, "the endpoint was removed", began, True)
                continue
            if endpoint.disabled:
                # Parked untried: once an admin enables the endpoint, they can redeliver.
                self._failed(message, f"the endpoint is disabled: {endpoint.disabled}", began, True)
                continue
            body = webhooks.payload(endpoint, message, base, base + page_of(message.notice))
            try:
                answer = webhooks.send(endpoint, message, body, timeout=self.webhook_timeout)
            except webhooks.WebhookFailed as failure:
                if self._failed(message, failure.detail, began, failure.permanent) and not (
                    failure.permanent
                ):
                    # Still failing a day on: stop sending there until an admin enables it.
                    reason = f"failing for a day ({failure.detail})"
                    self.outbox.disable_endpoint(endpoint.endpoint_id, reason)
                    LOG.error(f"webhook endpoint {endpoint.endpoint_id} disabled: {reason}")
                    self._tell_admins(endpoint, reason, message.message_id)
                    endpoints[message.channel] = replace(endpoint, disabled=reason)
                continue
            attempt = self._attempt(message, True, answer, began)
            if self.outbox.finish(message, self.name, attempt, SENT):
                sent += 1
        return sent

    def _tell_admins(self, endpoint: Any, reason: str, because_of: str) -> None:
        """The administrators hear (e-mail, kind ``webhooks``, as they chose) that an
        endpoint was disabled: one notice per disabling (keyed by the message that failed
        for a day, which one deliverer holds at a time)."""
        text = (
            f"Webhook endpoint {endpoint.endpoint_id} ({endpoint.url}) was disabled: {reason}. "
            f"Enable it again (POST /v1/webhooks/{endpoint.endpoint_id}/enable) and redeliver "
            "what was parked meanwhile."
        )
        key = f"webhook-disabled:{endpoint.endpoint_id}:{because_of}"
        told = self.deriver.tell_admins(key, text, endpoint.endpoint_id, self.clock())
        self.outbox.add(told, 0)  # position 0: the derived position never goes back

    def _attempt(self, message: Message, ok: bool, detail: str, began: float) -> Attempt:
        ms = (time.monotonic() - began) * 1000
        return Attempt(
            message.message_id, message.attempts + 1, stamp(self.clock()), ok, detail, ms
        )

    def _failed(self, message: Message, detail: str, began: float, permanent: bool) -> bool:
        """Record a failed attempt; parked (True) when permanent or a day has gone by."""
        attempt = self._attempt(message, False, detail, began)
        now = self.clock()
        retry_at = now + backoff(attempt.attempt, self.jitter.uniform(0.5, 1.0))
        too_late = retry_at - datetime.fromisoformat(message.at) > GIVE_UP_AFTER
        if permanent or too_late:
            self.outbox.finish(message, self.name, attempt, PARKED)
            return True
        self.outbox.finish(message, self.name, attempt, "pending", stamp(retry_at))
        return False
