"""Reward balances: every account's balance and the ledger entries behind it."""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.ledger import REDEEMED, TREASURY, person_account, postings_of, pot_account
from domain.person import Person
from projections.rows import Rows, bump, key_of


class BalancesProjection:
    """Tables: ``accounts`` (account → balance), ``entries`` (account|event id → entry),
    ``pots`` (challenge id → funded, granted, returned, title)."""

    name = "balances"
    version = 1
    handles = frozenset(
        {
            Challenge.Drafted,
            Challenge.Edited,
            Challenge.PotFunded,
            Challenge.Archived,
            Challenge.RewardGranted,
            Person.PointsRedeemed,
        }
    )

    def apply(self, rows: Rows, event: Any) -> None:
        for posting in postings_of(event):
            bump(rows, "accounts", posting.source, "balance", -posting.points, {"balance": 0})
            bump(rows, "accounts", posting.target, "balance", posting.points, {"balance": 0})
        at = event.timestamp.isoformat()
        event_id = key_of(event.event_id)
        if isinstance(event, Challenge.Drafted | Challenge.Edited):
            pot = _pot(rows, event)
            pot["title"] = event.title
            rows.put("pots", key_of(event.originator_id), pot)
        elif isinstance(event, Challenge.PotFunded):
            _bump_pot(rows, event, funded=event.points)
            _entry(rows, TREASURY, event_id, at, "funding", -event.points, event, None, None)
        elif isinstance(event, Challenge.Archived) and event.returned_points:
            _bump_pot(rows, event, returned=event.returned_points)
            _entry(rows, TREASURY, event_id, at, "return", event.returned_points, event, None, None)
        elif isinstance(event, Challenge.RewardGranted):
            _bump_pot(rows, event, granted=event.amount)
            kind = "split share" if len(event.shares) > 1 else "grant"
            for handle, points in event.shares.items():
                _entry(
                    rows,
                    person_account(handle),
                    event_id,
                    at,
                    kind,
                    points,
                    event,
                    event.reason,
                    key_of(event.subject_id),
                )
        elif isinstance(event, Person.PointsRedeemed):
            _entry(
                rows,
                person_account(event.actor),
                event_id,
                at,
                "redemption",
                -event.points,
                event,
                event.item,
                None,
            )


def _pot(rows: Rows, event: Any) -> dict[str, Any]:
    return dict(
        rows.get("pots", key_of(event.originator_id))
        or {"title": "", "funded": 0, "granted": 0, "returned": 0}
    )


def _bump_pot(rows: Rows, event: Any, **amounts: int) -> None:
    pot = _pot(rows, event)
    for field, points in amounts.items():
        pot[field] += points
    rows.put("pots", key_of(event.originator_id), pot)


def _entry(
    rows: Rows,
    account: str,
    event_id: str,
    at: str,
    kind: str,
    points: int,
    event: Any,
    reason: str | None,
    subject_id: str | None,
) -> None:
    rows.put(
        "entries",
        f"{account}|{event_id}",
        {
            "account": account,
            "at": at,
            "kind": kind,
            "points": points,
            "reason": reason,
            "subject_id": subject_id,
            "challenge_id": key_of(event.challenge_id) if event.challenge_id else None,
            "event_id": event_id,
            "event_type": type(event).__qualname__,
        },
    )


def balance(rows: Rows, account: str) -> int:
    return int((rows.get("accounts", account) or {"balance": 0})["balance"])


def ledger(rows: Rows, account: str) -> list[dict[str, Any]]:
    """The entries behind one account's balance, newest first."""
    entries = [e for e in rows.table("entries").values() if e["account"] == account]
    return sorted(entries, key=lambda e: (e["at"], e["event_id"]), reverse=True)


def pot(rows: Rows, challenge_id: str) -> dict[str, int | str]:
    """A challenge's pot: funded, granted, returned and remaining points."""
    found = dict(
        rows.get("pots", challenge_id) or {"title": "", "funded": 0, "granted": 0, "returned": 0}
    )
    found["remaining"] = balance(rows, pot_account(challenge_id))
    return found


def treasury(rows: Rows) -> int:
    return balance(rows, TREASURY)


def redeemed(rows: Rows) -> int:
    return balance(rows, REDEEMED)
