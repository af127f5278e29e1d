"""Input checks shared by the aggregates; each failure names the field at fault."""

from __future__ import annotations

import unicodedata
from datetime import date

from email_validator import EmailNotValidError, validate_email

from domain.errors import InvalidInput

TITLE_MAX = 200
TEXT_MAX = 10_000
NAME_MAX = 100
LIST_MAX = 50


def text(field: str, value: object, *, max_len: int = TEXT_MAX, required: bool = True) -> str:
    """A stripped string of at most ``max_len`` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", field=field)
    cleaned = value.strip()
    if unreadable := _unreadable(cleaned):
        raise InvalidInput(
            f"{field} contains a character that is not readable text ({unreadable}).",
            field=field,
        )
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty.", field=field)
    if cleaned and not visible_part(cleaned):
        raise InvalidInput(
            f"{field} must contain readable characters, not only invisible ones "
            "(spaces, zero-width or direction marks).",
            field=field,
        )
    if len(cleaned) > max_len:
        raise InvalidInput(
            f"{field} is {len(cleaned)} characters long; at most {max_len} are allowed.",
            field=field,
        )
    return cleaned


# Tabs and line breaks are text; other control characters, lone surrogates (not Unicode
# characters at all) and non-characters are not, and some stores refuse them (NUL).
ALLOWED_CONTROLS = frozenset("\t\n\r")


def _unreadable(value: str) -> str | None:
    for char in value:
        if char in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cn" and _noncharacter(char)):
            return f"U+{ord(char):04X}"
    return None


def visible_part(value: str) -> str:
    """``value`` without format characters (category Cf: zero-width spaces and joiners,
    direction overrides such as U+202E) and whitespace: what a reader actually sees."""
    return "".join(
        c for c in value if not c.isspace() and unicodedata.category(c) not in ("Cf", "Zs")
    )


def comparable(value: str) -> str:
    """The form two names are compared in: format characters dropped, NFKC (so look-alike
    compatibility forms such as fullwidth letters or ligatures fold together), casefolded,
    whitespace dropped. Two names with the same comparable form look the same to a reader."""
    no_format = "".join(c for c in value if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFKC", no_format).casefold()
    # NFKC after casefold again: casefolding can produce forms NFKC would change.
    folded = unicodedata.normalize("NFKC", folded)
    return "".join(folded.split())


# Direction overrides, embeddings and isolates reorder what follows them on screen: in a
# name they let "\u202eloH nnA" show as another name than the one compared.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def person_name(field: str, value: object) -> str:
    """A person's name or pseudonym: readable text without direction controls."""
    cleaned = text(field, value, max_len=NAME_MAX)
    if found := next((c for c in cleaned if c in DIRECTION_CONTROLS), None):
        raise InvalidInput(
            f"{field} must not contain direction controls (U+{ord(found):04X}): they make a "
            "name show differently from what it is.",
            field=field,
        )
    return cleaned


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def optional_text(field: str, value: object, *, max_len: int = NAME_MAX) -> str | None:
    """Like :func:`text`, but ``None`` or blank means "not given"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(field, value, max_len=max_len)


def optional_person_name(field: str, value: object) -> str | None:
    """Like :func:`person_name`, but ``None`` or blank means "not given"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return person_name(field, value)


def whole_points(field: str, value: object, *, positive: bool = False) -> int:
    """A whole number of points, never negative (and above zero when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be a whole number of points.", field=field)
    if value < 0 or (positive and value == 0):
        bound = "greater than zero" if positive else "zero or more"
        raise InvalidInput(f"{field} must be {bound}, not {value}.", field=field)
    if value > 1_000_000_000:
        raise InvalidInput(f"{field} is too large ({value}).", field=field)
    return value


def names(field: str, values: object, *, required: bool = True) -> list[str]:
    """A list of distinct short names, order kept."""
    if not isinstance(values, (list, tuple)):
        raise InvalidInput(f"{field} must be a list.", field=field)
    if len(values) > LIST_MAX:
        raise InvalidInput(f"{field} has {len(values)} entries; at most {LIST_MAX}.", field=field)
    cleaned: list[str] = []
    for value in values:
        name = text(field, value, max_len=NAME_MAX)
        if name not in cleaned:
            cleaned.append(name)
    if required and not cleaned:
        raise InvalidInput(f"{field} must name at least one entry.", field=field)
    return cleaned


def iso_date(field: str, value: object) -> str:
    """A calendar date written as YYYY-MM-DD."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a date like 2026-12-31.", field=field)
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date like 2026-12-31, not {value!r}.", field=field
        ) from None


def days(field: str, value: object, *, low: int = 1, high: int = 365) -> int:
    """A whole number of days within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"{field} must be a whole number of days from {low} to {high}.", field=field
        )
    return value


def email_address(value: object) -> str | None:
    """An e-mail address in its normal form (None or blank: none). Only its syntax is checked:
    whether the domain receives mail is for the mail server to find out, not a DNS look-up
    inside a command."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput("email must be text.", field="email")
    try:
        found = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise InvalidInput(
            f"{value.strip()!r} is not an e-mail address: {reason}.", field="email"
        ) from None
    return str(found.normalized)
