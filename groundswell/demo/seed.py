"""`groundswell demo`: a simulated organisation runs three challenges through their lives.

Forty-odd people in six departments, three managers and two implementation owners
take part over twenty simulated weeks that end the day before the demo runs: ideas,
teams, comments, reviews, decisions, hand-over, implementation, rewards and
redemptions. The clock is simulated and the random choices seeded, so every run tells
the same story, only dated to end now. Nothing is written when the store already holds
the demo. Afterwards the read models show what managers and contributors would see.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from eventsourcing.persistence import PersistenceError
from rich.console import Console

from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_read_models
from groundswell.demo import changeover as demo_changeover
from groundswell.demo import onboarding as demo_onboarding
from groundswell.demo import quotes as demo_quotes
from groundswell.demo.boards import show_read_models
from groundswell.demo.cast import PEOPLE, SPAN_DAYS, Script, SimClock, challenge_id, story_start
from groundswell.demo.summary import all_events, summarise
from groundswell.settings import DEFAULT_DATA_DIR, Settings

STORIES = (demo_changeover, demo_quotes, demo_onboarding)
# The reward store's catalogue as the demo's administrator sets it up: name, price in
# points, stock (None: unlimited), what it is.
STORE = (
    ("Coffee with the sponsor", 20, None, "Half an hour with a challenge's sponsor, on you."),
    ("Book of your choice", 100, None, "Any book up to 40 €, ordered by the office."),
    ("Noise-cancelling headphones", 150, 3, "For the open-plan office."),
    ("Donation to charity", 150, None, "150 € to a charity the works council lists."),
    ("An extra day off", 250, 5, "One more day of holiday this year."),
    ("Conference ticket", 400, 2, "A ticket to a conference in your field."),
)
PERSON = "anna.kowalski"  # whose ledger and notifications the demo shows
# What --fresh deletes: the store, and the demo tokens kept for it (groundswell/demo/tokens.py).
SQLITE_FILES = ("*.sqlite", "*.sqlite-wal", "*.sqlite-shm", "*.sqlite-journal", "demo-tokens.json")


class DemoRefused(Exception):
    """The demo will not run here; the message says why and what to do instead."""


def write_story(start: datetime) -> Script:
    """The whole demo, scheduled from ``start``: people first, then the three challenges."""
    script = Script(start)
    for n, (handle, name, department, pseudonym, roles) in enumerate(PEOPLE):
        script.at(
            0.1 + n / 10_000,
            "register_person",
            handle,
            name=name,
            department=department,
            pseudonym=pseudonym,
            roles=roles,
            # Made-up addresses (example.com is reserved for examples, RFC 2606): the demo
            # shows the e-mails it would send, caught by `serve`'s local sink.
            email=f"{handle}@example.com",
        )
    for n, (name, price, stock, description) in enumerate(STORE):
        script.at(
            0.2 + n / 10_000, "offer_item", name, price=price, stock=stock,
            description=description, keep=f"item:{name}",
        )  # fmt: skip
    for story in STORIES:
        story.write(script)
    return script


def where(settings: Settings) -> str:
    if settings.database_url:
        return "PostgreSQL (DATABASE_URL)"
    return f"SQLite in {settings.data_dir / 'groundswell.sqlite'}"


def cli_options(settings: Settings) -> str:
    """The root options that point the CLI at the store the demo used."""
    if settings.database_url or settings.data_dir == DEFAULT_DATA_DIR:
        return ""
    return f" --data-dir {settings.data_dir}"


def delete_sqlite_store(data_dir: Path) -> None:
    """Remove the SQLite event store and read models, and the directory if nothing else is left.

    Only the database files are deleted, never anything else someone keeps there.
    """
    if not data_dir.is_dir():
        return
    for pattern in SQLITE_FILES:
        for path in data_dir.glob(pattern):
            path.unlink()
    if not any(data_dir.iterdir()):
        data_dir.rmdir()


def holds_demo(engine: Engine) -> bool:
    return challenge_id(demo_changeover.KEY) in engine.repository


def run_demo(
    settings: Settings,
    *,
    fresh: bool = False,
    console: Console | None = None,
    report: bool = True,
    today: date | None = None,
) -> int:
    """Write the demo into the configured store (unless it is there) and summarise it.

    ``report=False`` only writes: no summary and no read models built here (a server
    whose read models are fed from Kafka must not get rows folded in-process).
    ``today`` is the day the demo is written for (default: today, UTC): its story ends the
    day before and its open challenge takes ideas for four weeks after (tests set it to days
    years apart). Returns how many events this run wrote.
    """
    console = console or Console()
    if fresh:
        if settings.database_url:
            raise DemoRefused(
                "--fresh deletes data and works only on the embedded SQLite store; "
                "empty the PostgreSQL database yourself."
            )
        delete_sqlite_store(settings.data_dir)
    start = story_start(today)
    clock = SimClock(start)
    try:
        engine = build_engine(settings, clock=clock)
    except (PersistenceError, OSError) as error:
        raise DemoRefused(f"cannot open the event store: {error}") from error
    try:
        written = 0
        if holds_demo(engine):
            console.print(f"The demo is already in {where(settings)}; nothing written.")
        elif engine.last_position:
            raise DemoRefused(
                f"{where(settings)} already holds other data ({engine.last_position} events); "
                "use another --data-dir, or --fresh to delete it."
            )
        else:
            with console.status("Simulating twenty weeks of three challenges..."):
                steps = write_story(start).play(engine, clock)
            written = engine.last_position
            console.print(f"{steps} commands wrote {written} events to {where(settings)}.")
        if not report:
            return written
        events = all_events(engine)
        summarise(engine, console, events)
        show_boards(engine, settings, console, as_of=start + timedelta(days=SPAN_DAYS))
        console.print(f"{len(events)} events in the store.")
        cli = f"groundswell{cli_options(settings)}"
        quotes = challenge_id(demo_quotes.KEY)
        console.print(f"Look closer: {cli} challenge show {quotes}")
        console.print(f"             {cli} follow-up --challenge {quotes}")
        return written
    finally:
        engine.close()


def show_boards(engine: Engine, settings: Settings, console: Console, as_of: datetime) -> None:
    """The read models, caught up from the store, as of the end of the story."""
    models = build_read_models(engine, settings)
    try:
        ids = [str(challenge_id(story.KEY)) for story in STORIES]
        show_read_models(console, models, ids, PERSON, as_of)
    finally:
        models.close()
