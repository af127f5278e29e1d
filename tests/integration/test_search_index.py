"""The search projection's full-text index in SQLite (FTS5) and PostgreSQL (tsvector): kept
in step with the rows batch by batch, and a rebuild from zero indexes exactly the same.

Every test runs on both backends through the ``engine`` fixture, the index in the engine's
own database (its PostgreSQL schema, or beside its SQLite file).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest

from consumers.log_follower import read_log, share_of
from groundswell.app.engine import Engine
from groundswell.bootstrap import (
    build_engine,
    build_read_model_store,
    build_read_models,
    build_search,
)
from groundswell.eventstore.sqlite_recorder import SHARE_OF_ID
from groundswell.parallel_rebuild import can_rebuild_in_shares, rebuild_in_shares
from groundswell.readstore.search_index import Query, Reader
from groundswell.settings import Settings
from projections.search import SearchProjection
from tests.http_support import challenge_terms
from tests.support import database_url_or_fail, postgres_schema

MANAGER = Reader("mia", sees_identities=True, reads_all=False)
CONTRIBUTOR = Reader("cat", sees_identities=False, reads_all=False)
WORDS = ("clamps", "jig", "paper", "tape", "hidden", "draft")


def settings_of(engine: Engine) -> Settings:
    if engine.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        schema = engine.env.get("POSTGRES_SCHEMA")
        return Settings(database_url=os.environ["DATABASE_URL"], postgres_schema=schema)
    return Settings(data_dir=Path(str(engine.env.get("SQLITE_DBNAME"))).parent)


def everything(index: Any) -> dict[tuple[str, str], list[Any]]:
    """Every word's hits, for a manager and a contributor, with ranks and excerpts."""
    return {
        (word, reader.handle): [
            (h.key, h.title, h.snippet, h.hidden, round(h.rank, 6))
            for h in index.search(Query((word,), reader, limit=50))
        ]
        for word in WORDS
        for reader in (MANAGER, CONTRIBUTOR)
    }


def play_history(engine: Engine, read_models: Any) -> dict[str, Any]:
    """Drafts, edits, comments and a hidden one, caught up in three batches."""
    for handle, roles in (("mia", ["manager"]), ("cat", ["contributor"]), ("dan", ["contributor"])):
        engine.register_person(handle, name=handle.title(), department="Ops", roles=roles)
    draft = engine.draft_challenge("mia", **challenge_terms(title="A draft on paper")).id
    cid = engine.draft_challenge("mia", **challenge_terms(title="Less tape")).id
    engine.open_challenge("mia", cid)
    read_models.follower.catch_up()  # batch 1
    idea = engine.submit_idea("cat", cid, title="Clamps", description="No tape.").id
    engine.submit_idea("dan", cid, title="Jig", description="A jig for clamps.")
    read_models.follower.catch_up()  # batch 2
    engine.edit_idea("cat", idea, title="Quick clamps", description="Less paper.")
    rude = engine.comment("dan", idea, "Hidden remark about clamps").id
    engine.comment("mia", idea, "Try a jig")
    engine.hide_contribution("mia", rude, "Rude.")
    read_models.follower.catch_up()  # batch 3
    return {"draft": draft, "challenge": cid, "idea": idea}


def test_the_index_follows_every_batch_and_a_rebuild_indexes_the_same(engine: Engine) -> None:
    settings = settings_of(engine)
    read_models = build_read_models(engine, settings, names=[SearchProjection.name])
    index = build_search(settings)
    try:
        ids = play_history(engine, read_models)
        live = everything(index)

        read_models.follower.rebuild([SearchProjection.name])
        rebuilt = everything(index)
    finally:
        index.close()
        read_models.close()

    assert rebuilt == live
    keys = {word: [key for key, *_ in hits] for (word, who), hits in live.items() if who == "cat"}
    assert keys["paper"] == [f"idea:{ids['idea']}"]  # the edit reached the index, not the draft
    assert len(live[("paper", "mia")]) == 2  # its manager finds the draft too
    assert keys["hidden"] == [] and len(live[("hidden", "mia")]) == 1
    assert keys["tape"] == [f"challenge:{ids['challenge']}"]  # the edit took "tape" out
    assert len(keys["clamps"]) == 2 and len(live[("clamps", "mia")]) == 3


def stored(settings: Settings) -> tuple[Any, int, int]:
    store = build_read_model_store(settings)
    try:
        rows, position, version = store.load(SearchProjection.name)
        return rows.public(), position, version
    finally:
        store.close()


def test_a_rebuild_in_shares_of_the_documents_stores_and_indexes_the_same(engine: Engine) -> None:
    """`projections rebuild search` folds two shares of the documents in two processes (each
    opening the engine's store) and swaps the joined rows in: the same rows, checkpoint and
    hits as the index kept batch by batch, and live batches are followed after it."""
    settings = settings_of(engine)
    read_models = build_read_models(engine, settings, names=[SearchProjection.name])
    index = build_search(settings)
    try:
        ids = play_history(engine, read_models)
        live, live_rows = everything(index), stored(settings)
        assert live_rows[1] == engine.last_position

        follower = read_models.follower
        assert can_rebuild_in_shares(follower, SearchProjection.name, 2)
        rebuild_in_shares(settings, follower, SearchProjection.name, workers=2)
        assert everything(index) == live
        assert stored(settings) == live_rows
        assert read_models.projector.rows[SearchProjection.name].public() == live_rows[0]

        # Live batches go on from the rebuilt rows and checkpoint.
        engine.submit_idea("dan", ids["challenge"], title="Tape gun", description="Faster.")
        read_models.follower.catch_up()
        found = index.search(Query(("gun",), CONTRIBUTOR))
        assert [hit.title for hit in found] == [[("Tape ", False), ("gun", True)]]
    finally:
        index.close()
        read_models.close()


def test_the_stores_read_a_share_of_the_aggregates_as_the_log_reader_splits_them(
    engine: Engine,
) -> None:
    """Each store filters a share in SQL (the other events are never fetched): the shares
    partition the log, each holds exactly the aggregates ``share_of`` gives it, in order."""
    for n in range(12):
        engine.register_person(f"p{n}", name=f"P {n}", department="Ops", roles=["contributor"])
    everything_read = [p for batch in read_log(engine, 0, batch_size=5) for p in batch]
    upto = everything_read[-1][0]
    engine.register_person("late", name="Late", department="Ops", roles=["contributor"])
    for shares in (2, 3, 16):
        parts = [
            [p for batch in read_log(engine, 0, upto, (), (k, shares), 5) for p in batch]
            for k in range(shares)
        ]
        for k, part in enumerate(parts):
            assert all(share_of(event.originator_id, shares) == k for _, event in part)
            assert [position for position, _ in part] == sorted(position for position, _ in part)
        assert sorted(p for part in parts for p, _ in part) == [p for p, _ in everything_read]
    assert hasattr(engine.recorder, "select_notifications_of_share")


def fail_one_share(
    settings: Settings, break_event: Any, start_method: str | None = None
) -> tuple[Any, Any]:
    """Rebuild in two shares where one event of share 0 cannot be decoded while share 1's
    rows fill more than a pipe holds (~100 KB; a pipe holds 64 KB): the rebuild must say so
    and leave no worker behind. The index and stored rows before it and after it."""
    from tests.support import SteppingClock

    engine = build_engine(settings, clock=SteppingClock())
    read_models = build_read_models(engine, settings, names=[SearchProjection.name])
    index = build_search(settings)
    try:
        ids = play_history(engine, read_models)
        submitted = [
            engine.submit_idea("cat", ids["challenge"], title=f"Idea {n}", description="x" * 400)
            for n in range(400)
        ]
        read_models.follower.catch_up()
        before = everything(index), stored(settings)
        broken = next(idea.id for idea in submitted if share_of(idea.id, 2) == 0)
        break_event(engine.recorder.events_table_name, broken)

        with pytest.raises(RuntimeError, match="rebuilding search failed in share 0 of 2"):
            rebuild_in_shares(
                settings, read_models.follower, SearchProjection.name, 2, None, start_method
            )
        assert multiprocessing.active_children() == []
        return before, (everything(index), stored(settings))
    finally:
        index.close()
        read_models.close()
        engine.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_rebuild_in_shares_that_fails_in_one_worker_changes_nothing(
    tmp_path: Path, start_method: str
) -> None:
    """One share's worker fails: the rebuild says so (it does not wait on the failed share
    forever: forked workers once held each other's pipes open), and the stored rows,
    checkpoint and index stay as they were."""

    def break_event(table: str, broken: uuid.UUID) -> None:
        with sqlite3.connect(tmp_path / "groundswell.sqlite") as db:
            db.execute(
                f"UPDATE {table} SET state = ? WHERE originator_id = ?",
                (b"not an event", broken.hex),
            )

    before, after = fail_one_share(Settings(data_dir=tmp_path), break_event, start_method)
    assert after == before


@pytest.mark.timeout(120)
def test_a_rebuild_in_shares_into_postgres_that_fails_in_one_worker_changes_nothing() -> None:
    """On PostgreSQL each worker writes its rows to a staging table itself: a failed share
    leaves the stored rows, checkpoint and index as they were, and no staging table."""
    import psycopg

    url = database_url_or_fail()
    with postgres_schema(url) as schema:

        def break_event(table: str, broken: uuid.UUID) -> None:
            with psycopg.connect(url) as conn:  # past the store's append-only trigger
                conn.execute(f"ALTER TABLE {schema}.{table} DISABLE TRIGGER USER")
                conn.execute(
                    f"UPDATE {schema}.{table} SET state = %s WHERE originator_id = %s",
                    (b"not an event", broken),
                )
                conn.execute(f"ALTER TABLE {schema}.{table} ENABLE TRIGGER USER")

        settings = Settings(database_url=url, postgres_schema=schema)
        before, after = fail_one_share(settings, break_event)
        assert after == before
        with psycopg.connect(url) as conn:
            assert (
                conn.execute(
                    "SELECT relname FROM pg_class WHERE relname LIKE %s "
                    "AND relnamespace = %s::regnamespace",
                    ("%\\_next\\_%", schema),
                ).fetchall()
                == []
            )


def test_the_sqlite_share_filter_reads_every_text_form_of_an_id_as_share_of_does() -> None:
    ids = [uuid.UUID(int=n * 0x9E3779B97F4A7C15 % 2**128) for n in range(64)]
    forms = [str, lambda u: u.hex, lambda u: str(u).upper(), lambda u: f"{{{u}}}", lambda u: u.urn]
    with sqlite3.connect(":memory:") as db:
        for form in forms:
            for u in ids:
                (digit,) = db.execute(
                    f"SELECT {SHARE_OF_ID} FROM (SELECT ? AS originator_id)", (form(u),)
                ).fetchone()
                assert [digit % n for n in (2, 3, 16)] == [share_of(u, n) for n in (2, 3, 16)]


@pytest.mark.postgres
def test_the_postgres_index_keeps_no_pending_list_after_set_up_and_a_rebuild() -> None:
    """Entries pending in a GIN index are scanned by every search (several times slower):
    a schema whose one documents table was made before the index took none is brought in
    line when a session starts, and a rebuild swaps in the table set-up makes now (in parts,
    each indexed), with the same names, columns and options."""
    import psycopg

    from groundswell.readstore.postgres import PostgresReadModelStore
    from groundswell.readstore.search_index import PARTS
    from projections.rows import Rows

    url = database_url_or_fail()

    def indexes(conn: Any, table: str = "search_documents") -> list[tuple[str, Any]]:
        return conn.execute(
            "SELECT c.relname, c.reloptions FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass ORDER BY c.relname",
            (table,),
        ).fetchall()

    def columns(conn: Any) -> list[tuple[str, str, str]]:
        return conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'search_documents' "
            "ORDER BY ordinal_position"
        ).fetchall()

    def parts(conn: Any) -> list[str]:
        return [
            name
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'search_documents'::regclass ORDER BY 1"
            )
        ]

    document = {"kind": "idea", "challenge_id": "c", "title": "Jig", "body": "Clamps."}
    with postgres_schema(url) as schema:
        store = PostgresReadModelStore(url, schema)
        store.save("search", [("documents", "idea:h", {**document, "title": "Glue"})], 1, 1)
        store.close()
        with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
            made = columns(conn)
            assert indexes(conn) == [
                ("search_documents_pkey", None),
                ("search_documents_text", ["fastupdate=off"]),
            ]
            assert parts(conn) == [f"search_documents_{part}" for part in range(PARTS)]
            # The one table of a schema made before parts and before fastupdate was off.
            conn.execute("CREATE TABLE old AS SELECT * FROM search_documents")
            conn.execute("DROP TABLE search_documents")
            conn.execute("ALTER TABLE old RENAME TO search_documents")
            conn.execute("ALTER TABLE search_documents ADD PRIMARY KEY (key)")
            conn.execute("CREATE INDEX search_documents_text ON search_documents USING gin (text)")
            assert indexes(conn)[1] == ("search_documents_text", None)
        store = PostgresReadModelStore(url, schema)
        try:
            with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
                assert indexes(conn) == [
                    ("search_documents_pkey", None),
                    ("search_documents_text", ["fastupdate=off"]),
                ]
                assert parts(conn) == []  # until the first rebuild
            store.replace("search", Rows({"documents": {"idea:i": document}}), 2, 1)
            with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
                assert indexes(conn) == [
                    ("search_documents_pkey", None),
                    ("search_documents_text", ["fastupdate=off"]),
                ]
                assert parts(conn) == [f"search_documents_{part}" for part in range(PARTS)]
                for part in parts(conn):
                    assert indexes(conn, part) == [
                        (f"{part}_pkey", None),
                        (f"{part}_text", ["fastupdate=off"]),
                    ]
                assert columns(conn) == made  # the swapped-in table is the one set-up makes
                found = conn.execute(
                    "SELECT key FROM search_documents WHERE text @@ to_tsquery('simple', 'jig')"
                ).fetchall()
                assert found == [("idea:i",)]
                # Rows written after the rebuild are followed again, row by row.
                store.save("search", [("documents", "idea:j", {**document, "title": "Tape"})], 3, 1)
                assert conn.execute("SELECT count(*) FROM search_documents").fetchone() == (2,)
                # A rebuild over the table it swapped in goes the same way.
                store.replace("search", Rows({"documents": {"idea:k": document}}), 4, 1)
                assert conn.execute("SELECT key FROM search_documents").fetchall() == [("idea:k",)]
                assert parts(conn) == [f"search_documents_{part}" for part in range(PARTS)]
        finally:
            store.close()
