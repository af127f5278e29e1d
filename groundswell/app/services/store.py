"""The reward store: administrators keep the catalogue; people redeem items at their price;
administrators fulfil or cancel what was redeemed."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from domain.errors import AlreadyDone
from domain.store import StoreItem
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.people import SYSTEM, require_admin
from groundswell.app.services.unit_of_work import UnitOfWork


class StoreService(GroundswellApplication):
    def offer_item(
        self,
        name: str,
        *,
        price: int,
        stock: int | None = None,
        description: str = "",
        actor: str = SYSTEM,
        item_id: UUID | None = None,
    ) -> Receipt:
        """Add an item to the store's catalogue (administrators); ``item_id`` fixes its id
        (for scripts that name it before it exists)."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "keep the reward store")
            if item_id is not None and uow.exists(item_id):
                raise AlreadyDone(f"something with id {item_id} exists already.", field="item_id")
            item = StoreItem.offer(
                name=name, price=price, stock=stock, description=description, actor=actor,
                at=uow.now, item_id=item_id,
            )  # fmt: skip
            uow.add(item)
            return item.id

        return self.run(command)

    def reprice_item(self, item_id: UUID, price: int, *, actor: str = SYSTEM) -> Receipt:
        return self._on_item(item_id, actor, lambda i, u: i.reprice(price, actor=actor, at=u.now))

    def restock_item(self, item_id: UUID, stock: int | None, *, actor: str = SYSTEM) -> Receipt:
        """Set how many are left (None: unlimited)."""
        return self._on_item(item_id, actor, lambda i, u: i.restock(stock, actor=actor, at=u.now))

    def retire_item(self, item_id: UUID, *, actor: str = SYSTEM) -> Receipt:
        return self._on_item(item_id, actor, lambda i, u: i.retire(actor=actor, at=u.now))

    def reactivate_item(self, item_id: UUID, *, actor: str = SYSTEM) -> Receipt:
        return self._on_item(item_id, actor, lambda i, u: i.reactivate(actor=actor, at=u.now))

    def _on_item(
        self, item_id: UUID, actor: str, change: Callable[[StoreItem, UnitOfWork], None]
    ) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "keep the reward store")
            item = uow.get(StoreItem, item_id)
            change(item, uow)
            return item.id

        return self.run(command)

    def redeem_item(self, actor: str, item_id: UUID, points: object = None) -> Receipt:
        """Redeem one of a store item at its current price, from one's own balance.

        ``points``, when given, is the price the person agreed to: a different one is
        refused. The item's ``Taken`` and the person's ``PointsRedeemed`` are saved in one
        transaction guarded by both versions: stock never goes below zero and the price
        is the one current when the points left the wallet. Answers the redemption's id.
        """

        def command(uow: UnitOfWork) -> UUID:
            person = uow.person(actor)
            item = uow.get(StoreItem, item_id)
            redemption_id = uuid4()
            price = item.take(redemption_id, person.handle, points, actor=actor, at=uow.now)
            person.redeem(
                price, item.name, item_id=item.id, redemption_id=redemption_id, actor=actor,
                at=uow.now,
            )  # fmt: skip
            return redemption_id

        return self.run(command)

    def fulfil_redemption(
        self, handle: str, redemption_id: UUID, *, actor: str = SYSTEM
    ) -> Receipt:
        """The item was handed over (administrators)."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "fulfil redemptions")
            person = uow.person(handle)
            person.fulfil_redemption(redemption_id, actor=actor, at=uow.now)
            return redemption_id

        return self.run(command)

    def cancel_redemption(
        self, handle: str, redemption_id: UUID, reason: str, *, actor: str = SYSTEM
    ) -> Receipt:
        """Cancel a requested redemption (administrators): its points go back to the person
        and, for a store item, the item back into stock."""

        def command(uow: UnitOfWork) -> UUID:
            require_admin(uow, actor, "cancel redemptions")
            person = uow.person(handle)
            cancelled = person.cancel_redemption(redemption_id, reason, actor=actor, at=uow.now)
            if cancelled.item_id is not None:
                item = uow.get(StoreItem, cancelled.item_id)
                item.give_back(redemption_id, actor=actor, at=uow.now)
            return redemption_id

        return self.run(command)

    def store_item(self, item_id: UUID) -> StoreItem:
        return self.load(StoreItem, item_id)
