"""The demo's read models, told briefly: each challenge, the boards, one contributor.

Everything here comes from the projections (caught up from the notification log),
not from the aggregates: what a manager or contributor would see on the boards.
Figures that depend on time are given as of ``as_of``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from domain.ledger import person_account
from domain.words import ledger_entry
from groundswell.reads.read_models import ReadModels
from projections import balances, breadth, follow_up, implementation, leaderboard, notifications


def funnel_line(models: ReadModels, challenge_id: str) -> str:
    steps = implementation.funnel(models.rows("implementation"), challenge_id)
    said = []
    for step in steps:
        rate = f" ({100 * step['conversion']:.0f} %)" if step["conversion"] is not None else ""
        said.append(f"{step['ideas']} {step['step']}{rate}")
    return "Funnel: " + " → ".join(said)


def pot_line(models: ReadModels, challenge_id: str) -> str:
    pot = balances.pot(models.rows("balances"), challenge_id)
    return (
        f"Pot: {pot['funded']} points funded, {pot['granted']} granted, "
        f"{pot['returned']} returned, {pot['remaining']} remaining"
    )


def breadth_lines(models: ReadModels, challenge_id: str) -> list[str]:
    b = breadth.breadth(models.rows("breadth"), challenge_id)
    per_department = ", ".join(f"{d} {n}" for d, n in b["contributors_per_department"].items())
    lines = [
        f"Breadth: {b['contributors']} contributors ({escape(per_department)}); "
        f"{len(b['targeted_taking_part'])} of {len(b['targeted'])} targeted departments "
        f"take part; the most active tenth do {100 * b['top_10_percent_share']:.0f} % "
        f"of the activity (Gini {b['gini']:.2f})"
    ]
    if b["small_circle_warning"]:
        lines.append(
            "[bold yellow]Warning:[/bold yellow] a small circle of enthusiasts carries this "
            "challenge; the others barely take part. Ask them directly what would bring them in."
        )
    return lines


def follow_up_lines(models: ReadModels, challenge_id: str, as_of: datetime) -> list[str]:
    found = models.rows("follow_up")
    debt = follow_up.follow_up_debt(found, as_of, challenge_id)
    median = follow_up.median_days_to_decision(found, challenge_id)
    decided = f"median {median:.1f} days to decision" if median is not None else "none decided"
    terms = found.get("challenges", challenge_id) or {}
    deadline = f"{terms.get('decision_deadline_days', '?')}-day deadline"
    if not debt:
        return [f"Follow-up: nothing waits past the {deadline}; {decided}."]
    ideas = sum(item["kind"] == "idea" for item in debt)
    waiting = [
        counted(ideas, "idea still waits", "ideas still wait") + " for a decision",
        counted(len(debt) - ideas, "comment waits", "comments wait") + " for an answer",
    ]
    desk = ", ".join(terms.get("managers", [])) or "nobody"
    lines = [
        f"Follow-up: {' and '.join(w for w in waiting if w[0] != '0')} past the {deadline}, "
        f"on the desk of {desk}; the longest for {debt[0]['waited_days']:.0f} days; {decided}."
    ]
    unowned = implementation.ideas_in(models.rows("implementation"), challenge_id, "accepted")
    if unowned:
        lines.append(
            f"[yellow]{len(unowned)} accepted idea(s) have no owner in the line organisation yet."
            "[/yellow]"
        )
    return lines


def counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def challenge_block(models: ReadModels, challenge_id: str, as_of: datetime) -> Group:
    title = models.rows("balances").get("pots", challenge_id)["title"]
    lines = [
        funnel_line(models, challenge_id),
        pot_line(models, challenge_id),
        *breadth_lines(models, challenge_id),
        *follow_up_lines(models, challenge_id, as_of),
    ]
    return Group(Rule(escape(title), align="left"), *lines)


def boards(models: ReadModels) -> Table:
    """The overall leaderboard (top 10) and the department board, side by side."""
    board = models.rows("leaderboard")
    top = Table(title="Leaderboard, top 10", title_justify="left")
    for name, justify in (("#", "right"), ("shown as", "left"), ("dept.", "left")):
        top.add_column(name, justify=justify)
    top.add_column("points", justify="right")
    for s in leaderboard.standings(board, limit=10):
        top.add_row(str(s.rank), escape(s.shown_as), escape(s.department), str(s.points))
    departments = Table(title="Departments", title_justify="left")
    departments.add_column("department")
    for name in ("points", "ideas", "people"):
        departments.add_column(name, justify="right")
    for d in leaderboard.department_board(board):
        departments.add_row(escape(d.department), str(d.points), str(d.ideas), str(d.contributors))
    return side_by_side(top, departments)


def contributor(models: ReadModels, handle: str, news: int = 5) -> Group:
    """One contributor's ledger and newest notifications."""
    found = models.rows("balances")
    account = person_account(handle)
    name = escape((models.rows("leaderboard").get("people", handle) or {}).get("name", handle))
    points = balances.balance(found, account)
    ledger = Table(title=f"{name}'s ledger: {points} points", title_justify="left")
    for column, justify in (("for", "left"), ("points", "right")):
        ledger.add_column(column, justify=justify)
    for entry in balances.ledger(found, account):
        said = ledger_entry(entry["kind"], entry["reason"])
        ledger.add_row(escape(said), f"{entry['points']:+d}")
    inbox = Table(title=f"{name}'s newest notifications", title_justify="left")
    inbox.add_column("when", no_wrap=True)
    inbox.add_column("news")
    for note in notifications.inbox(models.rows("notifications"), handle, news):
        inbox.add_row(note["at"][:10], escape(note["text"]))
    return Group(ledger, inbox)


def side_by_side(*tables: Any) -> Table:
    grid = Table.grid(padding=(0, 4))
    grid.add_row(*tables)
    return grid


def show_read_models(
    console: Console, models: ReadModels, challenge_ids: list[str], person: str, as_of: datetime
) -> None:
    """Print, as of ``as_of``: each challenge's funnel, pot, breadth and follow-up; the boards;
    one contributor's ledger and notifications."""
    console.print(f"[bold]What the read models show[/bold], as of {as_of:%Y-%m-%d %H:%M} UTC")
    for challenge_id in challenge_ids:
        console.print(challenge_block(models, challenge_id, as_of))
    console.print(boards(models))
    console.print(contributor(models, person))
