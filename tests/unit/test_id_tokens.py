"""The company sign-in's ID token check (issue 21, item 1): tokens crafted with Authlib's
JOSE library (joserfc), each wrong in one way, are refused, naming what is wrong."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from groundswell.web.company import Untrusted, checked_id_token, trusted_claims

ISSUER = "https://idp.example/realms/acme"
CLIENT = "groundswell"
NONCE = "n-0S6_WzA2Mj"
OURS = RSAKey.generate_key(2048, parameters={"kid": "k1"})
THEIRS = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, another key
KEYS = KeySet([OURS])


def claims(**changed: Any) -> dict[str, Any]:
    now = int(time.time())
    found = {"iss": ISSUER, "aud": CLIENT, "sub": "f1d2", "exp": now + 300, "iat": now,
             "nonce": NONCE, "preferred_username": "carl"}  # fmt: skip
    found.update(changed)
    return {k: v for k, v in found.items() if v is not None}


def signed(key: Any = OURS, alg: str = "RS256", **changed: Any) -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, claims(**changed), key)


def check(token: str, nonce: str = NONCE) -> dict[str, Any]:
    return checked_id_token(token, KEYS, issuer=ISSUER, audience=CLIENT, nonce=nonce)


def b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def hs256_with_the_public_key() -> str:
    """The public key's bytes used as an HMAC secret (signed by hand: the library refuses)."""
    head = f"{b64({'alg': 'HS256', 'kid': 'k1'})}.{b64(claims())}"
    mac = hmac.new(OURS.as_pem(private=False), head.encode(), hashlib.sha256).digest()
    return f"{head}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_a_right_token_gives_its_claims() -> None:
    assert check(signed())["preferred_username"] == "carl"
    # Our clock may trail the provider's by the skew allowed.
    assert check(signed(iat=int(time.time()) + 30))["sub"] == "f1d2"


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (lambda: signed(THEIRS), "signature"),
        (lambda: signed(exp=int(time.time()) - 120), "exp"),
        (lambda: signed(aud="another-app"), "aud"),
        (lambda: signed(aud=["another-app", CLIENT], azp="another-app"), "azp"),
        (lambda: signed(iss="https://evil.example/realms/acme"), "iss"),
        (lambda: signed(nonce="replayed-nonce"), "nonce"),
        (lambda: signed(nonce=None), "nonce"),
        (lambda: signed(sub=None), "sub"),
        (lambda: f"{b64({'alg': 'none', 'kid': 'k1'})}.{b64(claims())}.", "none"),
        (lambda: hs256_with_the_public_key(), "HS256"),
        (lambda: "not.a.token", ""),
        (lambda: "", ""),
    ],
    ids=["other-key", "expired", "other-audience", "other-azp", "other-issuer", "wrong-nonce",
         "no-nonce", "no-subject", "alg-none", "alg-confusion", "garbage", "empty"],
)  # fmt: skip
def test_a_wrong_token_is_refused_naming_what_is_wrong(token: Any, said: str) -> None:
    with pytest.raises(Untrusted) as refused:
        check(token())
    assert str(refused.value)
    if said in ("signature", "none", "HS256"):
        assert "signature" in str(refused.value) or "algorithm" in str(refused.value).lower()
    elif said:
        assert said in str(refused.value), refused.value


def test_the_key_the_token_names_is_asked_for_so_rotated_keys_are_fetched() -> None:
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    asked: list[str | None] = []

    class Provider:
        def keys(self, kid: str | None = None) -> KeySet:
            asked.append(kid)
            return KeySet([OURS, rotated]) if kid == "k2" else KEYS

    token = jwt.encode({"alg": "RS256", "kid": "k2"}, claims(), rotated)
    oidc = SimpleNamespace(issuer=ISSUER, client_id=CLIENT, clock_skew_seconds=60)
    assert trusted_claims(Provider(), token, oidc, NONCE)["sub"] == "f1d2"  # type: ignore[arg-type]
    assert asked == ["k2"]
