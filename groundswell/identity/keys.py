"""The identity provider's discovery document and signing keys, fetched and kept.

The discovery document (``ISSUER/.well-known/openid-configuration``) names the JWKS URL;
both are fetched with a timeout, kept in memory, and fetched again when a token names a key
id (``kid``) the kept keys lack (the provider rotated its keys), at most once per
``REFETCH_INTERVAL`` so that tokens with made-up key ids cannot make us hammer the provider.
When the provider does not answer, ``ProviderUnavailable`` says so in a sentence.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from joserfc.jwk import KeySet

from groundswell.identity.settings import OidcSettings, check_url

# A discovery document or key set is small; anything larger is not one.
MAX_DOCUMENT_BYTES = 1_000_000
# Unknown key ids fetch the keys again at most this often (seconds).
REFETCH_INTERVAL = 10.0
# The discovery document is fetched again after this long (its endpoints rarely change).
METADATA_TTL = 3600.0

Fetch = Callable[[str, float], bytes]


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense."""


def fetch_url(url: str, timeout: float) -> bytes:
    """GET ``url`` (JSON expected), at most ``MAX_DOCUMENT_BYTES``."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        body: bytes = answer.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the answer is over {MAX_DOCUMENT_BYTES} bytes")
    return body


class ProviderKeys:
    """The discovery document and key set of ``settings.issuer`` (thread-safe)."""

    def __init__(
        self,
        settings: OidcSettings,
        fetch: Fetch = fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._fetch, self._clock = fetch, clock
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its issuer checked against ours)."""
        with self._lock:
            return self._current_metadata()

    def keys(self, kid: str | None = None) -> KeySet:
        """The provider's signing keys; fetched again first when ``kid`` is not among them."""
        with self._lock:
            now = self._clock()
            if self._keys is None or (
                kid is not None
                and not self._holds(self._keys, kid)
                and now - self._keys_at >= REFETCH_INTERVAL
            ):
                self._keys = self._fetch_keys()
                self._keys_at = now
            return self._keys

    @staticmethod
    def _holds(keys: KeySet, kid: str) -> bool:
        return any(key.kid == kid for key in keys.keys)

    def _current_metadata(self) -> dict[str, Any]:
        now = self._clock()
        if self._metadata is None or now - self._metadata_at >= METADATA_TTL:
            self._metadata = self._fetch_metadata()
            self._metadata_at = now
        return self._metadata

    def _get_json(self, url: str, what: str) -> Any:
        try:
            return json.loads(self._fetch(url, self.settings.timeout_seconds))
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", None) or error
            raise ProviderUnavailable(
                f"the identity provider at {self.settings.issuer} did not answer for its "
                f"{what} ({reason}); try again in a moment, or ask an administrator to check "
                "GROUNDSWELL_OIDC_ISSUER and the provider."
            ) from None
        except ValueError as error:
            raise ProviderUnavailable(
                f"the identity provider at {self.settings.issuer} answered its {what} with "
                f"something that is not JSON ({error})."
            ) from None

    def _fetch_metadata(self) -> dict[str, Any]:
        found = self._get_json(self.settings.discovery_url, "discovery document")
        if not isinstance(found, dict):
            raise ProviderUnavailable(
                f"the discovery document at {self.settings.discovery_url} is not a JSON object."
            )
        # OpenID Connect Discovery 1.0 section 4.3: the issuer must be exactly ours.
        if found.get("issuer") != self.settings.issuer:
            raise ProviderUnavailable(
                f"the discovery document at {self.settings.discovery_url} names the issuer "
                f"{found.get('issuer')!r}, not {self.settings.issuer!r} "
                "(GROUNDSWELL_OIDC_ISSUER must be the provider's issuer exactly)."
            )
        jwks_uri = found.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ProviderUnavailable(
                f"the discovery document at {self.settings.discovery_url} has no jwks_uri."
            )
        try:
            check_url("the provider's jwks_uri", jwks_uri)
        except ValueError as error:
            raise ProviderUnavailable(str(error)) from None
        return found

    def _fetch_keys(self) -> KeySet:
        jwks_uri = self._current_metadata()["jwks_uri"]
        found = self._get_json(jwks_uri, "signing keys")
        if not isinstance(found, dict) or not isinstance(found.get("keys"), list):
            raise ProviderUnavailable(f"the key set at {jwks_uri} is not a JWKS document.")
        # Only public signing keys: an encryption key or a symmetric ("oct") key in the set is
        # skipped (a symmetric key would let anyone holding the client secret sign tokens).
        usable = [
            key
            for key in found["keys"]
            if isinstance(key, dict)
            and key.get("kty") in ("RSA", "EC", "OKP")
            and key.get("use", "sig") == "sig"
        ]
        try:
            return KeySet.import_key_set({"keys": usable})
        except (ValueError, TypeError, KeyError) as error:
            raise ProviderUnavailable(f"the key set at {jwks_uri} is unusable ({error}).") from None
