"""OIDC settings from the environment (groundswell/identity/settings.py)."""

from __future__ import annotations

import re

import pytest

from groundswell.identity.settings import OidcSettings
from groundswell.settings import Settings

ISSUER = "https://login.example.com/realms/acme"


def oidc(**env: str) -> OidcSettings | None:
    return Settings.from_environment(env).oidc


def test_without_an_issuer_there_is_no_oidc() -> None:
    assert oidc() is None
    assert oidc(GROUNDSWELL_OIDC_ISSUER="  ", GROUNDSWELL_OIDC_CLIENT_ID="x") is None


def test_all_settings_are_read() -> None:
    found = oidc(
        GROUNDSWELL_OIDC_ISSUER=ISSUER,
        GROUNDSWELL_OIDC_CLIENT_ID="groundswell",
        GROUNDSWELL_OIDC_CLIENT_SECRET="s3cret",
        GROUNDSWELL_OIDC_REDIRECT_URL="https://ideas.example.com/auth/callback",
        GROUNDSWELL_OIDC_DEPARTMENT_CLAIM="extension_department",
        GROUNDSWELL_OIDC_DEFAULT_DEPARTMENT="unassigned",
        GROUNDSWELL_OIDC_ROLES="innovation-managers=manager, admins=admin+auditor,admins=owner",
        GROUNDSWELL_OIDC_SERVICE_ACCOUNTS="reports-bot=reports-bot",
        GROUNDSWELL_OIDC_CLOCK_SKEW="30",
    )
    assert found is not None
    assert found.audience == "groundswell"  # the client id unless set
    assert found.client_secret == "s3cret" and "s3cret" not in repr(found)
    assert found.department_claim == "extension_department"
    assert found.default_department == "unassigned"
    assert found.roles == {
        "innovation-managers": ("manager",),
        "admins": ("admin", "auditor", "owner"),
    }
    assert found.roles_for(["/admins", "nobody"]) == {"admin", "auditor", "owner"}
    assert found.roles_for("innovation-managers") == {"manager"}
    assert found.roles_for(None) == frozenset()
    assert found.service_accounts == {"reports-bot": "reports-bot"}
    assert found.clock_skew_seconds == 30
    assert found.discovery_url == ISSUER + "/.well-known/openid-configuration"


def test_defaults() -> None:
    found = oidc(GROUNDSWELL_OIDC_ISSUER=ISSUER, GROUNDSWELL_OIDC_AUDIENCE="api://groundswell")
    assert found is not None
    assert (found.client_id, found.audience) == (None, "api://groundswell")
    assert (found.username_claim, found.name_claim, found.email_claim) == (
        "preferred_username",
        "name",
        "email",
    )
    assert (found.department_claim, found.groups_claim) == ("department", "groups")
    assert found.default_department is None  # refuse sign-in without a department
    assert found.roles == {} and found.service_accounts == {}
    assert found.clock_skew_seconds == 60


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GROUNDSWELL_OIDC_CLIENT_ID"),
        ({"GROUNDSWELL_OIDC_ISSUER": "http://idp.example.com/realms/x"}, "https://"),
        ({"GROUNDSWELL_OIDC_ISSUER": "ftp://idp.example.com"}, "https://"),
        ({"GROUNDSWELL_OIDC_ROLES": "admins=emperor"}, "'emperor', which is not a role"),
        ({"GROUNDSWELL_OIDC_ROLES": "admins"}, "must look like"),
        ({"GROUNDSWELL_OIDC_SERVICE_ACCOUNTS": "bot=Not A Handle"}, "not a person handle"),
        ({"GROUNDSWELL_OIDC_CLOCK_SKEW": "ten"}, "GROUNDSWELL_OIDC_CLOCK_SKEW must be seconds"),
        ({"GROUNDSWELL_OIDC_NAME_CLAIM": "a b"}, "GROUNDSWELL_OIDC_NAME_CLAIM must be a claim"),
        ({"GROUNDSWELL_OIDC_REDIRECT_URL": "http://ideas.example.com/cb"}, "https://"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    full = {"GROUNDSWELL_OIDC_ISSUER": ISSUER, "GROUNDSWELL_OIDC_CLIENT_ID": "groundswell", **env}
    if not env:  # neither a client id nor an audience
        del full["GROUNDSWELL_OIDC_CLIENT_ID"]
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_environment(full)


def test_plain_http_is_allowed_on_loopback_only() -> None:
    for issuer in ("http://127.0.0.1:8080/realms/x", "http://localhost:8080/realms/x"):
        found = oidc(GROUNDSWELL_OIDC_ISSUER=issuer, GROUNDSWELL_OIDC_CLIENT_ID="c")
        assert found is not None and found.issuer == issuer
