"""Just-in-time provisioning: the identity provider's claims become a registered person.

A person's first company sign-in registers them, as ``groundswell people add`` does (an
event, by the operator ``system``): their handle from the username claim as the API maps
it (groundswell/identity/tokens.py: ``Carl@Example.com`` is ``carl``), their name,
e-mail and department from the configured claims, their roles from their groups through
``GROUNDSWELL_OIDC_ROLES`` (no mapped group: contributor). Later sign-ins record a changed
department or changed roles as events, and nothing when nothing changed; a person an
administrator disabled in groundswell is refused (nothing is recorded). Every claim is
checked as the same field typed by an administrator would be (domain/validation.py), so a
hostile name or department is refused with the sentence the domain gives. A person without
a department claim gets ``GROUNDSWELL_OIDC_DEFAULT_DEPARTMENT``, or is refused with a page
telling them what to ask their administrator for.
"""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, NotFound
from domain.person import Role
from domain.validation import email_address
from groundswell.app.engine import Engine
from groundswell.identity.settings import OidcSettings
from groundswell.identity.tokens import TokenRefused, person_handle


class Refused(Exception):
    """A sign-in the claims do not allow; the message is for the person and their admin."""


def claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def provision(engine: Engine, oidc: OidcSettings, claims: dict[str, Any]) -> str:
    """The handle of the person the claims name, registered or brought up to date."""
    try:
        # The handle the API's access tokens map to as well (only the username claim: an
        # ID token's ``azp`` is the pages' own client, never a service account).
        handle = person_handle({oidc.username_claim: claims.get(oidc.username_claim)}, oidc)
    except TokenRefused:
        raise Refused(
            f"your company account's {oidc.username_claim!r} claim is missing or makes no "
            "groundswell handle (letters, digits, '.', '_' and '-'); ask your administrator "
            "to check the identity provider."
        ) from None
    department = claim(claims, oidc.department_claim) or oidc.default_department
    if department is None:
        raise Refused(
            f"your company account has no department (the {oidc.department_claim!r} claim), "
            "and groundswell needs one to place your ideas; ask your administrator to set "
            "your department at the identity provider (or to set "
            "GROUNDSWELL_OIDC_DEFAULT_DEPARTMENT)."
        )
    roles = sorted(oidc.roles_for(claims.get(oidc.groups_claim))) or [Role.CONTRIBUTOR.value]
    try:
        person = engine.person(handle)
    except NotFound:
        person = None
    if person is not None and person.disabled is not None:
        # Checked before the claims are taken over: a disabled person changes nothing.
        raise Refused(
            f"your groundswell account ({handle}) is disabled, so you cannot sign in, "
            "even though your company account is valid; ask a groundswell administrator "
            "to enable it again."
        )
    try:
        if person is None:
            engine.register_person(
                handle,
                name=claim(claims, oidc.name_claim) or handle,
                department=department,
                roles=roles,
                email=email_address(claim(claims, oidc.email_claim)),
            )
            return handle
        if person.department != department:
            engine.change_department(handle, department)
        if sorted(person.roles) != roles:
            engine.change_roles(handle, roles)
    except DomainError as refused:
        raise Refused(
            f"your company account's details cannot be taken over: {refused.message} "
            "Ask your administrator to check them at the identity provider."
        ) from None
    return handle
