"""OpenID Connect settings, read from the environment (``GROUNDSWELL_OIDC_*``).

Without ``GROUNDSWELL_OIDC_ISSUER`` there are none (``None``): people sign in with
groundswell's own tokens, as in the embedded default (`make run`). With it, the pages sign
people in at the identity provider and the API also accepts the provider's access tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlparse

from domain.person import HANDLE, Role

DEFAULT_SCOPES = "openid profile email"
DEFAULT_USERNAME_CLAIM = "preferred_username"
DEFAULT_NAME_CLAIM = "name"
DEFAULT_EMAIL_CLAIM = "email"
DEFAULT_DEPARTMENT_CLAIM = "department"
DEFAULT_GROUPS_CLAIM = "groups"
# Allowed difference between our clock and the provider's for exp, nbf and iat.
DEFAULT_CLOCK_SKEW_SECONDS = 60
# How long a request to the provider (discovery, keys) may take before it counts as down.
DEFAULT_TIMEOUT_SECONDS = 5.0
LOOPBACK_NAMES = frozenset({"localhost"})
CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")


@dataclass(frozen=True)
class OidcSettings:
    """Where the identity provider is and how its tokens and claims map onto groundswell.

    ``issuer`` is the provider's issuer URL (its discovery document lives under
    ``/.well-known/openid-configuration``). ``client_id``/``client_secret``/``redirect_url``
    are the pages' sign-in client; the API accepts access tokens whose ``aud`` holds
    ``audience`` (the client id unless set). A token's person is the ``username_claim``
    (e.g. ``preferred_username``), or, for a client-credentials token of a client named in
    ``service_accounts``, the person handle mapped to it. Sign-in takes the person's name,
    e-mail and department from ``name_claim``, ``email_claim`` and ``department_claim``;
    without a department claim it uses ``default_department``, or refuses (None). Roles come
    from ``groups_claim`` through ``roles`` (an IdP group -> groundswell roles).
    """

    issuer: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_url: str | None = None
    post_logout_redirect_url: str | None = None
    audience: str = ""
    scopes: str = DEFAULT_SCOPES
    username_claim: str = DEFAULT_USERNAME_CLAIM
    name_claim: str = DEFAULT_NAME_CLAIM
    email_claim: str = DEFAULT_EMAIL_CLAIM
    department_claim: str = DEFAULT_DEPARTMENT_CLAIM
    groups_claim: str = DEFAULT_GROUPS_CLAIM
    default_department: str | None = None
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    service_accounts: Mapping[str, str] = field(default_factory=dict)
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.audience:
            if not self.client_id:
                raise ValueError(
                    "with GROUNDSWELL_OIDC_ISSUER set, set GROUNDSWELL_OIDC_CLIENT_ID (or "
                    "GROUNDSWELL_OIDC_AUDIENCE, the audience the API's access tokens carry)"
                )
            object.__setattr__(self, "audience", self.client_id)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def roles_for(self, groups: object) -> frozenset[str]:
        """The groundswell roles the IdP groups (a claim's value) map to."""
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list | tuple):
            return frozenset()
        found: set[str] = set()
        for group in groups:
            if isinstance(group, str):
                # Keycloak names groups by path when asked (/admins): either form matches.
                found.update(self.roles.get(group, ()) or self.roles.get(group.lstrip("/"), ()))
        return frozenset(found)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> OidcSettings | None:
        issuer = (env.get("GROUNDSWELL_OIDC_ISSUER") or "").strip()
        if not issuer:
            return None

        def text(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        def claim(name: str, default: str) -> str:
            value = text(name) or default
            if not CLAIM_NAME.match(value):
                raise ValueError(f"{name} must be a claim name such as {default!r}, not {value!r}")
            return value

        redirect_url = text("GROUNDSWELL_OIDC_REDIRECT_URL")
        if redirect_url is not None:
            check_url("GROUNDSWELL_OIDC_REDIRECT_URL", redirect_url)
        post_logout = text("GROUNDSWELL_OIDC_POST_LOGOUT_REDIRECT_URL")
        if post_logout is not None:
            check_url("GROUNDSWELL_OIDC_POST_LOGOUT_REDIRECT_URL", post_logout)
        return cls(
            issuer=check_url("GROUNDSWELL_OIDC_ISSUER", issuer),
            client_id=text("GROUNDSWELL_OIDC_CLIENT_ID"),
            client_secret=text("GROUNDSWELL_OIDC_CLIENT_SECRET"),
            redirect_url=redirect_url,
            post_logout_redirect_url=post_logout,
            audience=text("GROUNDSWELL_OIDC_AUDIENCE") or "",
            scopes=text("GROUNDSWELL_OIDC_SCOPES") or DEFAULT_SCOPES,
            username_claim=claim("GROUNDSWELL_OIDC_USERNAME_CLAIM", DEFAULT_USERNAME_CLAIM),
            name_claim=claim("GROUNDSWELL_OIDC_NAME_CLAIM", DEFAULT_NAME_CLAIM),
            email_claim=claim("GROUNDSWELL_OIDC_EMAIL_CLAIM", DEFAULT_EMAIL_CLAIM),
            department_claim=claim("GROUNDSWELL_OIDC_DEPARTMENT_CLAIM", DEFAULT_DEPARTMENT_CLAIM),
            groups_claim=claim("GROUNDSWELL_OIDC_GROUPS_CLAIM", DEFAULT_GROUPS_CLAIM),
            default_department=text("GROUNDSWELL_OIDC_DEFAULT_DEPARTMENT"),
            roles=role_mapping(env.get("GROUNDSWELL_OIDC_ROLES")),
            service_accounts=service_accounts(env.get("GROUNDSWELL_OIDC_SERVICE_ACCOUNTS")),
            clock_skew_seconds=int(
                bounded(env, "GROUNDSWELL_OIDC_CLOCK_SKEW", DEFAULT_CLOCK_SKEW_SECONDS, 0, 300)
            ),
            timeout_seconds=bounded(
                env, "GROUNDSWELL_OIDC_TIMEOUT", DEFAULT_TIMEOUT_SECONDS, 0.1, 60
            ),
        )


def check_url(name: str, url: str) -> str:
    """An https URL, or http on a loopback host (a provider on one's own machine, tests)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ValueError(f"{name} must be an https:// URL, not {url!r}")
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        raise ValueError(
            f"{name} must be an https:// URL (plain http only on 127.0.0.1 or localhost), "
            f"not {url!r}"
        )
    return url


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def pairs(name: str, text: str | None, shape: str) -> list[tuple[str, str]]:
    """``a=b,c=d`` as pairs (the last ``=`` splits, so a group name may hold one)."""
    found = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        left, sep, right = part.rpartition("=")
        if not sep or not left.strip() or not right.strip():
            raise ValueError(f"{name} must look like {shape!r}, not {text!r}")
        found.append((left.strip(), right.strip()))
    return found


def role_mapping(text: str | None) -> dict[str, tuple[str, ...]]:
    """``GROUNDSWELL_OIDC_ROLES``: ``GROUP=ROLE,...`` (a group may appear more than once, and
    ``ROLE+ROLE`` gives several). Unset: groups give no roles (everyone is a contributor)."""
    shape = "innovation-managers=manager,admins=admin"
    known = {role.value for role in Role}
    mapping: dict[str, tuple[str, ...]] = {}
    for group, roles in pairs("GROUNDSWELL_OIDC_ROLES", text, shape):
        for role in roles.split("+"):
            role = role.strip().lower()
            if role not in known:
                raise ValueError(
                    f"GROUNDSWELL_OIDC_ROLES maps {group!r} to {role!r}, which is not a role "
                    f"(roles: {', '.join(sorted(known))})"
                )
            if role not in mapping.get(group, ()):
                mapping[group] = (*mapping.get(group, ()), role)
    return mapping


def service_accounts(text: str | None) -> dict[str, str]:
    """``GROUNDSWELL_OIDC_SERVICE_ACCOUNTS``: ``CLIENT_ID=HANDLE,...``, the person a company
    system's client-credentials tokens act as."""
    shape = "reports-bot=reports-bot"
    mapping: dict[str, str] = {}
    for client, handle in pairs("GROUNDSWELL_OIDC_SERVICE_ACCOUNTS", text, shape):
        if not HANDLE.match(handle):
            raise ValueError(
                f"GROUNDSWELL_OIDC_SERVICE_ACCOUNTS maps {client!r} to {handle!r}, which is "
                "not a person handle (lowercase letters, digits, '.', '_' and '-')"
            )
        mapping[client] = handle
    return mapping


def bounded(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValueError(f"{name} must be seconds between {low:g} and {high:g}, not {text!r}")
    return value
