"""The search projection's full-text index, kept by the database beside its rows.

The fold writes ``documents`` rows like every projection; triggers on ``projection_rows``
copy each into ``search_documents`` and its full-text index in the same transaction, so
the index is always exactly as far as the checkpoint, however the rows got there
(in-process batches, a Kafka batch, a rebuild). A rebuild switches the row triggers off
and fills the index in one set-wise statement instead.

- SQLite (embedded): an FTS5 table over ``search_documents`` (external content,
  ``unicode61``), ranked with ``bm25`` (a title word weighs four body words), excerpts by
  ``highlight``/``snippet``.
- PostgreSQL: a ``tsvector`` column (title weight A, body weight B) with a GIN index
  (no pending list), ranked with ``ts_rank``, excerpts by ``ts_headline``; the table in
  two hash parts. A rebuild fills and indexes a fresh table's parts side by side, one
  session each, and swaps it in at commit. Configuration ``simple``: people
  write in several languages (Dutch is planned), and ``simple`` matches whole words
  as SQLite's ``unicode61`` does, so both stores find the same documents for a query.

Over 400 lines on purpose: the SQLite (FTS5) and PostgreSQL (tsvector) indexes answer the
same query with the same ranking and visibility rules, so they sit side by side.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from groundswell.ddl import NO_AUTOVACUUM

PROJECTION = "search"
# Marks around matched words in excerpts: control characters no tokenizer keeps as a word
# character; text is split on them, never parsed as markup.
START, STOP = "\x02", "\x03"
_MARKS = re.compile(f"[{START}{STOP}]")

SQLITE_TABLES = (
    """CREATE TABLE IF NOT EXISTS search_documents (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
    challenge_id TEXT, idea_id TEXT, author TEXT, draft INTEGER NOT NULL,
    managers TEXT NOT NULL, hidden INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL
)""",
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(
    title, body, content='search_documents', content_rowid='id',
    tokenize='unicode61 remove_diacritics 0'
)""",
)
# The FTS5 table follows search_documents row by row (a rebuild indexes all at once).
SQLITE_TEXT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_text (rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    """CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_text (search_text, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END""",
    """CREATE TRIGGER IF NOT EXISTS search_documents_au AFTER UPDATE ON search_documents
WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
    INSERT INTO search_text (search_text, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO search_text (rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
)
# A document row holds only the fields its kind has (projections/search.py).
_SQLITE_FIELDS = (
    "json_extract({v}, '$.kind'), json_extract({v}, '$.challenge_id'), "
    "json_extract({v}, '$.idea_id'), json_extract({v}, '$.author'), "
    "coalesce(json_extract({v}, '$.draft'), 0), coalesce(json_extract({v}, '$.managers'), '[]'), "
    "coalesce(json_extract({v}, '$.hidden'), 0), coalesce(json_extract({v}, '$.title'), ''), "
    "coalesce(json_extract({v}, '$.body'), '')"
)
_COLUMNS = "kind, challenge_id, idea_id, author, draft, managers, hidden, title, body"
_WHEN = f"projection = '{PROJECTION}' AND {{r}}.tbl = 'documents'"
SQLITE_ROW_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS {statement.strip()} END"
    for statement in f"""
search_rows_ai AFTER INSERT ON projection_rows
WHEN new.{_WHEN.format(r="new")} BEGIN
    INSERT INTO search_documents (key, {_COLUMNS})
    VALUES (new.key, {_SQLITE_FIELDS.format(v="new.value")});
END;
search_rows_au AFTER UPDATE ON projection_rows
WHEN new.{_WHEN.format(r="new")} BEGIN
    UPDATE search_documents SET ({_COLUMNS}) = ({_SQLITE_FIELDS.format(v="new.value")})
    WHERE key = new.key;
END;
search_rows_ad AFTER DELETE ON projection_rows
WHEN old.{_WHEN.format(r="old")} BEGIN
    DELETE FROM search_documents WHERE key = old.key;
""".split("END;")
)


_TRIGGERS = ("search_rows_ai", "search_rows_au", "search_rows_ad", "search_documents_ai",
             "search_documents_ad", "search_documents_au")  # fmt: skip


def sqlite_setup(db: sqlite3.Connection) -> None:
    # One statement at a time: executescript would commit a transaction in progress.
    for statement in (*SQLITE_TABLES, *SQLITE_TEXT_TRIGGERS, *SQLITE_ROW_TRIGGERS):
        db.execute(statement)


def sqlite_before_replace(db: sqlite3.Connection) -> None:
    """Inside a rebuild's transaction: empty the index and stop following row by row."""
    for name in _TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    db.execute("DELETE FROM search_documents")


def sqlite_after_replace(db: sqlite3.Connection) -> None:
    """Inside a rebuild's transaction: index every row at once, follow rows again."""
    db.execute(
        f"INSERT INTO search_documents (key, {_COLUMNS}) "
        f"SELECT key, {_SQLITE_FIELDS.format(v='value')} FROM projection_rows "
        f"WHERE projection = ? AND tbl = 'documents' ORDER BY key",
        (PROJECTION,),
    )
    # FTS5 indexes its whole content table in one pass, far faster than row by row.
    db.execute("INSERT INTO search_text (search_text) VALUES ('rebuild')")
    sqlite_setup(db)


_PG_TSV = (
    "setweight(to_tsvector('simple', coalesce({v}->>'title', '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce({v}->>'body', '')), 'B')"
)
_PG_FIELDS = (
    "{v}->>'kind', {v}->>'challenge_id', {v}->>'idea_id', {v}->>'author', "
    "coalesce(({v}->>'draft')::boolean, false), coalesce({v}->'managers', '[]'::jsonb), "
    "coalesce(({v}->>'hidden')::boolean, false), coalesce({v}->>'title', ''), "
    "coalesce({v}->>'body', ''), " + _PG_TSV
)
_PG_COLUMNS = """key TEXT NOT NULL, kind TEXT NOT NULL, challenge_id TEXT, idea_id TEXT,
        author TEXT, draft BOOLEAN NOT NULL, managers JSONB NOT NULL,
        hidden BOOLEAN NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
        text tsvector NOT NULL"""
# No pending list (fastupdate off): with one, every search also scans the entries not yet
# merged into the index, up to 4 MB of them, which made a search several times slower;
# a row written live costs a little more to index instead.
_PG_GIN = "USING gin (text) WITH (fastupdate = off)"
# The documents are split by a hash of their key into parts, each with its own indexes: a
# rebuild fills and indexes the parts side by side, one session each (a GIN index is built
# by one process), and a search reads the parts' indexes one after the other. A schema
# made before parts keeps its one table until its first rebuild.
PARTS = 2


def _pg_documents_table(name: str, options: str = "") -> str:
    return ";\n    ".join(
        [f"CREATE TABLE {name} ({_PG_COLUMNS}) PARTITION BY HASH (key)"]
        + [
            f"CREATE TABLE {name}_{part} PARTITION OF {name} "
            f"FOR VALUES WITH (MODULUS {PARTS}, REMAINDER {part}){options}"
            for part in range(PARTS)
        ]
    )


# Made once per schema, under a lock (every session runs its set-up statements). A schema
# made before the index took no pending list is brought in line here.
POSTGRES_SCHEMA = f"""
DO $setup$ BEGIN
PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.search_documents'));
IF to_regclass('search_documents') IS NULL THEN
    {_pg_documents_table("search_documents")};
    ALTER TABLE search_documents ADD CONSTRAINT search_documents_pkey PRIMARY KEY (key);
    CREATE INDEX search_documents_text ON search_documents {_PG_GIN};
ELSIF NOT EXISTS (SELECT FROM pg_class WHERE oid = to_regclass('search_documents_text')
                  AND 'fastupdate=off' = ANY(reloptions)) THEN
    ALTER INDEX search_documents_text SET (fastupdate = off);
    PERFORM gin_clean_pending_list('search_documents_text'::regclass);
END IF;
-- Made with the table, and again on a projection_rows made partitioned since (which
-- left the old triggers behind): on the partitioned table, they follow every partition.
IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgname = 'search_rows_written'
               AND tgrelid = 'projection_rows'::regclass) THEN
    CREATE OR REPLACE FUNCTION search_rows_follow() RETURNS trigger LANGUAGE plpgsql
    AS $follow$
    BEGIN
        -- A rebuild makes its documents from its rows set-wise, before it swaps them in.
        IF current_setting('groundswell.search_bulk', true) = 'on' THEN RETURN NULL; END IF;
        IF TG_OP = 'DELETE' THEN
            DELETE FROM search_documents WHERE key = OLD.key;
            RETURN NULL;
        END IF;
        INSERT INTO search_documents (key, {_COLUMNS}, text)
        VALUES (NEW.key, {_PG_FIELDS.format(v="NEW.value")})
        ON CONFLICT (key) DO UPDATE SET ({_COLUMNS}, text) = (
            excluded.kind, excluded.challenge_id, excluded.idea_id, excluded.author,
            excluded.draft, excluded.managers, excluded.hidden, excluded.title,
            excluded.body, excluded.text);
        RETURN NULL;
    END $follow$;
    CREATE TRIGGER search_rows_written AFTER INSERT OR UPDATE ON projection_rows
        FOR EACH ROW WHEN (NEW.{_WHEN.format(r="NEW")})
        EXECUTE FUNCTION search_rows_follow();
    CREATE TRIGGER search_rows_deleted AFTER DELETE ON projection_rows
        FOR EACH ROW WHEN (OLD.{_WHEN.format(r="OLD")})
        EXECUTE FUNCTION search_rows_follow();
END IF;
END $setup$
"""


def postgres_before_replace(conn: Any) -> None:
    """Inside a rebuild's transaction: stop following row by row (the rebuild's documents
    are indexed already, see postgres_fill_part)."""
    conn.execute("SET LOCAL groundswell.search_bulk = 'on'")


def postgres_stage_documents(conn: Any, table: str) -> None:
    """Make an empty documents table ``table`` (with its parts) for a rebuild to fill;
    searches go on reading ``search_documents`` until :func:`postgres_swap` commits."""
    for statement in _pg_documents_table(table, NO_AUTOVACUUM).split(";"):
        conn.execute(statement)


def postgres_fill_part(conn: Any, rows_table: str, table: str, part: int) -> None:
    """Fill and index part ``part`` of the rebuild's documents table ``table`` from the
    rebuilt rows in ``rows_table``, in the session ``conn`` (the parts side by side, each in
    a session of its own). The indexes are built once the rows are in: CREATE INDEX sorts
    all entries at once, where inserting rows into an index without a pending list would
    place every entry one by one."""
    target = f"{table}_{part}"
    conn.execute(
        f"INSERT INTO {target} (key, {_COLUMNS}, text) "
        f"SELECT key, {_PG_FIELDS.format(v='value')} FROM {rows_table} "
        f"WHERE projection = '{PROJECTION}' AND tbl = 'documents' "
        f"AND satisfies_hash_partition('{table}'::regclass, {PARTS}, {part}, key)"
    )
    conn.execute("SET maintenance_work_mem = '256MB'")  # the GIN build sorts in memory
    conn.execute(f"CREATE INDEX {target}_text ON {target} {_PG_GIN}")
    conn.execute(f"ALTER TABLE {target} ADD CONSTRAINT {target}_pkey PRIMARY KEY (key)")
    # A fresh table has no statistics to plan searches by; gathered before the swap.
    conn.execute(f"ANALYZE {target}")


def postgres_index_documents(conn: Any, table: str) -> None:
    """Inside a rebuild's transaction: ``table``'s key and full-text index, made of its
    parts' (which PostgreSQL takes as they are, building nothing)."""
    conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (key)")
    conn.execute(f"CREATE INDEX {table}_text ON {table} {_PG_GIN}")


def postgres_swap(conn: Any, table: str) -> None:
    """Inside a rebuild's transaction, at its end: the rebuilt documents ``table`` in place
    of ``search_documents`` (searches wait only for these renames to commit); follow rows
    again."""
    conn.execute("DROP TABLE search_documents")
    renames = [(table, "search_documents")] + [
        (f"{table}_{part}", f"search_documents_{part}") for part in range(PARTS)
    ]
    for old, new in renames:
        if old != table:  # a part (the partitioned table itself holds no rows)
            conn.execute(f"ALTER TABLE {old} RESET (autovacuum_enabled)")
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")
        for index in ("pkey", "text"):
            conn.execute(f"ALTER INDEX {old}_{index} RENAME TO {new}_{index}")
    conn.execute("SET LOCAL groundswell.search_bulk = 'off'")


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who searches, as far as what they may find goes (see groundswell/http/search.py)."""

    handle: str
    sees_identities: bool  # may find hidden contributions
    reads_all: bool  # may find every draft


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...]
    reader: Reader
    any_word: bool = False  # similar ideas: any word of a title, best matches first
    kind: str | None = None
    challenge_id: str | None = None
    leave_out: str | None = None  # a document key (the idea itself, among similar ones)
    limit: int = 20


Part = tuple[str, bool]  # (text, whether it matched)


@dataclass(frozen=True)
class Hit:
    key: str
    kind: str
    id: str
    challenge_id: str | None
    idea_id: str | None
    author: str | None
    hidden: bool
    title: list[Part]
    snippet: list[Part]
    rank: float


class SearchIndex(Protocol):
    def search(self, query: Query) -> list[Hit]:
        """The best hits for ``query`` that its reader may find, best first."""
        ...

    def close(self) -> None: ...


def parts(marked: str) -> list[Part]:
    """Split text with START/STOP marks into (text, matched) parts; marks never nest."""
    found: list[Part] = []
    matched = False
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece == START:
            matched = True
        elif piece == STOP:
            matched = False
        elif piece:
            found.append((_MARKS.sub("", piece), matched))
    return found


def _id(key: str) -> str:
    return key.split(":", 1)[1]


def _idea(key: str) -> str | None:
    """An idea's document names no idea: it is its own."""
    return _id(key) if key.startswith("idea:") else None


def _fts_expression(query: Query) -> str:
    quoted = ['"' + word.replace('"', '""') + '"' for word in query.words]
    if not query.any_word:
        quoted[-1] += "*"  # the last word may still be being typed
        return " ".join(quoted)
    return " OR ".join(quoted)


def _tsquery(query: Query) -> str:
    quoted = ["'" + word.replace("'", "''") + "'" for word in query.words]
    if not query.any_word:
        quoted[-1] += ":*"
        return " & ".join(quoted)
    return " | ".join(quoted)


def _filters(query: Query, param: str) -> tuple[str, list[Any]]:
    """The reader's visibility and the query's filters, as SQL and its parameters."""
    reader = query.reader
    sql = [
        f"(d.draft = {param} OR {param} OR {{managed}})",
        f"(d.hidden = {param} OR {param} OR d.author = {param})",
    ]
    values: list[Any] = [False, reader.reads_all, False, reader.sees_identities, reader.handle]
    if query.kind:
        sql.append(f"d.kind = {param}")
        values.append(query.kind)
    if query.challenge_id:
        sql.append(f"d.challenge_id = {param}")
        values.append(query.challenge_id)
    if query.leave_out:
        sql.append(f"d.key <> {param}")
        values.append(query.leave_out)
    return " AND ".join(sql), values


class SQLiteSearch:
    """Queries the embedded store's ``readmodel-search.sqlite`` (its own connection)."""

    # How many of the best matches FTS5 hands over first: enough that, in most searches,
    # a hit ranked strictly worse than the last one kept is among them (see _top).
    candidates = 400

    def __init__(self, path: Any) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=120000")
        # A one-word search ranks every match (~3,000 at a million documents): each costs a
        # lookup of the document's size, and 400 a lookup of the row. Reading the file
        # through a map rather than a read() call per page, and keeping more pages than the
        # default 2 MB, cut the CPU of a search by a third at that size. (The map is the OS's
        # cache of the file, not memory of this process's own.)
        self._db.execute(f"PRAGMA mmap_size={2**31 - 2**16}")
        self._db.execute("PRAGMA cache_size=-131072")  # KiB: 128 MB at most, as used
        sqlite_setup(self._db)

    def search(self, query: Query) -> list[Hit]:
        where, values = _filters(query, "?")
        needle = json.dumps(query.reader.handle)
        where = where.replace("{managed}", "instr(d.managers, ?) > 0")
        values.insert(2, needle)
        expression = _fts_expression(query)
        top = self._top(expression, where, values, query.limit)
        if not top:
            return []
        ranks = dict(top)
        marks = f"'{START}', '{STOP}'"
        # Excerpts for the top hits alone, in one pass over the match ("+" keeps the rowids
        # from being handed to FTS5, which would run the whole query again for each).
        found = self._db.execute(
            "SELECT d.id, d.key, d.kind, d.challenge_id, d.idea_id, d.author, d.hidden, "
            f"highlight(search_text, 0, {marks}), "
            f"snippet(search_text, 1, {marks}, '…', 24) "
            "FROM search_text JOIN search_documents d ON d.id = search_text.rowid "
            f"WHERE search_text MATCH ? AND +search_text.rowid IN ({','.join('?' * len(ranks))})",
            (expression, *ranks),
        ).fetchall()
        hits = [
            Hit(key, kind, _id(key), challenge, idea or _idea(key), author, bool(hidden),
                parts(title), parts(snippet), -ranks[rowid])
            for rowid, key, kind, challenge, idea, author, hidden, title, snippet in found
        ]  # fmt: skip
        hits.sort(key=lambda hit: (-hit.rank, hit.key))
        return hits

    def _top(self, expression: str, where: str, values: list[Any], limit: int) -> list[Any]:
        """The ``limit`` best visible matches as (rowid, bm25), best first, ties by key.

        Joining every match to its document before sorting costs a row lookup per match
        (thousands for a common word); FTS5 ranks and keeps the best ``candidates`` in
        itself, and only those are looked up and filtered. The answer is the same as over
        every match: it is taken only when every match left out ranks strictly worse
        than the last hit kept (so no tie is cut by the limit); else more candidates.
        """
        if limit <= 0:
            return []
        candidates = max(limit * 5, self.candidates)
        while True:
            rows = self._db.execute(
                f"SELECT d.id, c.rank, d.key, {where} FROM (SELECT rowid, "
                "bm25(search_text, 4.0, 1.0) AS rank FROM search_text "
                "WHERE search_text MATCH ? ORDER BY rank LIMIT ?) AS c "
                "JOIN search_documents d ON d.id = c.rowid",
                (*values, expression, candidates),
            ).fetchall()
            shown = sorted((rank, key, rowid) for rowid, rank, key, seen in rows if seen)
            visible = shown[:limit]
            exhausted = len(rows) < candidates
            if exhausted or (
                len(visible) == limit and visible[-1][0] < max(rank for _, rank, *_ in rows)
            ):
                return [(rowid, rank) for rank, _, rowid in visible]
            candidates *= 8

    def close(self) -> None:
        self._db.close()


class PostgresSearch:
    """Queries ``search_documents`` in the engine's schema (its own session)."""

    def __init__(self, url: str, schema: str | None) -> None:
        import threading

        from groundswell.readstore.postgres import SCHEMA
        from groundswell.readstore.sessions import Session

        self._session = Session(url, schema, (SCHEMA, POSTGRES_SCHEMA))
        self._lock = threading.Lock()

    def search(self, query: Query) -> list[Hit]:
        where, values = _filters(query, "%s")
        where = where.replace("{managed}", "d.managers ? %s")
        values.insert(2, query.reader.handle)
        options = f"StartSel={START}, StopSel={STOP}"
        sql = (
            "WITH q AS (SELECT to_tsquery('simple', %s) AS q), "
            "top AS (SELECT d.*, ts_rank(d.text, q.q) AS rank FROM search_documents d, q "
            f"WHERE d.text @@ q.q AND {where} ORDER BY rank DESC, d.key LIMIT %s) "
            "SELECT top.key, top.kind, top.challenge_id, top.idea_id, top.author, top.hidden, "
            f"ts_headline('simple', top.title, q.q, '{options}, HighlightAll=true'), "
            f"ts_headline('simple', top.body, q.q, '{options}, MaxWords=24, MinWords=8'), "
            "top.rank FROM top, q ORDER BY top.rank DESC, top.key"
        )
        with self._lock:
            found = (
                self._session.connection()
                .execute(sql, (_tsquery(query), *values, query.limit))
                .fetchall()
            )
        return [
            Hit(key, kind, _id(key), challenge, idea or _idea(key), author, hidden,
                parts(title), parts(snippet), float(rank))
            for key, kind, challenge, idea, author, hidden, title, snippet, rank in found
        ]  # fmt: skip

    def close(self) -> None:
        self._session.close()
