"""`groundswell audit as-of`: read models as they were at a moment, folded from the history
up to it, printed as the live boards print them (their data: ``groundswell/reads/boards.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from domain.words import treasury_explained
from groundswell.audit.replay import (
    as_of,
    parse_moment,
)
from groundswell.cli.audit_replay import cannot_compare, progress_bar
from groundswell.cli.boards import (
    Json,
    OnlyChallenge,
    emit,
    key,
    pot_table,
    show_follow_up,
    show_funnel,
    table,
    text,
    when,
)
from groundswell.cli.common import out, session
from groundswell.reads.boards import (
    BOARD_PROJECTIONS,
    Board,
    balances_data,
    follow_up_data,
    funnel_data,
    leaderboard_data,
)
from projections.rows import Rows


def register(app: typer.Typer) -> None:
    """Add this module's command to `groundswell audit`."""
    app.command(
        "as-of",
        short_help="A read model as it was at a moment, folded from the history up to it.",
    )(as_of_command)


def as_of_command(
    ctx: typer.Context,
    moment_text: Annotated[
        str,
        typer.Argument(
            metavar="TIMESTAMP",
            help="ISO 8601 (2026-03-02T09:00:00Z, 2026-03-02T10:00+01:00); a bare date means "
            "its 00:00 UTC; without an offset, UTC.",
            show_default=False,
        ),
    ],
    board: Annotated[
        Board | None,
        typer.Argument(
            metavar="[BOARD]", help="The board to show; all four when left out.", show_default=False
        ),
    ] = None,
    challenge: OnlyChallenge = None,
    as_json: Json = False,
) -> None:
    """A read model as it was at a moment, computed from the history: every event with a
    timestamp at or before it, folded from zero; follow-up debt and days in a stage are
    counted up to that moment. Treasury, redemptions and balances are organisation-wide;
    --challenge narrows the other figures."""
    with cannot_compare():
        moment = parse_moment(moment_text)
        boards = [board] if board else list(Board)
        names = [BOARD_PROJECTIONS[b] for b in boards]
        engine = session(ctx).engine
        with progress_bar("history", engine.last_position, "positions") as bar:
            found = as_of(engine, moment, names, progress=bar)
    cid = key(challenge)
    shown = {b.value: BOARDS[b](found[BOARD_PROJECTIONS[b]], moment, cid) for b in boards}
    if as_json:
        return emit({"as_of": moment.isoformat(), **{b: data for b, (data, _) in shown.items()}})
    out().print(f"As of {when(moment.isoformat())} UTC, computed from the history:")
    for _data, render in shown.values():
        render()


# Each board: its JSON-ready data (the same shape as the live board's --json), and a
# function printing it as the live board prints it.
Shown = tuple[Any, Any]


def leaderboard_as_of(rows: Rows, moment: datetime, cid: str | None) -> Shown:
    found = leaderboard_data(rows, moment, cid)

    def render() -> None:
        shown = table("Leaderboard", ">#", "shown as", "department", ">points")
        for s in found:
            shown.add_row(
                str(s["rank"]), text(s["shown_as"]), text(s["department"]), str(s["points"])
            )
        out().print(shown if found else "No points earned yet.")

    return found, render


def balances_as_of(rows: Rows, moment: datetime, cid: str | None) -> Shown:
    data = balances_data(rows, moment, cid)
    treasury, redeemed, pots, people = (
        data["treasury"],
        data["redeemed"],
        data["pots"],
        data["balances"],
    )

    def render() -> None:
        out().print(escape(treasury_explained(treasury, redeemed)))
        if pots:
            out().print(pot_table(pots))
        shown = table("Balances", "handle", ">points")
        for handle, points in people.items():
            shown.add_row(text(handle), str(points))
        out().print(shown if people else "Nobody holds points.")

    return data, render


def funnel_as_of(rows: Rows, moment: datetime, cid: str | None) -> Shown:
    data = funnel_data(rows, moment, cid)
    return data, lambda: show_funnel(data)


def follow_up_as_of(rows: Rows, moment: datetime, cid: str | None) -> Shown:
    summary = follow_up_data(rows, moment, cid)
    return summary, lambda: show_follow_up(summary, "Nothing waited past its decision deadline.")


BOARDS = {
    Board.leaderboard: leaderboard_as_of,
    Board.balances: balances_as_of,
    Board.funnel: funnel_as_of,
    Board.follow_up: follow_up_as_of,
}
