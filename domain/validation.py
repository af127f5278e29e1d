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


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def optional_text(field: str, value: object, *, max_len: int = NAME_MAX) -> str | None:
    """Like :func:`text`, but ``None`` or blank means "not given"."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(field, value, max_len=max_len)


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
