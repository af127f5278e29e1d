"""Reward balances: every account's balance and the ledger entries behind it; the reward
store's catalogue and every redemption with its status."""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.ledger import REDEEMED, TREASURY, person_account, postings_of, pot_account
from domain.person import Person, RedemptionStatus
from domain.store import StoreItem
from projections.projection import Handler
from projections.rows import Row, Rows, key_of


class BalancesProjection:
    """Tables: ``accounts`` (account → balance), ``entries`` (account|event id → entry),
    ``pots`` (challenge id → title, funded, granted, returned), ``items`` (store item id →
    name, price, stock, active), ``redemptions`` (redemption id → who, what, points, status)."""

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
            Person.RedemptionFulfilled: _fulfilled,
            Person.RedemptionCancelled: _cancelled,
            StoreItem.Listed: _listed,
            StoreItem.Repriced: lambda r, e: _item(r, e).update(price=e.price),
            StoreItem.Restocked: lambda r, e: _item(r, e).update(stock=e.stock),
            StoreItem.Retired: lambda r, e: _item(r, e).update(active=False),
            StoreItem.Reactivated: lambda r, e: _item(r, e).update(active=True),
            StoreItem.Taken: lambda r, e: _count(_item(r, e), -1),
            StoreItem.Returned: lambda r, e: _count(_item(r, e), +1),
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
    redemption_id = key_of(event.redemption_id or event.event_id)
    rows.put(
        "redemptions",
        redemption_id,
        {
            "redemption_id": redemption_id,
            "handle": event.actor,
            "item_id": key_of(event.item_id) if event.item_id else None,
            "item": event.item,
            "points": event.points,
            "status": RedemptionStatus.REQUESTED.value,
            "requested_at": event.timestamp.isoformat(),
            "settled_at": None,
            "settled_by": None,
            "reason": None,
        },
    )


def _settled(rows: Rows, event: Any, status: RedemptionStatus) -> Row:
    found: Row = rows.touch("redemptions", key_of(event.redemption_id)) or {}
    found.update(
        status=status.value, settled_at=event.timestamp.isoformat(), settled_by=event.actor
    )
    return found


def _fulfilled(rows: Rows, event: Any) -> None:
    _settled(rows, event, RedemptionStatus.FULFILLED)


def _cancelled(rows: Rows, event: Any) -> None:
    _post(rows, event)
    _settled(rows, event, RedemptionStatus.CANCELLED)["reason"] = event.reason
    item = (rows.get("redemptions", key_of(event.redemption_id)) or {}).get("item")
    account = person_account(event.person)
    _entry(rows, account, event, "cancelled redemption", event.points, item, None)


def _listed(rows: Rows, event: Any) -> None:
    item_id = key_of(event.originator_id)
    rows.put(
        "items",
        item_id,
        {
            "item_id": item_id,
            "name": event.name,
            "description": event.description,
            "price": event.price,
            "stock": event.stock,
            "active": True,
        },
    )


def _item(rows: Rows, event: Any) -> Row:
    found: Row = rows.touch("items", key_of(event.originator_id)) or {}
    return found


def _count(item: Row, by: int) -> None:
    if item.get("stock") is not None:
        item["stock"] += by


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


def store_items(rows: Rows, *, retired: bool = False) -> list[dict[str, Any]]:
    """The store's items, cheapest first (retired ones only when asked)."""
    items = [i for i in rows.table("items").values() if retired or i["active"]]
    return sorted(items, key=lambda i: (i["price"], i["name"], i["item_id"]))


def redemptions(
    rows: Rows, *, handle: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Redemptions, newest first: one person's, or all; of one status, or any."""
    found = [
        r
        for r in rows.table("redemptions").values()
        if (handle is None or r["handle"] == handle) and (status is None or r["status"] == status)
    ]
    return sorted(found, key=lambda r: (r["requested_at"], r["redemption_id"]), reverse=True)
