"""The API accepts the identity provider's access tokens (issue 21.4), against a real Keycloak
(scripts/keycloak-local, the realm deploy/keycloak/groundswell-realm.json): a company system's
client-credentials token reads what its mapped person may; forged, expired, foreign and
malformed tokens are refused with a clear 401, nothing written."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from groundswell.identity.keys import REFETCH_INTERVAL, ProviderKeys
from groundswell.identity.settings import OidcSettings
from groundswell.identity.tokens import AccessTokens
from groundswell.settings import Settings
from tests.http_support import Org, challenge_terms, served_org
from tests.oidc_support import PASSWORD, Keycloak, oidc_env, post_form, shared_keycloak

# Extra clients this module makes in the realm (and removes): one whose tokens live a second,
# one whose tokens lack the groundswell audience, and one that trades a user's password for
# an access token (the resource owner password grant: people's tokens without a browser).
# Their ids carry this process's own suffix: the suite's workers share one Keycloak and may
# each run part of this module, and one worker's set-up or tear-down must not remove the
# clients another is using.
_OURS = uuid.uuid4().hex[:8]
SHORT_BOT, OTHER_BOT = f"short-lived-bot-{_OURS}", f"other-audience-bot-{_OURS}"
PASSWORD_CLIENT, SECRET = f"password-grant-client-{_OURS}", "extra-test-secret"


@pytest.fixture(scope="module")
def keycloak() -> Iterator[Keycloak]:
    found = shared_keycloak()
    audience = {
        "name": "groundswell audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "config": {"included.client.audience": "groundswell", "access.token.claim": "true"},
    }
    groups = {
        "name": "groups",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-group-membership-mapper",
        "config": {"claim.name": "groups", "full.path": "false", "access.token.claim": "true"},
    }
    made = []
    for client_id, attributes, mappers in (
        (SHORT_BOT, {"access.token.lifespan": "1"}, [audience]),
        (OTHER_BOT, {}, []),
        (PASSWORD_CLIENT, {}, [audience, groups]),
    ):
        for old in found.admin_api("GET", f"/clients?clientId={client_id}"):
            found.admin_api("DELETE", f"/clients/{old['id']}")
        found.admin_api(
            "POST",
            "/clients",
            {
                "clientId": client_id,
                "secret": SECRET,
                "publicClient": False,
                "standardFlowEnabled": False,
                "serviceAccountsEnabled": True,
                "directAccessGrantsEnabled": client_id == PASSWORD_CLIENT,
                "attributes": attributes,
                "protocolMappers": mappers,
            },
        )
        made.append(client_id)
    yield found
    for client_id in made:
        for old in found.admin_api("GET", f"/clients?clientId={client_id}"):
            found.admin_api("DELETE", f"/clients/{old['id']}")


def served(tmp: Path, keycloak: Keycloak, **env: str) -> Org:
    oidc = OidcSettings.from_environment(oidc_env(keycloak, **env))
    org = served_org(replace(Settings(data_dir=tmp), oidc=oidc))
    # The reports bot acts as an auditor: it reads everything and writes nothing.
    org.engine.register_person(
        "reports-bot", name="Reports bot", department="IT", roles=["auditor"]
    )
    return org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, keycloak: Keycloak) -> Iterator[Org]:
    found = served(tmp_path_factory.mktemp("oidc-api"), keycloak)
    found.post("mia", "/v1/challenges", challenge_terms())
    yield found
    found.client.close()
    found.engine.close()


def call(org: Org, token: str, method: str = "GET", path: str = "/v1/challenges") -> Any:
    body = challenge_terms(title="From a bot") if method == "POST" else None
    return org.client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})


def refused(answer: Any, text: str) -> None:
    assert answer.status_code == 401, answer.text
    problem = answer.json()
    assert text in problem["detail"], problem["detail"]
    assert answer.headers["www-authenticate"].startswith("Bearer")


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_client_credentials_token_reads_as_its_mapped_person(
    org: Org, keycloak: Keycloak
) -> None:
    token = keycloak.client_credentials()
    answer = call(org, token)
    assert answer.status_code == 200, answer.text
    assert [c["title"] for c in answer.json()["items"]] == ["Faster changeovers"]
    me = call(org, token, path="/v1/me").json()
    assert (me["handle"], me["roles"]) == ("reports-bot", ["auditor"])


def user_token(keycloak: Keycloak, username: str) -> str:
    answer = post_form(
        keycloak.token_url,
        {
            "grant_type": "password",
            "client_id": PASSWORD_CLIENT,
            "client_secret": SECRET,
            "username": username,
            "password": PASSWORD,
        },
    )
    token: str = answer["access_token"]
    return token


def test_a_persons_token_acts_as_them_with_groundswells_roles(org: Org, keycloak: Keycloak) -> None:
    """otto is in Keycloak's auditors group; groundswell knows him as a contributor."""
    org.engine.register_person("otto", name="Otto", department="Finance", roles=["contributor"])
    token = user_token(keycloak, "otto")
    assert parts(token)[1]["groups"] == ["auditors"]
    me = call(org, token, path="/v1/me").json()
    assert (me["handle"], me["roles"]) == ("otto", ["contributor"])
    refused(call(org, user_token(keycloak, "dana")), "'dana', who is not registered")


def test_it_may_do_only_what_its_person_may(org: Org, keycloak: Keycloak) -> None:
    before = org.engine.recorder.max_notification_id()
    answer = call(org, keycloak.client_credentials(), "POST")
    assert answer.status_code == 403, answer.text
    assert "reports-bot needs the manager role" in answer.json()["detail"]
    assert org.engine.recorder.max_notification_id() == before


def test_a_token_for_someone_not_registered_is_refused(tmp_path: Path, keycloak: Keycloak) -> None:
    ghost = served(tmp_path, keycloak, GROUNDSWELL_OIDC_SERVICE_ACCOUNTS="reports-bot=ghost")
    try:
        refused(call(ghost, keycloak.client_credentials()), "'ghost', who is not registered")
    finally:
        ghost.client.close()
        ghost.engine.close()


def test_an_expired_token_is_refused(org: Org, keycloak: Keycloak) -> None:
    token = keycloak.client_credentials(SHORT_BOT, SECRET)
    _, claims = parts(token)
    assert claims["exp"] - claims["iat"] <= 1
    # Expired by more than the 60 s clock skew: a token whose exp lies that far back is
    # needed, so the skew is taken off by waiting out a second on an app without one.
    strict = org.client.app.state.api.identity
    assert strict is not None
    time.sleep(max(0.0, claims["exp"] + 1.1 - time.time()))
    no_skew = type(strict)(replace(strict.settings, clock_skew_seconds=0), strict.keys)
    org.client.app.state.api.identity = no_skew
    try:
        refused(call(org, token), "the token has expired")
    finally:
        org.client.app.state.api.identity = strict


def test_a_token_for_another_audience_is_refused(org: Org, keycloak: Keycloak) -> None:
    token = keycloak.client_credentials(OTHER_BOT, SECRET)
    assert "groundswell" not in str(parts(token)[1].get("aud"))
    refused(call(org, token), "not 'groundswell'")


def test_a_token_from_another_issuer_is_refused(org: Org, keycloak: Keycloak) -> None:
    """The master realm's token: another issuer, signed by that realm's keys."""
    token = keycloak.admin_token()
    assert parts(token)[1]["iss"].endswith("/realms/master")
    refused(call(org, token), "the identity provider's access token was refused")


def test_a_token_signed_by_another_key_is_refused(org: Org, keycloak: Keycloak) -> None:
    header, claims = parts(keycloak.client_credentials())
    forger = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    forged = jwt.encode({"alg": "RS256", "kid": header["kid"]}, claims, forger)
    refused(call(org, forged), "signature does not verify")
    other_kid = RSAKey.generate_key(2048, parameters={"kid": "forger"})
    forged = jwt.encode({"alg": "RS256", "kid": "forger"}, claims, other_kid)
    refused(call(org, forged), "is not one of the identity provider's keys")


def test_alg_none_and_garbage_are_refused(org: Org, keycloak: Keycloak) -> None:
    header, claims = parts(keycloak.client_credentials())
    unsigned = b64({**header, "alg": "none"}) + "." + b64(claims) + "."
    refused(call(org, unsigned), "signed with 'none'")
    refused(call(org, "a.b.c"), "not a JWT")
    refused(call(org, "eyJhbGciOiJSUzI1NiJ9.bm9wZQ.c2ln"), "does not verify")


def test_the_provider_down_answers_503_not_a_crash(tmp_path: Path, keycloak: Keycloak) -> None:
    down = served(tmp_path, keycloak)
    identity = down.client.app.state.api.identity
    assert identity is not None
    settings = replace(identity.settings, issuer="http://127.0.0.1:1/realms/groundswell")
    down.client.app.state.api.identity = type(identity)(settings)
    try:
        answer = call(down, keycloak.client_credentials())
        assert answer.status_code == 503, answer.text
        assert "did not answer" in answer.json()["detail"]
    finally:
        down.client.close()
        down.engine.close()


def test_groundswell_tokens_still_work_beside_the_providers(org: Org) -> None:
    assert org.get("cat", "/v1/challenges").status_code == 200
    refused(call(org, "gs_" + "x" * 43), "unknown or was revoked")


def test_rotated_keys_are_picked_up(keycloak: Keycloak) -> None:
    """A realm of its own (the shared one keeps its keys): tokens signed by a key added after
    ours were fetched validate once the keys are fetched again for the new kid."""
    realm = "rotation-" + uuid.uuid4().hex[:8]
    client = {
        "clientId": "bot",
        "secret": SECRET,
        "publicClient": False,
        "standardFlowEnabled": False,
        "serviceAccountsEnabled": True,
        "protocolMappers": [
            {
                "name": "audience",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {"included.client.audience": "bot", "access.token.claim": "true"},
            }
        ],
    }
    keycloak.admin_api("POST", "", {"realm": realm, "enabled": True, "clients": [client]}, "")
    try:
        issuer = f"{keycloak.base_url}/realms/{realm}"

        def token() -> str:
            return keycloak.client_credentials("bot", SECRET, issuer)

        settings = OidcSettings(issuer=issuer, audience="bot")
        now = [0.0]
        tokens = AccessTokens(settings, ProviderKeys(settings, clock=lambda: now[0]))
        first = token()
        assert tokens.claims(first)["azp"] == "bot"
        rotated = {
            "name": "rotated",
            "providerId": "rsa-generated",
            "providerType": "org.keycloak.keys.KeyProvider",
            "config": {"priority": ["500"], "active": ["true"], "enabled": ["true"]},
        }
        keycloak.admin_api("POST", "/components", rotated, realm)
        second = token()
        assert parts(second)[0]["kid"] != parts(first)[0]["kid"]
        now[0] += REFETCH_INTERVAL
        assert tokens.claims(second)["azp"] == "bot"
        assert tokens.claims(first)["azp"] == "bot"  # the old key is still published
    finally:
        keycloak.admin_api("DELETE", "", None, realm)
