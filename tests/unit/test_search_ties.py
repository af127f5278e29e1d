"""SQLite search takes its best hits from a limited set of FTS5's best matches; the hits must
be those of ranking every match (ties broken by key, what a reader may not find left out),
however many matches tie across that set's edge."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from groundswell.readstore.search_index import Query, Reader, SQLiteSearch, sqlite_setup


def test_hits_are_those_of_ranking_every_match_when_ties_cross_the_candidates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "search.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE projection_rows (projection TEXT, tbl TEXT, key TEXT, value TEXT)")
    sqlite_setup(db)
    # 60 comments of the same length with the word once tie; every third is hidden.
    for n in range(60):
        key = (n * 37) % 60  # written out of key order
        value = {"kind": "contribution", "idea_id": "i", "author": "dan", "body": "jig clamps",
                 "hidden": key % 3 == 0}  # fmt: skip
        db.execute(
            "INSERT INTO projection_rows VALUES ('search', 'documents', ?, ?)",
            (f"contribution:{key:02d}", json.dumps(value)),
        )
    db.execute(
        "INSERT INTO projection_rows VALUES ('search', 'documents', 'idea:i', ?)",
        (json.dumps({"kind": "idea", "title": "Clamps", "body": "", "author": "dan"}),),
    )
    db.close()
    index = SQLiteSearch(path)
    try:
        index.candidates = 1  # the first candidates (5 per hit) end inside the tie
        reader = Reader("cat", sees_identities=False, reads_all=False)
        hits = index.search(Query(("clamps",), reader, limit=4))
        visible = [f"contribution:{key:02d}" for key in range(60) if key % 3]
        assert [hit.key for hit in hits] == ["idea:i", *visible[:3]]
    finally:
        index.close()
