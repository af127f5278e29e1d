"""Read models as tables: leaderboards, balances, pots, funnel, follow-up, inbox, breadth.

Each command catches its projection up with the event store, asks the projection's
read function, and prints a Rich table, or JSON with ``--json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from domain.ledger import person_account
from domain.words import ledger_entry, treasury_explained
from groundswell.cli.common import ChallengeId, fail, id_option, out, session
from groundswell.reads.boards import funnel_data
from projections import balances, breadth, follow_up, leaderboard, notifications
from projections.rows import Rows

PANEL = "Read models"

Json = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]
OnlyChallenge = Annotated[UUID | None, id_option("--challenge", "ID", "Only this challenge.")]
Handle = Annotated[str, typer.Argument(help="The person's handle.", show_default=False)]


def rows(ctx: typer.Context, projection: str) -> Rows:
    return session(ctx).read_models.rows(projection)


def key(challenge: UUID | None) -> str | None:
    return str(challenge) if challenge else None


def emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def known_person(ctx: typer.Context, handle: str) -> dict[str, Any]:
    found = rows(ctx, "leaderboard").get("people", handle)
    if found is None:
        fail(f"nobody with handle {handle!r} is registered.")
    return dict(found)


def table(title: str, *columns: str) -> Table:
    """A table; a column named with a leading '>' holds numbers, '=' short words (never wrap)."""
    made = Table(title=Text(title, style="table.title"), title_justify="left")
    for c in columns:
        made.add_column(
            c.lstrip(">="), justify="right" if c[0] == ">" else "left", no_wrap=c[0] in ">="
        )
    return made


def when(iso: str) -> str:
    return iso[:16].replace("T", " ")


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f} %"


def text(value: Any, cut: int = 0) -> Text:
    """User-written text as it is (no Rich markup), cut to ``cut`` characters if given."""
    said = "—" if value in (None, "") else str(value)
    return Text(said[: cut - 1] + "…" if 0 < cut < len(said) else said)


def leaderboard_command(
    ctx: typer.Context,
    challenge: OnlyChallenge = None,
    limit: Annotated[int, typer.Option(help="How many places to show.")] = 10,
    as_json: Json = False,
) -> None:
    """Who earned the most reward points (pseudonyms where chosen)."""
    found = leaderboard.standings(rows(ctx, "leaderboard"), key(challenge), limit)
    if as_json:
        return emit([asdict(s) for s in found])
    shown = table("Leaderboard", ">#", "shown as", "department", ">points")
    for s in found:
        shown.add_row(str(s.rank), text(s.shown_as), text(s.department), str(s.points))
    out().print(shown if found else "No points earned yet.")


def departments_command(
    ctx: typer.Context, challenge: OnlyChallenge = None, as_json: Json = False
) -> None:
    """Points, ideas and contributors per department."""
    found = leaderboard.department_board(rows(ctx, "leaderboard"), key(challenge))
    if as_json:
        return emit([asdict(d) for d in found])
    shown = table("Departments", "department", ">points", ">ideas", ">contributors")
    for d in found:
        shown.add_row(text(d.department), str(d.points), str(d.ideas), str(d.contributors))
    out().print(shown if found else "Nobody has taken part yet.")


def balance_command(ctx: typer.Context, handle: Handle, as_json: Json = False) -> None:
    """A person's points, and the ledger entries behind them (newest first)."""
    person = known_person(ctx, handle)
    found = rows(ctx, "balances")
    points = balances.balance(found, person_account(handle))
    entries = balances.ledger(found, person_account(handle))
    if as_json:
        return emit({"handle": handle, "balance": points, "entries": entries})
    out().print(f"{escape(person['name'])} ({handle}): [bold]{points}[/bold] points")
    ideas = rows(ctx, "implementation")
    # The event ids are in --json; the table keeps what a person reads.
    shown = table("Ledger", "=when (UTC)", "for", ">points", "idea")
    for e in entries:
        idea = ideas.get("ideas", e["subject_id"] or "") or {}
        subject = idea.get("title", e["subject_id"])
        said = ledger_entry(e["kind"], e["reason"])
        shown.add_row(when(e["at"]), text(said), f"{e['points']:+d}", text(subject))
    out().print(shown if entries else "No ledger entries yet.")


def pot_table(pots: dict[str, dict[str, Any]]) -> Table:
    shown = table("Pots", "challenge", ">funded", ">granted", ">returned", ">remaining")
    for p in pots.values():
        figures = (str(p[k]) for k in ("funded", "granted", "returned", "remaining"))
        shown.add_row(text(p["title"]), *figures)
    return shown


def pot_command(ctx: typer.Context, challenge_id: ChallengeId, as_json: Json = False) -> None:
    """A challenge's pot: funded, granted, returned, remaining."""
    found = rows(ctx, "balances")
    if found.get("pots", str(challenge_id)) is None:
        fail(f"no challenge with id {challenge_id}.")
    pot = balances.pot(found, str(challenge_id))
    if as_json:
        return emit({"challenge_id": str(challenge_id), **pot})
    out().print(pot_table({str(challenge_id): pot}))


def treasury_command(ctx: typer.Context, as_json: Json = False) -> None:
    """The treasury's balance, what was redeemed, and every challenge's pot."""
    found = rows(ctx, "balances")
    pots = {key: balances.pot(found, key) for key in found.table("pots")}
    treasury, redeemed = balances.treasury(found), balances.redeemed(found)
    if as_json:
        return emit({"treasury": treasury, "redeemed": redeemed, "pots": pots})
    out().print(escape(treasury_explained(treasury, redeemed)))
    if pots:
        out().print(pot_table(pots))


def show_funnel(data: dict[str, Any]) -> None:
    shown = table("Funnel", "step", ">ideas", ">conversion")
    for step in data["funnel"]:
        shown.add_row(step["step"], str(step["ideas"]), percent(step["conversion"]))
    out().print(shown)
    # The core process and the external reference under the title: six columns do not fit
    # in 80 columns.
    shown = table("Ideas", "idea (core process · reference)", "stage", "owner", ">days")
    for i in data["ideas"]:
        said = Text(i["title"])
        handed = " · ".join(i[f] for f in ("core_process", "external_ref") if i[f])
        if handed:
            said.append(f"\n{handed}", style="dim")
        shown.add_row(said, text(i["stage"]), text(i["owner"]), f"{i['days_in_stage']:.1f}")
    if data["ideas"]:
        out().print(shown)


def funnel_command(
    ctx: typer.Context, challenge: OnlyChallenge = None, as_json: Json = False
) -> None:
    """How far ideas got: counts, conversion rates, and where each idea stands."""
    data = funnel_data(rows(ctx, "implementation"), datetime.now(UTC), key(challenge))
    if as_json:
        return emit(data)
    show_funnel(data)


def show_follow_up(summary: dict[str, Any], nothing: str) -> None:
    """Follow-up debt per challenge (desk, waited and overdue days), desks, the median."""
    debt = summary["debt"]
    if not debt:
        out().print(nothing)
    for title in dict.fromkeys(item["challenge"] for item in debt):
        waiting = [item for item in debt if item["challenge"] == title]
        desk = ", ".join(waiting[0]["desk"]) or "nobody"
        shown = table(
            f"Follow-up debt: {title} (desk: {desk})", "waiting", "=by", ">days", ">overdue"
        )
        for item in waiting:
            shown.add_row(
                text(f"{item['kind']}: {item['title']}"),
                item["author"],
                f"{item['waited_days']:.1f}",
                f"{item['overdue_days']:.1f}",
            )
        out().print(shown)
    if summary["by_manager"]:
        desks = summary["by_manager"].items()
        out().print("On whose desk: " + ", ".join(f"{m} {n}" for m, n in desks))
    median = summary["median_days_to_decision"]
    days = "—" if median is None else f"{median:.1f}"
    out().print(f"Median days from submission to decision: {days}")


def follow_up_command(
    ctx: typer.Context,
    challenge: OnlyChallenge = None,
    manager: Annotated[
        str | None, typer.Option(metavar="HANDLE", help="Only what waits on this manager's desk.")
    ] = None,
    as_json: Json = False,
) -> None:
    """What waits for an answer past the decision deadline, how long, on whose desk."""
    found = rows(ctx, "follow_up")
    summary = follow_up.debt_summary(found, datetime.now(UTC), key(challenge), manager)
    if as_json:
        return emit(summary)
    show_follow_up(summary, "Nothing waits past its decision deadline.")


def notifications_command(
    ctx: typer.Context,
    handle: Handle,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
    as_json: Json = False,
) -> None:
    """A person's notifications, newest first."""
    known_person(ctx, handle)
    found = notifications.inbox(rows(ctx, "notifications"), handle, limit)
    if as_json:
        return emit(found)
    shown = table(f"Notifications for {handle}", "=when (UTC)", "=about", "news")
    for note in found:
        shown.add_row(when(note["at"]), note["subject_kind"], text(note["text"]))
    out().print(shown if found else f"No notifications for {handle}.")


def concentration(b: dict[str, Any]) -> str:
    """The breadth figures in one sentence, and a warning when a small circle dominates."""
    said = (
        f"{b['contributors']} contributors; the most active tenth do "
        f"{percent(b['top_10_percent_share'])} of the activity (Gini {b['gini']:.2f})."
    )
    if b["small_circle_warning"]:
        missing = sorted(set(b["targeted"]) - set(b["taking_part"]))
        said += (
            " [bold yellow]Warning:[/bold yellow] a small circle carries this challenge; "
            "invite people beyond the regulars"
            + (f", above all from {escape(', '.join(missing))}." if missing else ".")
        )
    return said


def breadth_command(ctx: typer.Context, challenge_id: ChallengeId, as_json: Json = False) -> None:
    """Which departments take part, and how concentrated participation is."""
    found = rows(ctx, "breadth")
    if found.get("challenges", str(challenge_id)) is None:
        fail(f"no challenge with id {challenge_id}.")
    b = breadth.breadth(found, str(challenge_id))
    if as_json:
        return emit(b)
    shown = table(f"Breadth: {b['title']}", "department", "targeted", ">contributors")
    per_department = b["contributors_per_department"]
    for department in sorted(set(b["targeted"]) | set(per_department)):
        targeted = "yes" if department in b["targeted"] else "no"
        shown.add_row(text(department), targeted, str(per_department.get(department, 0)))
    out().print(shown)
    taking_part = len(b["targeted_taking_part"])
    out().print(f"{taking_part} of {len(b['targeted'])} targeted departments take part.")
    out().print(concentration(b))


COMMANDS = {
    "leaderboard": leaderboard_command,
    "departments": departments_command,
    "balance": balance_command,
    "pot": pot_command,
    "treasury": treasury_command,
    "funnel": funnel_command,
    "notifications": notifications_command,
    "breadth": breadth_command,
}


def register(app: typer.Typer) -> None:
    """Add the read-model commands to the root command, under their own heading in --help."""
    for name, command in COMMANDS.items():
        app.command(name, rich_help_panel=PANEL)(command)
