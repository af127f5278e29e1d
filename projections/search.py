"""Search: the text of challenges, ideas and contributions, with what decides who may find it.

One row per searchable document in ``documents``, keyed ``<kind>:<id>``. The fold keeps
only what a reader's filter needs (the challenge is a draft and who manages it, the
contribution is hidden, who wrote it); pseudonyms are not folded in but masked when
results are read, as every other answer does, so choosing a pseudonym changes no row.
The stores index ``title`` and ``body`` of these rows in the same transaction as the rows
(SQLite FTS5, PostgreSQL tsvector; see groundswell/readstore/search_index.py).
"""

from __future__ import annotations

from typing import Any

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea
from projections.projection import Handler
from projections.rows import Row, Rows, key_of

KINDS = ("challenge", "idea", "contribution")


def document_key(kind: str, aggregate_id: str) -> str:
    return f"{kind}:{aggregate_id}"


class SearchProjection:
    """Table ``documents``: key (``<kind>:<id>``) → ``kind``, ``challenge_id``, ``title`` and
    ``body``; a challenge's ``draft`` and ``managers``; an idea's or contribution's
    ``author``; a contribution's ``idea_id`` and ``hidden``. Only what a document has is
    kept: rows are small, which is most of what a rebuild writes."""

    name = "search"
    version = 1
    # Every handler reads and writes only its own aggregate's document (keyed by its id).
    per_aggregate = True

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {
            Challenge.Drafted: _drafted,
            Challenge.Edited: _challenge_edited,
            Challenge.ManagerAdded: _manager_added,
            Challenge.Opened: _opened,
            Idea.Submitted: _submitted,
            Idea.Edited: _idea_edited,
            Contribution.Added: _contribution_added,
            Contribution.Hidden: _hidden,
        }


def _drafted(rows: Rows, event: Any) -> None:
    challenge_id = key_of(event.originator_id)
    rows.put(
        "documents",
        document_key("challenge", challenge_id),
        {
            "kind": "challenge", "challenge_id": challenge_id, "title": event.title,
            "body": event.question, "draft": True, "managers": list(event.managers),
        },
    )  # fmt: skip


def _challenge(rows: Rows, event: Any) -> Row | None:
    key = document_key("challenge", key_of(event.originator_id))
    found: Row | None = rows.touch("documents", key)
    return found


def _challenge_edited(rows: Rows, event: Any) -> None:
    if (document := _challenge(rows, event)) is not None:
        document["title"], document["body"] = event.title, event.question


def _manager_added(rows: Rows, event: Any) -> None:
    if (document := _challenge(rows, event)) is not None:
        document["managers"] = [*document["managers"], event.manager]


def _opened(rows: Rows, event: Any) -> None:
    if (document := _challenge(rows, event)) is not None:
        document["draft"] = False


def _submitted(rows: Rows, event: Any) -> None:
    idea_id = key_of(event.originator_id)
    rows.put(
        "documents",
        document_key("idea", idea_id),
        {
            "kind": "idea", "challenge_id": key_of(event.challenge_id), "title": event.title,
            "body": event.description, "author": event.author,
        },
    )  # fmt: skip


def _idea_edited(rows: Rows, event: Any) -> None:
    document = rows.touch("documents", document_key("idea", key_of(event.originator_id)))
    if document is not None:
        document["title"], document["body"] = event.title, event.description


def _contribution_added(rows: Rows, event: Any) -> None:
    # Endorsements and most review scores say nothing: only text is worth finding.
    if not event.body or not event.body.strip():
        return
    rows.put(
        "documents",
        document_key("contribution", key_of(event.originator_id)),
        {
            "kind": "contribution",
            "challenge_id": key_of(event.challenge_id) if event.challenge_id else None,
            "idea_id": key_of(event.idea_id), "body": event.body, "author": event.author,
            "hidden": False,
        },
    )  # fmt: skip


def _hidden(rows: Rows, event: Any) -> None:
    document = rows.touch("documents", document_key("contribution", key_of(event.originator_id)))
    if document is not None:
        document["hidden"] = True
