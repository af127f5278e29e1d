"""`groundswell audit replay`: the read models recomputed from the history and compared with
the live ones (`groundswell audit as-of` is in ``audit_as_of.py``).

Exit status of `audit replay`: 0 when every live read model equals its replay, 1 when
anything differs, 2 when the comparison could not be made (a usage or configuration error,
a store or broker out of reach). Nothing is written: no event, no read-model row.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from groundswell.audit.replay import (
    Comparison,
    LiveModels,
    compare,
    live_kafka_models,
    live_models,
    parse_moment,
    projections_named,
    public,
    replay,
)
from groundswell.audit.sources import AuditError, Bound, KafkaSource, Source, StoreSource
from groundswell.bootstrap import build_read_model_store
from groundswell.cli.boards import (
    Json,
    emit,
    table,
    when,
)
from groundswell.cli.common import out, session
from groundswell.settings import DEFAULT_TOPIC, Settings
from projections.catalog import PROJECTION_NAMES
from projections.rows import Rows

CANNOT = 2  # exit status when no comparison could be made (1 means "differs")


class From(StrEnum):
    """Where the history is read from."""

    store = "store"
    kafka = "kafka"


Names = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="NAME",
        help=f"Projections to replay: {', '.join(PROJECTION_NAMES)}. All when left out.",
        show_default=False,
    ),
]
Servers = Annotated[
    str | None,
    typer.Option(
        envvar="KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka brokers, host:port[,host:port] (for --from kafka).",
        show_default=False,
    ),
]
Topic = Annotated[str, typer.Option(envvar="GROUNDSWELL_TOPIC", help="The events' topic.")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to `groundswell audit`."""
    app.command(
        "replay",
        short_help="Rebuild read models from zero in memory and diff them with the live "
        "ones, row by row.",
    )(replay_command)


def refuse(message: str) -> NoReturn:
    """Say why nothing could be compared, in red on stderr, and exit with status 2."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        Text(f"error: {message}", style="red")
    )
    raise typer.Exit(CANNOT)


@contextmanager
def cannot_compare() -> Iterator[None]:
    """Errors that stop an audit become `error: ...` and exit status 2 (never 1)."""
    from kafka.errors import KafkaError
    from psycopg import Error as PostgresError

    try:
        yield
    except AuditError as error:
        refuse(str(error))
    except KafkaError as error:
        refuse(f"Kafka: {error}")
    except (PostgresError, sqlite3.Error, OSError) as error:
        refuse(f"cannot read the read models: {error}")
    except typer.Exit as done:
        # The session's own "cannot open the event store" exits with 1, which here means
        # "differs": turn it into 2. (The verdict's own exit is raised outside.)
        if done.exit_code == 1:
            raise typer.Exit(CANNOT) from None
        raise


@contextmanager
def progress_bar(label: str, total: int, unit: str) -> Iterator[Any]:
    """A transient progress bar on a terminal's stderr (None elsewhere): the replay's
    output on stdout stays clean for pipes and files."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("replaying {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total or None)
        yield lambda advanced: progress.advance(task, advanced)


def open_source(ctx: typer.Context, origin: From, settings: Settings, stack: ExitStack) -> Source:
    if origin is From.store:
        return StoreSource(session(ctx).engine)
    if not settings.kafka_bootstrap_servers:
        refuse("--from kafka needs Kafka: set KAFKA_BOOTSTRAP_SERVERS or --bootstrap-servers")
    source = KafkaSource(settings.kafka_bootstrap_servers, settings.kafka_topic)
    stack.callback(source.close)
    return source


def open_live(origin: From, settings: Settings, names: list[str], stack: ExitStack) -> LiveModels:
    """The live read models the source is compared with: the embedded store's (at their
    checkpoints) for --from store; the Kafka-fed ones (at their offsets) for --from kafka."""
    if origin is From.store:
        store = build_read_model_store(settings)
        stack.callback(store.close)
        return live_models(store, names)
    if not settings.database_url:
        refuse(
            "--from kafka compares with the read models fed from Kafka, which live in "
            "PostgreSQL: set DATABASE_URL (or use --from store)"
        )
    from groundswell.readstore.postgres_kafka import KafkaReadModelStore

    kafka_store = KafkaReadModelStore(settings.database_url, settings.postgres_schema)
    stack.callback(kafka_store.close)
    return live_kafka_models(kafka_store, settings.kafka_topic, names)


def replay_command(
    ctx: typer.Context,
    names: Names = None,
    origin: Annotated[
        From,
        typer.Option(
            "--from",
            help="Replay the event store's notification log from position 1, or the Kafka "
            "topic from offset 0.",
        ),
    ] = From.store,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="TIMESTAMP",
            help="Replay only events up to this moment (ISO 8601; a bare date is its 00:00 "
            "UTC) and compare NOTHING: print the replayed read models' tables and row counts "
            "(every row with --json).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=0, help="Differences to print at most (0: all; --json: all).")
    ] = 200,
    bootstrap_servers: Servers = None,
    topic: Topic = DEFAULT_TOPIC,
    as_json: Json = False,
) -> None:
    """Rebuild read models from zero in memory and diff them with the live ones, row by row.

    Each projection is replayed up to where its live read model is caught up (its
    checkpoint position, or the Kafka offsets stored with its rows), so events written
    while the audit runs are not reported as differences. Exit status: 0 identical,
    1 differences, 2 could not compare.
    """
    settings = dataclasses.replace(
        session(ctx).settings, kafka_bootstrap_servers=bootstrap_servers, kafka_topic=topic
    )
    with cannot_compare(), ExitStack() as stack:
        chosen = [p.name for p in projections_named(names)]
        moment = parse_moment(until) if until else None
        source = open_source(ctx, origin, settings, stack)
        topic_named = f"Kafka topic {escape(settings.kafka_topic)}"
        where = "the event store" if origin is From.store else topic_named
        unit = "positions" if origin is From.store else "messages"
        if moment is not None:
            total = source.size({name: source.head() for name in chosen[:1]})
            with progress_bar(f"{len(chosen)} projections", total, unit) as bar:
                replayed = replay(source, chosen, until=moment, progress=bar)
            show_replayed(replayed, where, moment, as_json, origin)
            report_undecodable(source, as_json)
            return
        live = open_live(origin, settings, chosen, stack)
        with progress_bar(f"{len(chosen)} projections", source.size(live.at), unit) as bar:
            comparison = compare(source, live, bar)
        show_comparison(comparison, where, origin, limit, as_json, source)
    raise typer.Exit(0 if comparison.identical else 1)


def undecodable(source: Source) -> list[str]:
    return list(getattr(source, "undecodable", []))


def report_undecodable(source: Source, as_json: bool) -> None:
    if as_json:
        return
    for line in undecodable(source):
        out().print(Text(f"warning: passed over an undecodable message at {line}", "yellow"))


def shown_bound(bound: Bound) -> str:
    if isinstance(bound, int):
        return f"position {bound}"
    offsets = " ".join(f"{p}:{o}" for p, o in sorted(bound.items()))
    return f"offsets {offsets}" if offsets else "offset 0"


def show_comparison(
    found: Comparison, where: str, origin: From, limit: int, as_json: bool, source: Source
) -> None:
    fold_versions = {p.name: p.version for p in projections_named(list(found.at))}
    counts = Counter(d.projection for d in found.differences)
    if as_json:
        return emit(
            {
                "from": origin.value,
                "identical": found.identical,
                "projections": [
                    {
                        "name": name,
                        "replayed_up_to": bound,
                        "live_rows": found.live_rows[name],
                        "replayed_rows": found.replayed_rows[name],
                        "differences": counts[name],
                        "live_fold_version": found.versions.get(name),
                        "fold_version": fold_versions[name],
                    }
                    for name, bound in found.at.items()
                ],
                "differences": [asdict(d) for d in found.differences],
                "undecodable": undecodable(source),
                "seconds": round(found.seconds, 3),
            }
        )
    up_to = "checkpoint" if origin is From.store else "stored offsets"
    out().print(
        f"Replayed {len(found.at)} projection{'s' if len(found.at) != 1 else ''} from {where}, "
        f"each up to its live read model's {up_to}, in {found.seconds:.2f} s."
    )
    shown = table(
        "Replay against the live read models",
        *("projection", "replayed up to", ">live rows", ">replayed rows", ">differences"),
    )
    for name, bound in found.at.items():
        differing = f"[bold red]{counts[name]}[/bold red]" if counts[name] else "0"
        cells = (str(found.live_rows[name]), str(found.replayed_rows[name]), differing)
        shown.add_row(name, shown_bound(bound), *cells)
    out().print(shown)
    for name, version in found.versions.items():
        if version is not None and version != fold_versions[name]:
            out().print(
                Text(
                    f"note: {name}'s live rows were folded by version {version} of its "
                    f"projection, this is version {fold_versions[name]} (its projector "
                    "rebuilds them when it next starts)",
                    "yellow",
                )
            )
    report_undecodable(source, as_json)
    if found.identical:
        out().print("Identical: every live read model equals its replay from zero.")
        return
    total = len(found.differences)
    out().print(f"Differences ({total}): table · key · field: live value vs replayed value")
    listed = found.differences if limit == 0 else found.differences[:limit]
    for difference in listed:
        out().print(Text("  " + difference.describe()))
    if len(listed) < total:
        out().print(f"  … and {total - len(listed)} more (--limit 0 or --json lists them all)")
    out().print(
        f"The live read models differ from the replay in {total} place{'s' if total != 1 else ''}."
    )


def show_replayed(
    replayed: dict[str, Rows], where: str, moment: datetime, as_json: bool, origin: From
) -> None:
    if as_json:
        return emit(
            {
                "from": origin.value,
                "until": moment.isoformat(),
                "compared": False,
                "read_models": public(replayed),
            }
        )
    out().print(
        f"Replayed from {where} the events up to {when(moment.isoformat())} UTC. Nothing was "
        "compared (--until): these are the read models as they were then, not the live ones. "
        "`groundswell audit as-of` shows them as boards; --json prints every row."
    )
    shown = table(
        f"Read models as of {when(moment.isoformat())} UTC", "projection", "table", ">rows"
    )
    for name, rows in replayed.items():
        tables = rows.public()
        for name_of_table, found in sorted(tables.items()):
            shown.add_row(name, name_of_table, str(len(found)))
        if not tables:
            shown.add_row(name, "—", "0")
    out().print(shown)
