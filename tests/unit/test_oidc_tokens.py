"""The identity provider's access tokens: validated against its keys, mapped to a person
(groundswell/identity/tokens.py, keys.py), with the provider played by a fake fetch."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from groundswell.identity.keys import REFETCH_INTERVAL, ProviderKeys, ProviderUnavailable
from groundswell.identity.settings import OidcSettings
from groundswell.identity.tokens import AccessTokens, TokenRefused, looks_like_jwt, person_handle

ISSUER = "https://idp.example.com/realms/acme"
JWKS_URI = ISSUER + "/protocol/openid-connect/certs"
SETTINGS = OidcSettings(
    issuer=ISSUER,
    client_id="groundswell",
    service_accounts={"reports-bot": "reports-bot"},
)


def rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


KEY = rsa("key-1")
OTHER = rsa("key-1")  # the same kid, another key: a forger's
NEXT = rsa("key-2")


class Provider:
    """Answers the discovery document and the current key set; counts the fetches."""

    def __init__(self, *keys: RSAKey) -> None:
        self.keys = list(keys)
        self.down = False
        self.fetched: list[str] = []
        self.issuer = ISSUER

    def __call__(self, url: str, timeout: float) -> bytes:
        self.fetched.append(url)
        if self.down:
            raise OSError("Connection refused")
        if url == SETTINGS.discovery_url:
            return json.dumps({"issuer": self.issuer, "jwks_uri": JWKS_URI}).encode()
        assert url == JWKS_URI
        return json.dumps({"keys": [k.as_dict(private=False) for k in self.keys]}).encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def validator(provider: Provider, clock: Callable[[], float] | None = None) -> AccessTokens:
    keys = ProviderKeys(SETTINGS, fetch=provider, clock=clock or time.monotonic)
    return AccessTokens(SETTINGS, keys)


def claims(**over: Any) -> dict[str, Any]:
    now = int(time.time())
    found = {
        "iss": ISSUER,
        "aud": ["groundswell", "account"],
        "sub": "5c1f",
        "exp": now + 300,
        "iat": now,
        "typ": "Bearer",
        "azp": "groundswell",
        "preferred_username": "carl",
    }
    found.update(over)
    return {k: v for k, v in found.items() if v is not None}


def sign(payload: dict[str, Any], key: RSAKey = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_access_token_gives_its_claims_and_person() -> None:
    tokens = validator(Provider(KEY))
    token = sign(claims())
    assert looks_like_jwt(token)
    assert tokens.claims(token)["preferred_username"] == "carl"
    assert tokens.handle(token) == "carl"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: sign(claims(exp=int(time.time()) - 61)), "has expired"),
        (lambda: sign(claims(nbf=int(time.time()) + 120)), "not valid yet"),
        (lambda: sign(claims(aud="someone-else")), "for the audience 'someone-else'"),
        (lambda: sign(claims(aud=None)), "lacks the"),
        (lambda: sign(claims(exp=None)), "lacks the"),
        (lambda: sign(claims(iss="https://evil.example.com")), "issued by 'https://evil"),
        (lambda: sign(claims(), OTHER), "signature does not verify"),
        (lambda: sign(claims(typ="ID")), "ID token"),
        (lambda: sign(claims(typ="Refresh")), "Refresh token"),
        (lambda: b64({"alg": "none"}) + "." + b64(claims()) + ".", "signed with 'none'"),
        (lambda: b64({"alg": "RS256"}) + "." + b64(claims()) + ".", "signature does not"),
        (lambda: "not.a.jwt", "not a JWT"),
        (lambda: b64({"alg": "RS256", "kid": "key-1"}) + ".bm90IGpzb24.c2ln", "does not verify"),
        (lambda: "a" * 20_000 + ".b.c", "over 16000 characters"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: Callable[[], str], reason: str) -> None:
    tokens = validator(Provider(KEY))
    with pytest.raises(TokenRefused, match=reason):
        tokens.claims(token())


def test_within_the_clock_skew_an_expired_token_still_passes() -> None:
    tokens = validator(Provider(KEY))
    assert tokens.claims(sign(claims(exp=int(time.time()) - 30)))["sub"] == "5c1f"
    assert tokens.claims(sign(claims(nbf=int(time.time()) + 30)))["sub"] == "5c1f"


def test_hmac_with_the_public_key_as_secret_is_refused() -> None:
    """The classic algorithm confusion: HS256 'signed' with the provider's public key."""
    public = json.dumps(KEY.as_dict(private=False)).encode()
    forged = jwt.encode({"alg": "HS256", "kid": "key-1"}, claims(), OctKey.import_key(public))
    with pytest.raises(TokenRefused, match="signed with 'HS256'"):
        validator(Provider(KEY)).claims(forged)


def test_a_rotated_key_is_picked_up_and_made_up_kids_do_not_hammer_the_provider() -> None:
    provider, clock = Provider(KEY), Clock()
    tokens = validator(provider, clock)
    assert tokens.handle(sign(claims())) == "carl"
    provider.keys = [NEXT]  # the provider rotated its keys
    clock.now += REFETCH_INTERVAL
    assert tokens.handle(sign(claims(preferred_username="dana"), NEXT)) == "dana"
    fetched = len(provider.fetched)
    for n in range(5):  # unknown kids within the interval: no fetch
        with pytest.raises(TokenRefused, match="that is not one of the identity provider"):
            tokens.claims(sign(claims(), rsa(f"made-up-{n}")))
    assert len(provider.fetched) == fetched


def test_the_provider_down_is_said_in_a_sentence() -> None:
    provider = Provider(KEY)
    provider.down = True
    with pytest.raises(ProviderUnavailable, match="did not answer for its discovery document"):
        validator(provider).claims(sign(claims()))


def test_a_discovery_document_for_another_issuer_is_refused() -> None:
    provider = Provider(KEY)
    provider.issuer = "https://evil.example.com"
    with pytest.raises(
        ProviderUnavailable, match=re.escape("names the issuer 'https://evil.example.com'")
    ):
        validator(provider).claims(sign(claims()))


def test_symmetric_keys_in_the_key_set_are_never_used() -> None:
    secret = OctKey.generate_key(256, parameters={"kid": "hmac"})

    class WithOct(Provider):
        def __call__(self, url: str, timeout: float) -> bytes:
            if url == JWKS_URI:
                keys = [KEY.as_dict(private=False), secret.as_dict(private=True)]
                return json.dumps({"keys": keys}).encode()
            return super().__call__(url, timeout)

    forged = jwt.encode({"alg": "HS256", "kid": "hmac"}, claims(), secret)
    with pytest.raises(TokenRefused, match="signed with 'HS256'"):
        validator(WithOct(KEY)).claims(forged)


def test_person_handles() -> None:
    assert person_handle({"client_id": "reports-bot"}, SETTINGS) == "reports-bot"
    assert person_handle({"azp": "reports-bot", "preferred_username": "x"}, SETTINGS) == (
        "reports-bot"
    )
    assert person_handle({"preferred_username": "Carl.Berg@Example.com"}, SETTINGS) == "carl.berg"
    assert person_handle({"preferred_username": "o'brien"}, SETTINGS) == "o-brien"
    with pytest.raises(TokenRefused, match="no 'preferred_username' claim"):
        person_handle({"azp": "unmapped"}, SETTINGS)
    with pytest.raises(TokenRefused, match="does not make a person handle"):
        person_handle({"preferred_username": "<>"}, SETTINGS)


def test_without_oidc_a_jwt_is_just_an_unknown_token() -> None:
    """The embedded default: no provider, the usual refusal of an unknown token."""
    from types import SimpleNamespace

    from groundswell.http.auth import caller_holding
    from groundswell.http.problems import ApiProblem

    api = SimpleNamespace(tokens=SimpleNamespace(holder=lambda token: None), identity=None)
    with pytest.raises(ApiProblem, match="unknown or was revoked"):
        caller_holding(api, sign(claims()))
