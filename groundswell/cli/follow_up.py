"""`groundswell follow-up ...`: the debt board, a challenge's policy, and the follow-up process."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import typer

from groundswell.app.application import utc_now
from groundswell.app.follow_up_process import DEFAULT_INTERVAL, FollowUpProcess
from groundswell.bootstrap import build_engine, build_read_models
from groundswell.cli.boards import (
    PANEL,
    Json,
    OnlyChallenge,
    emit,
    follow_up_command,
    known_person,
    rows,
    table,
    text,
)
from groundswell.cli.common import ChallengeId, act, engine, fail, out, refusals, session
from groundswell.settings import DEFAULT_TOPIC
from projections import accountability, desk
from projections.rows import Rows

app = typer.Typer(
    help="What waits past its deadline; the follow-up policy; the follow-up process.",
    invoke_without_command=True,
    rich_help_panel=PANEL,
)


@app.callback()
def board(
    ctx: typer.Context,
    challenge: OnlyChallenge = None,
    manager: Annotated[
        str | None, typer.Option(metavar="HANDLE", help="Only what waits on this manager's desk.")
    ] = None,
    as_json: Json = False,
) -> None:
    """What waits for an answer past the decision deadline, how long, on whose desk."""
    if ctx.invoked_subcommand is None:
        follow_up_command(ctx, challenge, manager, as_json)


def _days(help: str) -> Any:
    return typer.Option(help=help, show_default=False)


@app.command("policy")
def policy(
    ctx: typer.Context,
    challenge_id: ChallengeId,
    actor: Annotated[
        str | None,
        typer.Option("--as", metavar="HANDLE", help="The manager changing it (to change it)."),
    ] = None,
    answer_days: Annotated[int | None, _days("Days to a first answer on a comment.")] = None,
    progress_days: Annotated[int | None, _days("Days between progress reports.")] = None,
    remind_every_days: Annotated[int | None, _days("Days between reminders.")] = None,
    escalate_to_managers_after_days: Annotated[
        int | None, _days("Days overdue before the other managers are told (0: never).")
    ] = None,
    escalate_to_sponsor_after_days: Annotated[
        int | None, _days("Days overdue before the sponsor is told (0: never).")
    ] = None,
    sponsor_handle: Annotated[
        str | None, _days("The sponsor as a registered person ('' for none).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Show a challenge's follow-up policy; with --as and terms, change those terms."""
    given = {
        "answer_days": answer_days,
        "progress_days": progress_days,
        "remind_every_days": remind_every_days,
        "escalate_to_managers_after_days": escalate_to_managers_after_days,
        "escalate_to_sponsor_after_days": escalate_to_sponsor_after_days,
        "sponsor_handle": sponsor_handle,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if changes:
        if actor is None:
            fail("say who changes the policy with --as HANDLE.", "as")
        act(
            ctx,
            "follow-up policy set",
            lambda e: e.set_follow_up_policy(actor, challenge_id, **changes),
        )
    with refusals():
        found = engine(ctx).challenge(challenge_id)
    terms = {"decision_deadline_days": found.decision_deadline_days, **asdict(found.follow_up)}
    if as_json:
        return emit(terms)
    shown = table(f"Follow-up policy: {found.title}", "term", ">value")
    for name, value in terms.items():
        shown.add_row(name.replace("_", " "), str(value) if value != "" else "—")
    out().print(shown)


def parse_now(value: str | None) -> datetime | None:
    """``--now``: a day (the start of it, UTC) or a moment in ISO 8601."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a day like 2027-01-31 or a moment like 2027-01-31T09:00:00+00:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("run")
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            metavar="DAY",
            help="Act as if it were this day or moment (UTC); for operators and tests.",
            show_default=False,
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=1, help="Seconds between passes when running on.")
    ] = DEFAULT_INTERVAL,
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(
            envvar="KAFKA_BOOTSTRAP_SERVERS",
            help="With DATABASE_URL: read the follow-up read model fed from Kafka.",
        ),
    ] = None,
    topic: Annotated[str, typer.Option(envvar="GROUNDSWELL_TOPIC")] = DEFAULT_TOPIC,
    postgres_schema: Annotated[
        str | None,
        typer.Option(
            envvar="GROUNDSWELL_POSTGRES_SCHEMA", help="The events' and read models' schema."
        ),
    ] = None,
) -> None:
    """Record the reminders and escalations that are due, and close what was answered.

    Embedded, it reads the store in-process; with DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS
    it reads the follow-up read model that `groundswell project follow_up` feeds from
    Kafka. Safe to run several at once: each reminder is recorded once.
    """
    settings = replace(
        session(ctx).settings,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic=topic,
        postgres_schema=postgres_schema,
    )
    moment = parse_now(now)
    clock = (lambda: moment) if moment is not None else utc_now
    if moment is not None and not once:
        fail("--now is for one pass: add --once.", "now")
    app_engine = build_engine(settings, clock=clock)
    close, rows_of = follow_up_rows(app_engine, settings)
    process = FollowUpProcess(app_engine, rows_of, clock)
    try:
        if once:
            result = process.run_once()
            out().print(
                f"follow-up pass at {result.now.isoformat()}: {result.recorded} reminders and "
                f"escalations recorded, {result.already} already recorded, "
                f"{result.closed} follow-ups closed"
            )
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        out().print(f"follow-up process: a pass every {interval:.0f} s (Ctrl-C stops it)")
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends it like SIGTERM
            process.run_forever(stop, interval)
    finally:
        close()
        app_engine.close()


def follow_up_rows(app_engine: Any, settings: Any) -> tuple[Any, Any]:
    """Where a pass reads the follow-up rows: the Kafka-fed store in production, else the
    projection fed in-process from the engine. Returns (close, read)."""
    if settings.database_url and settings.kafka_bootstrap_servers:
        from groundswell.readstore.postgres_kafka import KafkaReadModelStore

        store = KafkaReadModelStore(settings.database_url, settings.postgres_schema)

        def from_kafka() -> AbstractContextManager[Rows]:
            return nullcontext(store.snapshot("follow_up", settings.kafka_topic)[0])

        return store.close, from_kafka
    models = build_read_models(app_engine, settings, names=["follow_up"])
    return models.close, lambda: nullcontext(models.rows("follow_up"))


def desk_command(
    ctx: typer.Context,
    handle: Annotated[
        str | None, typer.Argument(help="Whose desk (default: --as).", show_default=False)
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--as", metavar="HANDLE", help="Yourself.", show_default=False)
    ] = None,
    as_json: Json = False,
) -> None:
    """Everything waiting on a person across all challenges: since, due, overdue."""
    whose = handle or actor
    if whose is None:
        fail("say whose desk: groundswell desk HANDLE (or --as HANDLE).", "handle")
    known_person(ctx, whose)
    found = desk.desk(rows(ctx, "desk"), whose, utc_now())
    if as_json:
        return emit(found)
    if not found:
        out().print(f"Nothing waits on {whose}.")
        return
    shown = table(f"Desk of {whose}", "=waiting", "what", "=since", "=due", ">overdue")
    for item in found:
        shown.add_row(
            item["kind"],
            text(f"{item['title']} ({item['challenge']})"),
            item["since"][:10],
            item["due"][:10],
            f"{item['overdue_days']:.1f}" if item["overdue_days"] else "—",
        )
    out().print(shown)
    overdue = sum(1 for item in found if item["overdue_days"] > 0)
    out().print(f"{len(found)} waiting on {whose}, {overdue} overdue.")


@app.command("accountability")
def accountability_command(
    ctx: typer.Context, challenge: OnlyChallenge = None, as_json: Json = False
) -> None:
    """Per challenge and manager: on time, late, waiting; reminders, escalations; days to answer."""
    found = rows(ctx, "follow_up")
    figures = accountability.accountability(found, utc_now())
    if challenge is not None:
        managers = (found.get("challenges", str(challenge)) or {}).get("managers", [])
        figures = {
            "challenges": {k: v for k, v in figures["challenges"].items() if k == str(challenge)},
            "managers": {k: v for k, v in figures["managers"].items() if k in managers},
        }
    if as_json:
        return emit(figures)
    titles = {k: c.get("title", k) for k, c in found.table("challenges").items()}
    for by, names in (("challenge", titles), ("manager", {})):
        shown = table(
            f"Accountability per {by}",
            by,
            ">on time",
            ">late",
            ">waiting",
            ">overdue",
            ">reminders",
            ">escalations",
            ">median days",
            ">p90 days",
        )
        for key, f in figures["challenges" if by == "challenge" else "managers"].items():
            shown.add_row(
                text(names.get(key, key)),
                *(str(f[n]) for n in ("on_time", "late", "waiting", "overdue")),
                str(f["reminders"]),
                str(f["escalations"]),
                "—" if f["median_days_to_answer"] is None else f"{f['median_days_to_answer']:.1f}",
                "—" if f["p90_days_to_answer"] is None else f"{f['p90_days_to_answer']:.1f}",
            )
        out().print(shown)
