"""Who is calling: bearer tokens, the caller's roles, and the guards endpoints declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from domain.errors import NotFound
from domain.person import Role
from groundswell.http.problems import ApiProblem
from groundswell.identity.tokens import (
    AccessTokens,
    ProviderUnavailable,
    TokenRefused,
    looks_like_jwt,
)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="groundswell"'}
# Roles that may see who is behind a pseudonym, and anyone's balance and ledger.
SEE_IDENTITIES = frozenset({Role.ADMIN.value, Role.AUDITOR.value, Role.MANAGER.value})
READ_ALL = frozenset({Role.ADMIN.value, Role.AUDITOR.value})
# What a token looks like, said in every refusal of one (people paste the wrong thing).
TOKEN_SHAPE = "a token starts with gs_ followed by 43 letters, digits, - and _"


@dataclass(frozen=True)
class Caller:
    handle: str
    roles: frozenset[str]
    department: str

    def has(self, role: Role) -> bool:
        """Admins hold every role, as in the domain."""
        return role.value in self.roles or Role.ADMIN.value in self.roles

    @property
    def only_audits(self) -> bool:
        return self.roles <= {Role.AUDITOR.value}

    @property
    def sees_identities(self) -> bool:
        return bool(self.roles & SEE_IDENTITIES)

    @property
    def reads_all(self) -> bool:
        return bool(self.roles & READ_ALL)


def pasted_token(text: str) -> str:
    """The token in what someone pasted: with or without the ``Authorization:`` header name
    and the ``Bearer`` scheme that `make run` prints around it, and surrounding whitespace."""
    token = text.strip()
    for prefix in ("authorization:", "bearer"):
        head, rest = token[: len(prefix)], token[len(prefix) :]
        if head.lower() == prefix and (prefix.endswith(":") or rest[:1].isspace()):
            token = rest.strip()
    return token


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, rest = header.strip().partition(" ")
    token = pasted_token(rest)
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem(
            401,
            "sign-in-needed",
            "send your token as 'Authorization: Bearer <token>' "
            f"({TOKEN_SHAPE}); an administrator issues tokens with "
            "'groundswell tokens issue HANDLE'.",
            field="Authorization",
            headers=CHALLENGE,
        )
    return token


def current_caller(request: Request) -> Caller:
    """The caller ``gate.Gate`` found before the route ran (looked up here only for an app
    served without it)."""
    found = getattr(request.state, "caller", None)
    if isinstance(found, Caller):
        return found
    return caller_holding(request.app.state.api, bearer_token(request))


def caller_holding(api: Any, token: str) -> Caller:
    """The registered person a token belongs to (401 for an unknown or revoked token).

    With OIDC configured (``api.identity``), an access token the identity provider issued
    (a JWT) is accepted too: see ``caller_of_provider_token``."""
    identity = getattr(api, "identity", None)
    if identity is not None and looks_like_jwt(token):
        return caller_of_provider_token(api, identity, token)
    handle = api.tokens.holder(token)
    if handle is None:
        raise ApiProblem(
            401,
            "token-unknown",
            f"this token is unknown or was revoked ({TOKEN_SHAPE}); "
            "ask an administrator for a new one.",
            field="Authorization",
            headers=CHALLENGE,
        )
    try:
        person = api.engine.person(handle)
    except NotFound:
        raise ApiProblem(
            401,
            "token-unknown",
            f"the token's holder {handle!r} is not registered.",
            field="Authorization",
            headers=CHALLENGE,
        ) from None
    return enabled_caller(person)


def caller_of_provider_token(api: Any, identity: AccessTokens, token: str) -> Caller:
    """The registered person an identity provider's access token stands for: 401 for a token
    that fails validation (groundswell/identity/tokens.py) or names someone groundswell does
    not know, 503 while the provider's keys cannot be fetched. The roles are groundswell's."""
    try:
        handle = identity.handle(token)
    except TokenRefused as refused:
        raise ApiProblem(
            401,
            "token-refused",
            f"the identity provider's access token was refused: {refused}",
            field="Authorization",
            headers=CHALLENGE,
        ) from None
    except ProviderUnavailable as down:
        raise ApiProblem(
            503, "identity-provider-unavailable", str(down), headers={"Retry-After": "30"}
        ) from None
    try:
        person = api.engine.person(handle)
    except NotFound:
        raise ApiProblem(
            401,
            "person-not-registered",
            f"the identity provider's access token is valid, but it stands for {handle!r}, who "
            "is not registered in groundswell: people are registered when they first sign in "
            "to the pages, a company system's client by an administrator "
            f"('groundswell people add {handle} ...').",
            field="Authorization",
            headers=CHALLENGE,
        ) from None
    return enabled_caller(person)


def enabled_caller(person: Any) -> Caller:
    """The caller a registered person is, unless an administrator disabled them (401: the
    token stays valid, and works again once they are enabled)."""
    if person.disabled is not None:
        raise ApiProblem(
            401,
            "person-disabled",
            f"{person.handle} is disabled: this token is refused until an administrator "
            f"enables them again ('groundswell people enable {person.handle}').",
            field="Authorization",
            headers=CHALLENGE,
        )
    return Caller(person.handle, frozenset(person.roles), person.department)


def needs(*roles: Role, reading: bool = False) -> object:
    """A dependency admitting callers with any of ``roles`` (or, when ``reading``, auditors)."""

    async def guard(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if any(caller.has(role) for role in roles) or (reading and caller.reads_all):
            return caller
        if not reading and caller.only_audits:
            raise ApiProblem(403, "not-permitted", "auditors read but do not write.")
        # Reading guards name the roles that read everything (a bare one once said
        # "needs the  role").
        names = [role.value for role in roles] + (sorted(READ_ALL) if reading else [])
        wanted = " or ".join(dict.fromkeys(names))
        raise ApiProblem(403, "not-permitted", f"{caller.handle} needs the {wanted} role.")

    return Depends(guard)


AnyCaller = Annotated[Caller, Depends(current_caller)]
# Commands name no role here: the engine refuses what the caller may not do today (auditors
# write nothing, managing needs the manager role: domain/authority.py), after it looked up
# the idempotency key, so a retry answers its first result even if the caller's roles changed.
Writer = Annotated[Caller, Depends(current_caller)]
