"""The real OpenID Connect identity provider the tests use: Keycloak from scripts/keycloak-local,
with the realm deploy/keycloak/groundswell-realm.json (its users, groups and clients are listed
in deploy/keycloak/README.md).

``shared_keycloak()`` is the server scripts/with-services started (GROUNDSWELL_TEST_OIDC_ISSUER,
GROUNDSWELL_TEST_KEYCLOAK_ADMIN): skipped without one, failed under CI=true. ``oidc_env()`` is
the environment that points groundswell at it.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

REALM = "groundswell"
CLIENT_ID = "groundswell"
CLIENT_SECRET = "groundswell-test-secret"
BOT_CLIENT_ID = "reports-bot"
BOT_CLIENT_SECRET = "reports-bot-test-secret"
PASSWORD = "groundswell-test"  # every test user's
ROLES = "innovation-managers=manager,admins=admin,auditors=auditor,owners=owner"


@dataclass(frozen=True)
class Keycloak:
    issuer: str  # http://127.0.0.1:PORT/realms/groundswell
    admin: str  # USER:PASSWORD of the master realm's bootstrap admin

    @property
    def base_url(self) -> str:
        return self.issuer.rsplit("/realms/", 1)[0]

    @property
    def token_url(self) -> str:
        return self.issuer + "/protocol/openid-connect/token"

    def client_credentials(
        self, client_id: str = BOT_CLIENT_ID, secret: str = BOT_CLIENT_SECRET, issuer: str = ""
    ) -> str:
        """A fresh access token for a client-credentials client (the reports bot; of another
        realm's ``issuer`` when given)."""
        answer = post_form(
            (issuer or self.issuer) + "/protocol/openid-connect/token",
            {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        token: str = answer["access_token"]
        return token

    def admin_token(self) -> str:
        user, _, password = self.admin.partition(":")
        answer = post_form(
            self.base_url + "/realms/master/protocol/openid-connect/token",
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": user,
                "password": password,
            },
        )
        token: str = answer["access_token"]
        return token

    def admin_api(self, method: str, path: str, body: Any = None, realm: str = REALM) -> Any:
        """Call Keycloak's admin REST API on a realm (``path`` after /admin/realms/REALM;
        ``realm=""`` and ``path=""`` for the realms themselves)."""
        request = urllib.request.Request(
            f"{self.base_url}/admin/realms{'/' + realm if realm else ''}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.admin_token()}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None


def post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    return found


def shared_keycloak() -> Keycloak:
    """The Keycloak scripts/with-services started: skipped without one, failed under CI."""
    issuer = os.environ.get("GROUNDSWELL_TEST_OIDC_ISSUER")
    admin = os.environ.get("GROUNDSWELL_TEST_KEYCLOAK_ADMIN", "admin:admin")
    if issuer:
        return Keycloak(issuer.rstrip("/"), admin)
    if os.environ.get("CI") == "true":
        pytest.fail(
            "GROUNDSWELL_TEST_OIDC_ISSUER is not set under CI=true; run through "
            "scripts/with-services (it starts scripts/keycloak-local)."
        )
    pytest.skip(
        "GROUNDSWELL_TEST_OIDC_ISSUER not set (scripts/with-services starts scripts/keycloak-local)"
    )


def oidc_env(keycloak: Keycloak, **more: str) -> dict[str, str]:
    """The GROUNDSWELL_OIDC_* settings pointing groundswell at ``keycloak``'s test realm."""
    return {
        "GROUNDSWELL_OIDC_ISSUER": keycloak.issuer,
        "GROUNDSWELL_OIDC_CLIENT_ID": CLIENT_ID,
        "GROUNDSWELL_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "GROUNDSWELL_OIDC_ROLES": ROLES,
        "GROUNDSWELL_OIDC_SERVICE_ACCOUNTS": f"{BOT_CLIENT_ID}=reports-bot",
        **more,
    }
