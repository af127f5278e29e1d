"""The reward store: what points can be spent on. Redeeming is the domain's
``redeem_points`` (never more than one's balance); the items are this deployment's choice."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    name: str
    points: int
    what: str


DEFAULT = (
    Item("Coffee with the sponsor", 20, "Half an hour with a challenge's sponsor, on you."),
    Item("Book of your choice", 100, "Any book up to 40 €, ordered by the office."),
    Item("Donation to charity", 150, "150 € to a charity the works council lists."),
    Item("Conference ticket", 400, "A ticket to a conference in your field."),
    Item("Extra day off", 500, "One more day of holiday this year."),
)


def catalog() -> tuple[Item, ...]:
    """``GROUNDSWELL_STORE`` may name a JSON file of items: [{"name", "points", "what"}]."""
    path = os.environ.get("GROUNDSWELL_STORE")
    if not path:
        return DEFAULT
    with open(path, encoding="utf-8") as file:
        return tuple(Item(i["name"], int(i["points"]), i.get("what", "")) for i in json.load(file))


CATALOG = catalog()
