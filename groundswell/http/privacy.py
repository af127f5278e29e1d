"""Who a reader sees behind a pseudonym: the rule every API answer and page keeps.

Managers, auditors and administrators see identities. Everyone else sees a person who
chose a pseudonym only as that pseudonym, everywhere: in every field naming a person
(author, team, owner, reviewers, managers, "by" ...), in the pages' names and stories,
and in filters (filtering by such a person's handle finds nothing; by the pseudonym,
their rows). Only the person themself sees their own handle. A pseudonym looks like no
other person's handle, name or pseudonym (domain/public_names.py), so showing it in a
handle's place names nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from groundswell.http.auth import Caller
from groundswell.http.common import Api, rows

# Fields whose value is one person's handle, and fields holding a list of handles.
PERSON = frozenset({"author", "owner", "by", "actor", "member", "invitee", "reviewer"})
PEOPLE = frozenset({"team", "reviewers", "managers", "invited", "desk"})
# Matches no handle: a filter by a masked handle finds nothing.
NOBODY = "\x00"


@dataclass(frozen=True)
class Masks:
    """The pseudonym shown instead of each handle the reader may not see."""

    hidden: dict[str, str]

    def handle(self, handle: str) -> str:
        return self.hidden.get(handle, handle)

    def shown(self, value: Any) -> Any:
        """``value`` (a row, a list of rows...) with every person field masked."""
        if not self.hidden:
            return value
        if isinstance(value, list):
            return [self.shown(v) for v in value]
        if not isinstance(value, dict):
            return value
        masked = {}
        for field, found in value.items():
            if field in PERSON and isinstance(found, str):
                masked[field] = self.handle(found)
            elif field in PEOPLE and isinstance(found, list):
                masked[field] = [self.handle(h) if isinstance(h, str) else h for h in found]
            else:
                masked[field] = self.shown(found)
        return masked

    def wanted(self, value: str | None) -> str | None:
        """A filter by person as the reader may use it: a pseudonym stands for its holder;
        a masked handle finds nothing."""
        if value is None or not self.hidden:
            return value
        if value in self.hidden:
            return NOBODY
        return next((h for h, p in self.hidden.items() if p == value), value)


def masks_for(api: Api, caller: Caller, at_least: int = 0) -> Masks:
    """What ``caller`` may not see: nothing for managers, auditors and admins; for everyone
    else, every other person who chose a pseudonym."""
    if caller.sees_identities:
        return Masks({})
    with rows(api, "directory", at_least) as found:
        people = found.table("people")
        hidden = {
            handle: person["pseudonym"]
            for handle, person in people.items()
            if person.get("pseudonym") and handle != caller.handle
        }
    return Masks(hidden)


def public_names(api: Api, caller: Caller, at_least: int = 0) -> dict[str, str]:
    """How the pages name each person for ``caller``: by handle, the name shown (the
    pseudonym of those the reader may not see behind, otherwise the person's name)."""
    masks = masks_for(api, caller, at_least)
    with rows(api, "directory", at_least) as found:
        names = {h: masks.hidden.get(h, p["name"]) for h, p in found.table("people").items()}
    # Values already masked in an answer are pseudonyms: they name themselves.
    names.update({p: p for p in masks.hidden.values()})
    return names
