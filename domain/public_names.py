"""The rule that keeps pseudonyms honest: a pseudonym never looks like anyone else.

A pseudonym is the only name contributors see of someone who chose one, so it must not
pass for another person (their real name, handle or pseudonym) and must not be empty to
the eye. Names are compared in :func:`domain.validation.comparable` form, so look-alikes
(other case, fullwidth or ligature forms, zero-width characters) count as the same name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.validation import comparable


@dataclass(frozen=True)
class Identity:
    """What names one registered person: handle, real name, pseudonym (None: none)."""

    handle: str
    name: str
    pseudonym: str | None


def require_free_pseudonym(pseudonym: str | None, handle: str, people: Iterable[Identity]) -> None:
    """Refuse a pseudonym that looks like another person's handle, name or pseudonym.

    The refusal does not say whose: that would tell the chooser who is behind a pseudonym.
    """
    if pseudonym is None:
        return
    wanted = comparable(pseudonym)
    for other in people:
        if other.handle == handle:
            continue
        taken = {comparable(other.handle), comparable(other.name)}
        if other.pseudonym is not None:
            taken.add(comparable(other.pseudonym))
        if wanted in taken:
            raise InvalidInput(
                f"the pseudonym {pseudonym!r} looks like another person's name, handle or "
                "pseudonym; choose one nobody else goes by.",
                field="pseudonym",
            )


def require_not_a_pseudonym(handle: str, name: str, people: Iterable[Identity]) -> None:
    """Refuse registering a handle or name that looks like someone's pseudonym: the newcomer
    would pass for the person behind it (and the pseudonym would seem to unmask)."""
    mine = {"handle": comparable(handle), "name": comparable(name)}
    for other in people:
        if other.pseudonym is None or other.handle == handle:
            continue
        for field, value in mine.items():
            if value == comparable(other.pseudonym):
                raise InvalidInput(
                    f"this {field} looks like a pseudonym someone already goes by; "
                    f"register the person under another {field}.",
                    field=field,
                )
