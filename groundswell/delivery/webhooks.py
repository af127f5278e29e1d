"""Outgoing webhooks: endpoints admins register, and the one HTTP request each message makes.

A ``cloudevents`` endpoint gets a CloudEvents 1.0 event in structured mode (JSON), a ``slack``
or ``teams`` endpoint its incoming-webhook message (text with a link). Every request is signed
per the Standard Webhooks specification (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: HMAC-SHA256 over ``id.timestamp.body`` with the endpoint's secret), the
id being the message's stable id. Only https, except loopback (tests, development); redirects
are not followed; a response is read up to a size cap, within a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson

from domain.errors import InvalidInput
from domain.person import NOTIFICATION_KINDS
from groundswell.delivery.outbox import Message

TYPES = ("cloudevents", "slack", "teams")
TIMEOUT = 10.0
RESPONSE_CAP = 64 * 1024
LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    url: str
    type: str
    kinds: list[str]
    secret: str
    created_at: str
    disabled: str | None = None  # why it was disabled (None: enabled)

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str) -> str:
    """An endpoint's URL: https anywhere, http only on loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not an http(s) URL.", field="url")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidInput(
            "webhooks are sent over https only (http only to loopback, for development);"
            f" {parts.hostname} is not loopback.",
            field="url",
        )
    return url.strip()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    mac = _keyed(secret).copy()
    mac.update(f"{message_id}.{timestamp}.".encode())
    mac.update(body)
    return "v1," + base64.b64encode(mac.digest()).decode()


@lru_cache(maxsize=256)
def _keyed(secret: str) -> hmac.HMAC:
    """The HMAC keyed with the secret, made once per endpoint and copied for each message
    (keying it is a good part of signing a small body)."""
    return hmac.new(base64.b64decode(secret.removeprefix("whsec_")), digestmod=hashlib.sha256)


def encoded(body: dict[str, Any]) -> bytes:
    """A request's body as sent: compact JSON in UTF-8, the same bytes as
    ``json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()`` (checked in
    tests/unit/test_webhook_body.py) in a fifteenth of its time (it was a tenth of the
    deliverer's own work per webhook)."""
    return orjson.dumps(body)


def payload(endpoint: Endpoint, message: Message, base_url: str, link: str) -> dict[str, Any]:
    notice = message.notice
    if endpoint.type == "slack":
        return {"text": f"{notice['text']} <{link}|See it in groundswell>"}
    if endpoint.type == "teams":
        return {"text": f"{notice['text']} [See it in groundswell]({link})"}
    return {
        "specversion": "1.0",
        "id": message.message_id,
        "source": base_url,
        "type": f"org.groundswell.notification.{message.kind}",
        "time": message.at,
        "subject": f"{notice['subject_kind']}/{notice['subject_id']}",
        "datacontenttype": "application/json",
        "data": {
            "text": notice["text"],
            "link": link,
            "to": notice["to"],
            "subject_kind": notice["subject_kind"],
            "subject_id": notice["subject_id"],
            "challenge_id": notice.get("challenge_id"),
            "event_id": message.event_id,
        },
    }


class WebhookFailed(Exception):
    """The endpoint did not take the message; ``permanent`` when retrying cannot help."""

    def __init__(self, detail: str, status: int | None = None, permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.permanent = permanent


def register(outbox: Any, url: str, type_: str, kinds: list[str], now: str) -> Endpoint:
    """A new endpoint (with its secret, shown once); refused with a reason if malformed."""
    if type_ not in TYPES:
        raise InvalidInput(f"a webhook is of type {', '.join(TYPES)}, not {type_!r}.", field="type")
    unknown = [k for k in kinds if k not in NOTIFICATION_KINDS]
    if unknown:
        known = ", ".join(NOTIFICATION_KINDS)
        raise InvalidInput(f"unknown kinds {unknown}; kinds are {known}.", field="kind")
    endpoint = Endpoint(secrets.token_hex(6), checked_url(url), type_, kinds, new_secret(), now)
    outbox.add_endpoint(endpoint)
    return endpoint


class Poster:
    """Signed requests, over one keep-alive connection per endpoint while a round of messages
    lasts (opening a connection costs more than a request on loopback, and far more over TLS);
    :meth:`close` when the round is over."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._open: dict[str, http.client.HTTPConnection] = {}
        self._paths: dict[str, str] = {}

    def send(
        self,
        endpoint: Endpoint,
        message: Message,
        body: dict[str, Any],
        now: float | None = None,
    ) -> str:
        """POST one signed request; what the endpoint answered, or :class:`WebhookFailed`."""
        raw = encoded(body)
        stamp = int(now if now is not None else time.time())
        content_type = (
            "application/cloudevents+json" if endpoint.type == "cloudevents" else "application/json"
        )
        headers = {
            "Content-Type": content_type,
            "User-Agent": "groundswell-webhooks",
            "webhook-id": message.message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature(endpoint.secret, message.message_id, stamp, raw),
        }
        connection = self._open.get(endpoint.url)
        if connection is None:
            parts = urlsplit(checked_url(endpoint.url))
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection = self._connect(parts.scheme, parts.hostname or "", parts.port)
            self._open[endpoint.url], self._paths[endpoint.url] = connection, path
        host, path = connection.host, self._paths[endpoint.url]
        kept_alive = connection.sock is not None  # open since an earlier request
        try:
            try:
                response = _exchange(connection, path, raw, headers)
            except (ConnectionResetError, BrokenPipeError):
                if not kept_alive:
                    raise
                # The endpoint had closed the idle connection before reading this request
                # (nothing was answered): once more, on a new one.
                connection.close()
                response = _exchange(connection, path, raw, headers)
            read = response.read(RESPONSE_CAP + 1)
        except TimeoutError:
            self._drop(endpoint.url)
            raise WebhookFailed(f"no answer within {self.timeout:g} s") from None
        except OSError as error:
            self._drop(endpoint.url)
            raise WebhookFailed(f"cannot reach {host}: {error}") from None
        except http.client.HTTPException as error:
            self._drop(endpoint.url)
            raise WebhookFailed(f"{host} answered something that is not HTTP: {error}") from None
        if not response.isclosed():
            self._drop(endpoint.url)  # an answer left unread (cut): the connection is spent
        status = response.status
        if 300 <= status < 400:
            raise WebhookFailed(
                f"{status}: redirects are not followed (to {response.getheader('Location')})",
                status,
                permanent=True,
            )
        cut = len(read) > RESPONSE_CAP
        if not 200 <= status < 300:
            # 410 Gone: the receiver says it will never take it; anything else may pass later.
            raise WebhookFailed(
                f"{status}: {read[:200].decode(errors='replace')}", status, status == 410
            )
        return f"{status} (response cut at {RESPONSE_CAP} bytes)" if cut else f"{status}"

    def close(self) -> None:
        for url in list(self._open):
            self._drop(url)

    def _connect(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _drop(self, url: str) -> None:
        connection = self._open.pop(url, None)
        if connection is not None:
            connection.close()


def _exchange(
    connection: http.client.HTTPConnection, path: str, raw: bytes, headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection.request("POST", path, body=raw, headers=headers)
    return connection.getresponse()
