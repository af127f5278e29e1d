"""Typed domain errors. Each carries a message a person can act on.

A command that raises one of these has written nothing: aggregates only record
events after every rule has been checked, and the service saves nothing on error.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal the domain can give."""

    code = "domain-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """A value is missing, malformed or out of range."""

    code = "invalid-input"


class NotFound(DomainError):
    """The challenge, idea, contribution or person does not exist."""

    code = "not-found"


class NotPermitted(DomainError):
    """The actor may not do this (wrong role, not a manager, not the owner...)."""

    code = "not-permitted"


class WrongStage(DomainError):
    """The aggregate is not in a stage that allows this command."""

    code = "wrong-stage"


class AlreadyDone(DomainError):
    """The command would repeat something that may happen only once."""

    code = "already-done"


class RewardRefused(DomainError):
    """A reward may not be granted: not eligible, self-reward, or pot too small."""

    code = "reward-refused"


class AlreadyRewarded(RewardRefused):
    """The same (reason, subject, beneficiary) has been rewarded before."""

    code = "already-rewarded"


class PotTooSmall(RewardRefused):
    """The challenge's pot holds fewer points than the award."""

    code = "pot-too-small"


class InsufficientBalance(DomainError):
    """A redemption asks for more points than the contributor holds."""

    code = "insufficient-balance"


class ConcurrencyConflict(DomainError):
    """Someone else changed the same thing at the same moment, and retries ran out."""

    code = "concurrency-conflict"


class StaleVersion(DomainError):
    """An edit was based on a version that is no longer the current one."""

    code = "stale-version"

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message, field="If-Match")
        self.current_version = current_version


class NotAvailable(DomainError):
    """A store item is retired or out of stock."""

    code = "not-available"


class PriceChanged(DomainError):
    """A redemption named another price than the item's current one."""

    code = "price-changed"
