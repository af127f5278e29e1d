"""Reward balances: every account's balance and the ledger entries behind it."""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.ledger import REDEEMED, TREASURY, person_account, postings_of, pot_account
from domain.person import Person
from projections.projection import Handler
from projections.rows import Row, Rows, key_of


class BalancesProjection:
    """Tables: ``accounts`` (account → balance), ``entries`` (account|event id → entry),
    ``pots`` (challenge id → title, funded, granted, returned)."""

    name = "balances"
    version = 3

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: _titled,
            Challenge.Edited: _titled,
            Challenge.PotFunded: _pot_funded,
            Challenge.Archived: _archived,
            Challenge.RewardGranted: _reward_granted,
            Person.PointsRedeemed: _redeemed,
        }


def _post(rows: Rows, event: Any) -> None:
    for posting in postings_of(event):
        rows.row("accounts", posting.source, _zero)["balance"] -= posting.points
        rows.row("accounts", posting.target, _zero)["balance"] += posting.points


def _zero() -> Row:
    return {"balance": 0}


def _new_pot() -> Row:
    return {"title": "", "funded": 0, "granted": 0, "returned": 0}


def _titled(rows: Rows, event: Any) -> None:
    rows.row("pots", key_of(event.originator_id), _new_pot)["title"] = event.title


def _pot_funded(rows: Rows, event: Any) -> None:
    _post(rows, event)
    rows.row("pots", key_of(event.originator_id), _new_pot)["funded"] += event.points
    _entry(rows, TREASURY, event, "funding", -event.points, None, None)


def _archived(rows: Rows, event: Any) -> None:
    if event.returned_points:
        _post(rows, event)
        rows.row("pots", key_of(event.originator_id), _new_pot)["returned"] += event.returned_points
        _entry(rows, TREASURY, event, "return", event.returned_points, None, None)


def _reward_granted(rows: Rows, event: Any) -> None:
    _post(rows, event)
    rows.row("pots", key_of(event.originator_id), _new_pot)["granted"] += event.amount
    kind = "split share" if len(event.shares) > 1 else "grant"
    subject = key_of(event.subject_id)
    for handle, points in event.shares.items():
        if points:  # a 0-point share (older histories) is no entry in anyone's ledger
            _entry(rows, person_account(handle), event, kind, points, event.reason, subject)


def _redeemed(rows: Rows, event: Any) -> None:
    _post(rows, event)
    _entry(rows, person_account(event.actor), event, "redemption", -event.points, event.item, None)


def _entry(
    rows: Rows,
    account: str,
    event: Any,
    kind: str,
    points: int,
    reason: str | None,
    subject_id: str | None,
) -> None:
    event_id = key_of(event.event_id)
    rows.put(
        "entries",
        f"{account}|{event_id}",
        {
            "account": account,
            "at": event.timestamp.isoformat(),
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
    found = dict(rows.get("pots", challenge_id) or _new_pot())
    found["remaining"] = balance(rows, pot_account(challenge_id))
    return found


def treasury(rows: Rows) -> int:
    return balance(rows, TREASURY)


def redeemed(rows: Rows) -> int:
    return balance(rows, REDEEMED)
