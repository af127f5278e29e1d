"""`groundswell store ...` and `reward redeem` (issue 16.7): the operator keeps the catalogue,
a person redeems an item at its price, the operator fulfils or cancels."""

from __future__ import annotations

import json

from groundswell.app.engine import Engine
from tests.e2e.test_cli import Cli, cli, draft, engine, register_cast

__all__ = ["cli", "engine"]  # the fixtures, used below


def test_the_store_from_the_command_line(cli: Cli, engine: Engine) -> None:
    register_cast(cli)
    challenge = draft(cli)
    cli.ok(f"challenge open {challenge} --as mia")
    idea = cli.ok(f"idea submit {challenge} --as anna --title Carts --description 'On wheels.'")
    cli.ok(f"idea review {idea} --as mia")
    cli.ok(f"idea accept {idea} --as mia")
    cli.ok(f"reward grant idea-accepted {idea} --as mia")  # anna holds 100

    mug = cli.ok("store offer Mug --price 30 --stock 1 --description 'A big one.'")
    lunch = cli.ok("store offer 'Team lunch' --price 60")
    refused = cli("store offer Bike --price 10 --as anna")
    assert refused.exit_code == 1 and "admin" in refused.stderr
    items = json.loads(cli("store items --json").stdout)
    assert [(i["name"], i["price"], i["stock"]) for i in items] == [
        ("Mug", 30, 1),
        ("Team lunch", 60, None),
    ]

    too_cheap = cli(f"reward redeem {lunch} --points 1 --as anna")
    assert too_cheap.exit_code == 1 and "costs 60 points, not 1" in too_cheap.stderr
    first = cli.ok(f"reward redeem {mug} --as anna")
    second = cli.ok(f"reward redeem {lunch} --points 60 --as anna")
    sold_out = cli(f"reward redeem {mug} --as anna")
    assert sold_out.exit_code == 1 and "out of stock" in sold_out.stderr
    assert engine.person("anna").balance == 10

    pending = json.loads(cli("store redemptions --status requested --json").stdout)
    assert {r["redemption_id"] for r in pending} == {first, second}
    cli.ok(f"store fulfil {first}")
    cli.ok(f"store cancel {second} --reason 'Canteen closed.'")
    assert engine.person("anna").balance == 70
    mine = json.loads(cli("store redemptions --of anna --json").stdout)
    assert {(r["item"], r["status"]) for r in mine} == {
        ("Mug", "fulfilled"),
        ("Team lunch", "cancelled"),
    }
    cli.ok(f"store retire {lunch}")
    assert [i["name"] for i in json.loads(cli("store items --json").stdout)] == ["Mug"]
