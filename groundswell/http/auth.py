"""Who is calling: bearer tokens, the caller's roles, and the guards endpoints declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from domain.errors import NotFound
from domain.person import Role
from groundswell.http.problems import ApiProblem

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="groundswell"'}
# Roles that may see who is behind a pseudonym, and anyone's balance and ledger.
SEE_IDENTITIES = frozenset({Role.ADMIN.value, Role.AUDITOR.value, Role.MANAGER.value})
READ_ALL = frozenset({Role.ADMIN.value, Role.AUDITOR.value})


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


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "sign-in-needed",
            "send your token as 'Authorization: Bearer <token>'; an administrator issues "
            "tokens with 'groundswell tokens issue HANDLE'.",
            field="Authorization",
            headers=CHALLENGE,
        )
    return token.strip()


def current_caller(request: Request) -> Caller:
    """The caller ``gate.Gate`` found before the route ran (looked up here only for an app
    served without it)."""
    found = getattr(request.state, "caller", None)
    if isinstance(found, Caller):
        return found
    return caller_holding(request.app.state.api, bearer_token(request))


def caller_holding(api: Any, token: str) -> Caller:
    """The registered person a token belongs to (401 for an unknown or revoked token)."""
    handle = api.tokens.holder(token)
    if handle is None:
        raise ApiProblem(
            401,
            "token-unknown",
            "this token is unknown or was revoked; ask an administrator for a new one.",
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
    return Caller(handle, frozenset(person.roles), person.department)


async def writing_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """Auditors read everything and write nothing."""
    if caller.only_audits:
        raise ApiProblem(
            403, "not-permitted", f"{caller.handle} is an auditor; auditors read but do not write."
        )
    return caller


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
Writer = Annotated[Caller, Depends(writing_caller)]
