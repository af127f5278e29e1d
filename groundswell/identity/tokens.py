"""Access tokens issued by the identity provider (JWTs), validated and mapped to a person.

A token is accepted when it is signed by one of the provider's keys (JWKS) with an
asymmetric algorithm (``alg: none`` and the HMAC algorithms are refused: an HMAC key would
be a secret the provider shares with its clients), and its ``iss`` is our issuer, its ``aud``
holds our audience, and ``exp`` / ``nbf`` / ``iat`` hold with the configured clock skew.
Keycloak's ID and refresh tokens (``typ`` ``ID``/``Refresh``) are refused: only access tokens
call the API. Every refusal is ``TokenRefused`` with a sentence saying why.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)

from domain.person import HANDLE
from groundswell.identity.keys import ProviderKeys, ProviderUnavailable
from groundswell.identity.settings import OidcSettings

# Asymmetric signatures only; never "none" nor HS256/384/512.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
# Keycloak's token kinds besides access tokens ("Bearer"); they must not call the API.
NOT_ACCESS = frozenset({"ID", "Refresh", "Logout", "Offline"})
# Claims naming the client a token was issued to (Keycloak, Entra ID v2/v1, Okta).
CLIENT_CLAIMS = ("client_id", "azp", "appid", "cid")
MAX_TOKEN_CHARS = 16_000
UNSAFE = re.compile(r"[^a-z0-9._-]+")


class TokenRefused(Exception):
    """The token is not a valid access token of our identity provider (a sentence why)."""


def looks_like_jwt(token: str) -> bool:
    """A JWT in compact form: three dot-separated parts (the last empty for ``alg: none``)."""
    return token.count(".") == 2 and not token.startswith("gs_")


def person_handle(claims: dict[str, Any], settings: OidcSettings) -> str:
    """The groundswell person a validated token (or ID token's claims) stands for.

    A client named in ``GROUNDSWELL_OIDC_SERVICE_ACCOUNTS`` acts as the person mapped to it;
    anyone else is their ``username_claim`` (``preferred_username``), lowercased, the domain
    of an e-mail-like name dropped (``Carl@Example.com`` -> ``carl``), other characters than
    letters, digits, ``.``, ``_`` and ``-`` replaced by ``-``."""
    for name in CLIENT_CLAIMS:
        client = claims.get(name)
        if isinstance(client, str) and client in settings.service_accounts:
            return settings.service_accounts[client]
    raw = claims.get(settings.username_claim)
    if not isinstance(raw, str) or not raw.strip():
        raise TokenRefused(
            f"the token has no {settings.username_claim!r} claim naming a person, and its "
            "client is not mapped to one in GROUNDSWELL_OIDC_SERVICE_ACCOUNTS."
        )
    handle = UNSAFE.sub("-", raw.strip().lower().partition("@")[0]).strip("-._")[:40]
    if not HANDLE.match(handle):
        raise TokenRefused(
            f"the token's {settings.username_claim!r} claim does not make a person handle."
        )
    return handle


class AccessTokens:
    """Validates the identity provider's access tokens (see the module's docstring)."""

    def __init__(self, settings: OidcSettings, keys: ProviderKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or ProviderKeys(settings)
        skew = settings.clock_skew_seconds
        self._registry = jwt.JWTClaimsRegistry(
            leeway=skew,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
        )

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once it passed every check; ``TokenRefused`` otherwise, and
        ``ProviderUnavailable`` when the provider's keys cannot be fetched."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused(f"the token is over {MAX_TOKEN_CHARS} characters.")
        header = self._header(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenRefused(
                f"the token is signed with {alg!r}; only {', '.join(ALGORITHMS)} are accepted."
            )
        kid = header.get("kid")
        keys = self.keys.keys(kid if isinstance(kid, str) else None)
        if isinstance(kid, str) and not any(key.kid == kid for key in keys.keys):
            raise TokenRefused(
                f"the token is signed with a key (kid {kid[:64]!r}) that is not one of the "
                "identity provider's keys."
            )
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except BadSignatureError:
            raise TokenRefused(
                "the token's signature does not verify with the identity provider's keys."
            ) from None
        except ValueError as error:  # joserfc: no key with that kid, or a malformed token
            raise TokenRefused(
                f"the token is not signed by one of the identity provider's keys ({error})."
            ) from None
        except JoseError as error:
            raise TokenRefused(f"the token is malformed ({error.description}).") from None
        claims = decoded.claims
        try:
            self._registry.validate(claims)
        except ExpiredTokenError:
            raise TokenRefused("the token has expired; get a new one.") from None
        except MissingClaimError as error:
            raise TokenRefused(f"the token lacks the {error.description} claim.") from None
        except InvalidClaimError as error:
            raise TokenRefused(self._claim_refusal(error.claim, claims)) from None
        if claims.get("typ") in NOT_ACCESS:
            raise TokenRefused(
                f"this is an {claims['typ']} token; the API takes access tokens only."
            )
        return claims

    def handle(self, token: str) -> str:
        """The person handle a valid token stands for."""
        return person_handle(self.claims(token), self.settings)

    def _claim_refusal(self, claim: str, claims: dict[str, Any]) -> str:
        if claim == "iss":
            return (
                f"the token was issued by {claims.get('iss')!r}, not by {self.settings.issuer!r}."
            )
        if claim == "aud":
            return (
                f"the token is for the audience {claims.get('aud')!r}, not "
                f"{self.settings.audience!r}."
            )
        if claim in ("nbf", "iat") and isinstance(claims.get(claim), int | float):
            return f"the token is not valid yet ({claim} is in the future)."
        return f"the token's {claim!r} claim is invalid."

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        """The token's protected header, read before any key is chosen (no trust in it)."""
        encoded = token.partition(".")[0]
        try:
            header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (binascii.Error, ValueError):
            raise TokenRefused(
                "the token is not a JWT (its first part is not base64url-encoded JSON)."
            ) from None
        if not isinstance(header, dict):
            raise TokenRefused("the token is not a JWT (its header is not a JSON object).")
        return header


__all__ = [
    "ALGORITHMS",
    "AccessTokens",
    "ProviderUnavailable",
    "TokenRefused",
    "looks_like_jwt",
    "person_handle",
]
