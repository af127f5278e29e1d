"""The boards an auditor can see as of a moment, as data: what `groundswell audit as-of` prints
and ``GET /audit/as-of`` answers (the same shape as each live board's ``--json``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from projections import balances, follow_up, implementation, leaderboard
from projections.rows import Rows


class Board(StrEnum):
    """The boards `audit as-of` can show."""

    leaderboard = "leaderboard"
    balances = "balances"
    funnel = "funnel"
    follow_up = "follow-up"


# The projections each board reads (only these are replayed).
BOARD_PROJECTIONS = {
    Board.leaderboard: "leaderboard",
    Board.balances: "balances",
    Board.funnel: "implementation",
    Board.follow_up: "follow_up",
}

FUNNEL_FIELDS = ("idea_id", "title", "stage", "owner", "core_process", "external_ref")


def funnel_data(found: Rows, now: datetime, cid: str | None) -> dict[str, Any]:
    """The funnel as `funnel --json` shows it (each idea's main fields, days in stage)."""
    view = implementation.funnel_view(found, now, cid)
    ideas = [
        {**{f: i[f] for f in FUNNEL_FIELDS}, "days_in_stage": i["days_in_stage"]}
        for i in view["ideas"]
    ]
    return {"funnel": view["funnel"], "ideas": ideas}


def leaderboard_data(rows: Rows, moment: datetime, cid: str | None) -> list[dict[str, Any]]:
    return [asdict(s) for s in leaderboard.standings(rows, cid)]


def balances_data(rows: Rows, moment: datetime, cid: str | None) -> dict[str, Any]:
    pots = {k: balances.pot(rows, k) for k in rows.table("pots") if cid is None or k == cid}
    people = {
        account.removeprefix("person:"): row["balance"]
        for account, row in sorted(rows.table("accounts").items())
        if account.startswith("person:")
    }
    treasury, redeemed = balances.treasury(rows), balances.redeemed(rows)
    return {"treasury": treasury, "redeemed": redeemed, "pots": pots, "balances": people}


def follow_up_data(rows: Rows, moment: datetime, cid: str | None) -> dict[str, Any]:
    return follow_up.debt_summary(rows, moment, cid)


BOARD_DATA: dict[Board, Callable[[Rows, datetime, str | None], Any]] = {
    Board.leaderboard: leaderboard_data,
    Board.balances: balances_data,
    Board.funnel: funnel_data,
    Board.follow_up: follow_up_data,
}
