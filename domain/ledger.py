"""The reward ledger: which points each event moves between which accounts.

Double entry: every posting takes points from one account and gives them to
another, so the sum over all accounts is zero after every event. The treasury is
the only account allowed below zero (it issues points); pots and people never are.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.challenge import Challenge
from domain.person import Person

TREASURY = "treasury"
REDEEMED = "redeemed"


def pot_account(challenge_id: UUID | str) -> str:
    return f"pot:{challenge_id}"


def person_account(handle: str) -> str:
    return f"person:{handle}"


@dataclass(frozen=True)
class Posting:
    """``points`` leave ``source`` and arrive in ``target``."""

    source: str
    target: str
    points: int


def postings_of(event: object) -> list[Posting]:
    """The postings an event implies; events that move no points give none."""
    if isinstance(event, Challenge.PotFunded):
        return [Posting(TREASURY, pot_account(event.originator_id), event.points)]
    if isinstance(event, Challenge.RewardGranted):
        pot = pot_account(event.originator_id)
        return [Posting(pot, person_account(name), points) for name, points in event.shares.items()]
    if isinstance(event, Challenge.Archived) and event.returned_points:
        return [Posting(pot_account(event.originator_id), TREASURY, event.returned_points)]
    if isinstance(event, Person.PointsRedeemed):
        return [Posting(person_account(event.actor), REDEEMED, event.points)]
    if isinstance(event, Person.RedemptionCancelled):
        return [Posting(REDEEMED, person_account(event.person), event.points)]
    return []


def balances(events: list[object]) -> dict[str, int]:
    """Fold events into account balances (accounts never touched are absent)."""
    totals: dict[str, int] = {}
    for event in events:
        for posting in postings_of(event):
            totals[posting.source] = totals.get(posting.source, 0) - posting.points
            totals[posting.target] = totals.get(posting.target, 0) + posting.points
    return totals
