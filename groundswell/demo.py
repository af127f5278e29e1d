"""`groundswell demo`: a simulated organisation runs three challenges through their lives.

Forty-odd people in six departments, three managers and two implementation owners
take part over twenty simulated weeks: ideas, teams, comments, reviews, decisions,
hand-over, implementation, rewards and a redemption. The clock is simulated and the
random choices seeded, so every run tells the same story. Nothing is written when
the store already holds the demo.
"""

from __future__ import annotations

from pathlib import Path

from eventsourcing.persistence import PersistenceError
from rich.console import Console

from groundswell import demo_changeover, demo_onboarding, demo_quotes
from groundswell.bootstrap import build_engine
from groundswell.demo_cast import PEOPLE, Script, SimClock, challenge_id
from groundswell.demo_summary import all_events, summarise
from groundswell.engine import Engine
from groundswell.settings import DEFAULT_DATA_DIR, Settings

SQLITE_FILES = ("*.sqlite", "*.sqlite-wal", "*.sqlite-shm", "*.sqlite-journal")


class DemoRefused(Exception):
    """The demo will not run here; the message says why and what to do instead."""


def write_story() -> Script:
    """The whole demo, scheduled: people first, then the three challenges."""
    script = Script()
    for n, (handle, name, department, pseudonym, roles) in enumerate(PEOPLE):
        script.at(
            0.1 + n / 10_000,
            "register_person",
            handle,
            name=name,
            department=department,
            pseudonym=pseudonym,
            roles=roles,
        )
    for story in (demo_changeover, demo_quotes, demo_onboarding):
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


def run_demo(settings: Settings, *, fresh: bool = False, console: Console | None = None) -> int:
    """Write the demo into the configured store (unless it is there) and summarise it.

    Returns how many events this run wrote.
    """
    console = console or Console()
    if fresh:
        if settings.database_url:
            raise DemoRefused(
                "--fresh deletes data and works only on the embedded SQLite store; "
                "empty the PostgreSQL database yourself."
            )
        delete_sqlite_store(settings.data_dir)
    clock = SimClock()
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
                steps = write_story().play(engine, clock)
            written = engine.last_position
            console.print(f"{steps} commands wrote {written} events to {where(settings)}.")
        events = all_events(engine)
        summarise(engine, console, events)
        console.print(f"{len(events)} events in the store.")
        console.print(
            f"Look closer: groundswell{cli_options(settings)} challenge show "
            f"{challenge_id(demo_quotes.KEY)}"
        )
        return written
    finally:
        engine.close()
