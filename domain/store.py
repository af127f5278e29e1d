"""The reward store's catalogue: what points can be spent on, at what price, how many left.

Each item is its own aggregate. A redemption takes one from the item (``Taken``) in the
same transaction as the person's ``PointsRedeemed``, guarded by both versions: the price
paid is the price at that version, a retired item is never taken, and two concurrent
redemptions of the last one cannot both succeed, so stock never goes below zero.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from domain.base import GroundswellAggregate
from domain.errors import AlreadyDone, NotAvailable, PriceChanged
from domain.validation import NAME_MAX, text, whole_points

DESCRIPTION_MAX = 500


def _stock(value: object) -> int | None:
    """None: unlimited; otherwise how many are left (zero or more)."""
    return None if value is None else whole_points("stock", value)


class StoreItem(GroundswellAggregate):
    """Something the store offers: name, price in points, optional stock, active or retired."""

    class Listed(GroundswellAggregate.Created):
        name: str
        description: str
        price: int
        stock: int | None

    class Repriced(GroundswellAggregate.Event):
        price: int

        def apply(self, item: StoreItem) -> None:
            item.price = self.price

    class Restocked(GroundswellAggregate.Event):
        """The stock is set to ``stock`` (None: unlimited)."""

        stock: int | None

        def apply(self, item: StoreItem) -> None:
            item.stock = self.stock

    class Retired(GroundswellAggregate.Event):
        def apply(self, item: StoreItem) -> None:
            item.active = False

    class Reactivated(GroundswellAggregate.Event):
        def apply(self, item: StoreItem) -> None:
            item.active = True

    class Taken(GroundswellAggregate.Event):
        """One taken for a redemption, at ``price`` (the item's price at this version)."""

        redemption_id: UUID
        person: str
        price: int

        def apply(self, item: StoreItem) -> None:
            if item.stock is not None:
                item.stock -= 1

    class Returned(GroundswellAggregate.Event):
        """A cancelled redemption's item, back in stock."""

        redemption_id: UUID

        def apply(self, item: StoreItem) -> None:
            if item.stock is not None:
                item.stock += 1

    def __init__(
        self,
        *,
        event_id: UUID,
        actor: str,
        challenge_id: UUID | None,
        name: str,
        description: str,
        price: int,
        stock: int | None,
    ) -> None:
        self.name = name
        self.description = description
        self.price = price
        self.stock = stock
        self.active = True

    def _scope(self) -> UUID | None:
        return None

    @classmethod
    def offer(
        cls,
        *,
        name: str,
        price: int,
        stock: int | None = None,
        description: str = "",
        actor: str,
        at: datetime,
        item_id: UUID | None = None,
    ) -> StoreItem:
        """Offer a new item (administrators; the service checks the role)."""
        return cls._begin(
            cls.Listed,
            item_id or uuid4(),
            actor,
            at,
            challenge_id=None,
            name=text("name", name, max_len=NAME_MAX),
            description=text("description", description, max_len=DESCRIPTION_MAX, required=False),
            price=whole_points("price", price, positive=True),
            stock=_stock(stock),
        )

    def reprice(self, price: int, *, actor: str, at: datetime) -> None:
        self._record(self.Repriced, actor, at, price=whole_points("price", price, positive=True))

    def restock(self, stock: int | None, *, actor: str, at: datetime) -> None:
        self._record(self.Restocked, actor, at, stock=_stock(stock))

    def retire(self, *, actor: str, at: datetime) -> None:
        if not self.active:
            raise AlreadyDone(f"{self.name!r} is retired already.")
        self._record(self.Retired, actor, at)

    def reactivate(self, *, actor: str, at: datetime) -> None:
        if self.active:
            raise AlreadyDone(f"{self.name!r} is offered already.")
        self._record(self.Reactivated, actor, at)

    def take(
        self, redemption_id: UUID, person: str, offered: object, *, actor: str, at: datetime
    ) -> int:
        """Take one for ``person``'s redemption; answers the price to pay.

        ``offered`` is the price the person saw (None: the current price): a different
        one is refused, so nobody pays what they did not agree to, and nobody names a
        price of their own.
        """
        if offered is not None:
            offered = whole_points("points", offered, positive=True)
            if offered != self.price:
                raise PriceChanged(
                    f"{self.name!r} costs {self.price} points, not {offered}; "
                    "redeem it at its current price.",
                    field="points",
                )
        if not self.active:
            raise NotAvailable(f"{self.name!r} is retired and can no longer be redeemed.")
        if self.stock is not None and self.stock <= 0:
            raise NotAvailable(f"{self.name!r} is out of stock.")
        self._record(
            self.Taken, actor, at, redemption_id=redemption_id, person=person, price=self.price
        )
        return self.price

    def give_back(self, redemption_id: UUID, *, actor: str, at: datetime) -> None:
        """Put back the one a cancelled redemption took."""
        self._record(self.Returned, actor, at, redemption_id=redemption_id)
