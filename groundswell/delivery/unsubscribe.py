"""Unsubscribe links: a token naming one person and one kind of notification, signed.

The link works without signing in (RFC 8058 one-click: the mail client POSTs it), so the
token itself is the permission: an HMAC-SHA256 over handle and kind with the outbox's secret.
Changing either part of a token, or bringing a token from another installation, breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(secret: bytes, handle: str, kind: str) -> str:
    digest = hmac.new(secret, f"unsubscribe\n{handle}\n{kind}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def token(secret: bytes, handle: str, kind: str) -> str:
    return f"{handle}.{kind}.{_mac(secret, handle, kind)}"


def verified(secret: bytes, text: str) -> tuple[str, str] | None:
    """The (handle, kind) a token was made for, or None if it was not made here."""
    handle, _, rest = text.partition(".")
    kind, _, mac = rest.rpartition(".")
    if not handle or not kind or not mac:
        return None
    if not hmac.compare_digest(mac, _mac(secret, handle, kind)):
        return None
    return handle, kind
