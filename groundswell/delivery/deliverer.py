"""The deliverer: derive new messages, claim the due ones, send them, record every attempt.

At least once: a message is marked sent only after the SMTP server accepted it, so a deliverer
killed in between sends it again when its claim runs out (with the same Message-ID, so the
receiver can drop the copy). A server that is down only delays: failed attempts are retried
with exponential backoff and jitter, and a message still undelivered a day after its event is
parked (shown in the delivery log) rather than retried for ever. A refusal the server says is
permanent (5xx: no such mailbox) parks it at once.

A round claims a batch (per recipient and channel a run of consecutive messages), sends it
in lanes, and records every attempt and outcome of the round in one transaction at its end: a
deliverer killed mid-round sends again at most that round's claim. A message to be retried
holds back the rest of its run, which is given back untried.

Lanes: a round's messages are dealt to up to ``LANES`` threads, each with its own SMTP
connection and its own keep-alive connection per webhook endpoint, so that a receiver's
round trip (tens of milliseconds across a network) does not set the pace alone. Every
person's e-mails go through one lane, and every subject's (an idea, a challenge …) webhooks
to an endpoint too, each in order: each recipient's e-mails and each subject's webhooks
arrive in the order of their events. A failure that holds back a run stops its other lanes'
sending to that recipient or endpoint for the round as well.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from groundswell.delivery import webhooks
from groundswell.delivery.derive import WEBHOOK, Deriver
from groundswell.delivery.mail import Letterhead, SmtpServer, compose, page_of
from groundswell.delivery.outbox import (
    PARKED,
    PENDING,
    SENT,
    Attempt,
    Message,
    Outbox,
    Outcome,
    stamp,
)

LOG = logging.getLogger("groundswell.deliver")
LEASE = timedelta(seconds=60)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)
BATCH = 1000
# A claim is sent only during the first three quarters of its lease: the rest is given back
# rather than sent when another deliverer may already have claimed it again.
LEASE_SHARE = 0.75
LANES = 4  # connections at once to the SMTP server, and to each webhook endpoint


def backoff(attempts: int, jitter: float) -> timedelta:
    """How long to wait after the ``attempts``-th failure: doubling from 10 s up to an hour,
    scaled by ``jitter`` in [0.5, 1] so that retries after an outage do not all come at once."""
    wait = min(FIRST_RETRY * 2 ** min(attempts - 1, 20), LONGEST_WAIT)
    return wait * jitter


class Round:
    """What one claim came to: the outcomes to record, and the runs that stopped (a message
    to be retried holds back the later ones of its recipient and channel)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.outcomes: list[Outcome] = []
        self.stopped: set[tuple[str, str]] = set()
        self.over = False
        self._lock = threading.Lock()  # lanes record side by side

    def may_send(self, message: Message) -> bool:
        if time.monotonic() >= self.deadline:
            self.over = True
        return not self.over and (message.handle, message.channel) not in self.stopped

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
            if outcome.state == PENDING:
                self.stopped.add((outcome.message.handle, outcome.message.channel))

    def untried(self, claimed: list[Message]) -> list[Message]:
        tried = {outcome.message.message_id for outcome in self.outcomes}
        return [message for message in claimed if message.message_id not in tried]


def dealt(
    messages: list[Message], key: Callable[[Message], str], lanes: int
) -> list[list[Message]]:
    """``messages`` dealt to at most ``lanes`` lanes, all those with one ``key`` to the same
    lane and in their order there; keys go to the lanes in turn, as they first come."""
    lane_of: dict[str, int] = {}
    found: list[list[Message]] = [[] for _ in range(max(1, lanes))]
    for message in messages:
        found[lane_of.setdefault(key(message), len(lane_of) % len(found))].append(message)
    return [lane for lane in found if lane]


def side_by_side(tasks: list[Callable[[], None]]) -> None:
    """Each task on a thread of its own (the lanes of a round); an error is raised once all
    have ended."""
    if len(tasks) <= 1:
        for task in tasks:
            task()
        return
    with ThreadPoolExecutor(len(tasks), thread_name_prefix="groundswell-deliver") as pool:
        for running in [pool.submit(task) for task in tasks]:
            running.result()


def subject_of(message: Message) -> str:
    notice = message.notice
    return f"{message.channel} {notice.get('subject_kind')}/{notice.get('subject_id')}"


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
        lanes: int = LANES,
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
        self.lanes = lanes
        self.jitter = random.Random()
        self._disabling = threading.Lock()  # one lane disables a failing endpoint
        self.sent = 0

    def run_once(self) -> int:
        """Derive, then try one batch of due messages; how many were claimed."""
        self.deriver.derive()
        now = self.clock()
        self.outbox.make_digests(now)
        claimed = self.outbox.claim(self.name, now, now + self.lease, self.batch)
        if not claimed:
            return 0
        done = Round(time.monotonic() + self.lease.total_seconds() * LEASE_SHARE)
        hooks = [m for m in claimed if m.channel.startswith(f"{WEBHOOK}:")]
        mails = [m for m in claimed if not m.channel.startswith(f"{WEBHOOK}:")]
        try:
            if mails:
                self._send(mails, done)
            if hooks:
                self._call(hooks, done)
        finally:
            # Whatever happened, what was tried is recorded and the rest given back.
            recorded = self.outbox.finish(done.outcomes, self.name, done.untried(claimed))
        self.sent += sum(
            1 for o in done.outcomes if o.state == SENT and o.message.message_id in recorded
        )
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
        # A deliverer beside a served app ends with the engine it reads, not only on ``stop``.
        closing = getattr(self.deriver.engine, "closing", None) or threading.Event()
        while not stop.is_set() and not closing.is_set():
            try:
                busy = self.run_once()
                failures = 0
            except Exception:
                if closing.is_set():
                    break
                # The outbox's database or the log could not be read: nothing was marked sent,
                # so nothing is lost; say so, and try again after a growing rest.
                failures += 1
                LOG.exception(f"deliverer {self.name}: a round failed ({failures} in a row)")
                stop.wait(min(idle * 2**failures, 60.0))
                continue
            if not busy:
                stop.wait(idle)

    def _send(self, messages: list[Message], done: Round) -> None:
        """The round's e-mails, each person's in order through one lane."""
        lanes = dealt(messages, lambda message: message.handle, self.lanes)
        side_by_side([partial(self._send_lane, lane, done) for lane in lanes])

    def _send_lane(self, messages: list[Message], done: Round) -> None:
        """A lane's e-mails, in order, over one connection."""
        started = time.monotonic()
        try:
            smtp = self.server.connect()
        except (OSError, smtplib.SMTPException) as error:
            for message in messages:
                if done.may_send(message):  # the first of each run; the rest wait behind it
                    self._failed(done, message, f"cannot reach the SMTP server: {error}", started)
            return
        try:
            for message in messages:
                if not done.may_send(message):
                    continue
                began = time.monotonic()
                try:
                    smtp.sendmail(
                        self.head.sender, [message.address or ""], compose(message, self.head)
                    )
                except smtplib.SMTPRecipientsRefused as error:
                    code, why = next(iter(error.recipients.values()))
                    detail = f"{code} {why.decode(errors='replace')}"
                    self._failed(done, message, detail, began, code >= 500)
                except smtplib.SMTPResponseException as error:
                    detail = f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
                    self._failed(done, message, detail, began, error.smtp_code >= 500)
                except (OSError, smtplib.SMTPException) as error:
                    self._failed(done, message, f"the SMTP server failed: {error}", began)
                    # The connection is gone: the rest go back for the next round.
                    done.over = True
                    break
                else:
                    done.record(self._outcome(message, True, "250 accepted", began, SENT))
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()

    def _call(self, messages: list[Message], done: Round) -> None:
        """Each webhook message, one signed request each. Each endpoint first gets its first
        message alone: one that is down is tried once a round, as it was before lanes, and
        holds back the rest. Then the rest go in lanes, each subject's in order through one."""
        endpoints = {f"{WEBHOOK}:{e.endpoint_id}": e for e in self.outbox.endpoints()}
        heads: dict[str, Message] = {}
        for message in messages:
            heads.setdefault(message.channel, message)
        first = {message.message_id for message in heads.values()}
        rest = [message for message in messages if message.message_id not in first]
        lanes = dealt(rest, subject_of, self.lanes)
        # Lane 0 goes on over the connections the heads were sent on.
        posters = [webhooks.Poster(timeout=self.webhook_timeout) for _ in range(len(lanes) or 1)]
        try:
            self._call_lane(list(heads.values()), endpoints, posters[0], done)
            side_by_side(
                [
                    partial(self._call_lane, lane, endpoints, poster, done)
                    for lane, poster in zip(lanes, posters, strict=False)
                ]
            )
        finally:
            for poster in posters:
                poster.close()

    def _call_lane(
        self,
        messages: list[Message],
        endpoints: dict[str, Any],
        poster: webhooks.Poster,
        done: Round,
    ) -> None:
        """A lane's webhook messages, in order, over one connection per endpoint."""
        base = self.head.base_url.rstrip("/")
        for message in messages:
            if not done.may_send(message):
                continue
            self._call_one(message, endpoints, base, poster, done)

    def _call_one(
        self,
        message: Message,
        endpoints: dict[str, Any],
        base: str,
        poster: webhooks.Poster,
        done: Round,
    ) -> None:
        began = time.monotonic()
        endpoint = endpoints.get(message.channel)
        if endpoint is None:
            self._failed(done, message, "the endpoint was removed", began, True)
            return
        if endpoint.disabled:
            # Parked untried: once an admin enables the endpoint, they can redeliver.
            detail = f"the endpoint is disabled: {endpoint.disabled}"
            self._failed(done, message, detail, began, True)
            return
        body = webhooks.payload(endpoint, message, base, base + page_of(message.notice))
        try:
            answer = poster.send(endpoint, message, body)
        except webhooks.WebhookFailed as failure:
            parked = self._failed(done, message, failure.detail, began, failure.permanent)
            if parked and not failure.permanent:
                self._disable(endpoint, endpoints, message, f"failing for a day ({failure.detail})")
            return
        done.record(self._outcome(message, True, answer, began, SENT))

    def _disable(
        self, endpoint: Any, endpoints: dict[str, Any], message: Message, reason: str
    ) -> None:
        """Still failing a day on: stop sending there until an admin enables it (once, when
        lanes find it so together)."""
        with self._disabling:
            if endpoints[message.channel].disabled:
                return
            self.outbox.disable_endpoint(endpoint.endpoint_id, reason)
            LOG.error(f"webhook endpoint {endpoint.endpoint_id} disabled: {reason}")
            self._tell_admins(endpoint, reason, message.message_id)
            endpoints[message.channel] = replace(endpoint, disabled=reason)

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

    def _outcome(
        self,
        message: Message,
        ok: bool,
        detail: str,
        began: float,
        state: str,
        next_at: str | None = None,
    ) -> Outcome:
        ms = (time.monotonic() - began) * 1000
        attempt = Attempt(
            message.message_id, message.attempts + 1, stamp(self.clock()), ok, detail, ms
        )
        return Outcome(message, attempt, state, next_at)

    def _failed(
        self, done: Round, message: Message, detail: str, began: float, permanent: bool = False
    ) -> bool:
        """Record a failed attempt; parked (True) when permanent or a day has gone by."""
        now = self.clock()
        retry_at = now + backoff(message.attempts + 1, self.jitter.uniform(0.5, 1.0))
        too_late = retry_at - datetime.fromisoformat(message.at) > GIVE_UP_AFTER
        if permanent or too_late:
            done.record(self._outcome(message, False, detail, began, PARKED))
            return True
        done.record(self._outcome(message, False, detail, began, PENDING, stamp(retry_at)))
        return False
