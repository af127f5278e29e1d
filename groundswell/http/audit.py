"""Read-only endpoints for auditors (and admins): histories, as-of, replay-and-diff, verify."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path as FilePath
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from domain.errors import InvalidInput
from groundswell.audit import history
from groundswell.audit.export import export
from groundswell.audit.replay import as_of, parse_moment
from groundswell.audit.sources import AuditError
from groundswell.eventstore import chain
from groundswell.http.auth import needs
from groundswell.http.common import ApiDep, Filter
from groundswell.http.problems import COMMON, ApiProblem
from groundswell.reads.boards import BOARD_DATA, BOARD_PROJECTIONS, Board
from projections.catalog import PROJECTION_NAMES

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], responses=COMMON, dependencies=[needs(reading=True)]
)
Reference = Annotated[
    str, Path(max_length=64, description="An aggregate's id, or a person's handle.")
]


class TimelineEntryOut(BaseModel):
    position: int | None
    at: str
    aggregate_kind: str
    aggregate_id: str
    version: int
    event_type: str
    actor: str
    event_id: str
    challenge_id: str | None
    chapter: str
    fields: dict[str, Any]


@router.get("/history/{reference}")
def aggregate_history(reference: Reference, api: ApiDep) -> list[TimelineEntryOut]:
    """Every event of one challenge, idea, contribution or person, in order, with actor,
    time, version and the event's fields."""
    found = history.history(api.engine, history.resolve(reference))
    return [TimelineEntryOut(**entry.to_json()) for entry in found]


@router.get("/ideas/{idea_id}/story")
def idea_story(idea_id: UUID, api: ApiDep) -> list[TimelineEntryOut]:
    """An idea's whole story in one timeline: submission, team, feedback, decision and
    reason, hand-over, progress, implementation and the rewards paid for it."""
    found = history.idea_story(api.engine, idea_id)
    return [TimelineEntryOut(**entry.to_json()) for entry in found]


class PositionHash(BaseModel):
    position: int
    hash: str


class ChainProblemOut(BaseModel):
    kind: str
    notification_id: int
    aggregate_id: str | None
    aggregate_version: int | None
    message: str


class VerifyOut(BaseModel):
    ok: bool
    events_checked: int
    events_total: int
    head: PositionHash | None
    intact_through: int
    problem: ChainProblemOut | None
    adopted: dict[str, int] | None
    anchor: PositionHash | None


@router.get("/verify")
def verify_chain(api: ApiDep) -> VerifyOut:
    """Recompute the hash chain over the whole event log and name the first event whose
    content, order or presence no longer matches (``ok`` false)."""
    return VerifyOut(**chain.verify(api.engine).to_dict())


@router.get("/as-of")
def read_models_as_of(
    api: ApiDep,
    moment: Annotated[
        str, Query(max_length=40, description="2026-10-31 or 2026-10-31T17:00:00+00:00 (UTC).")
    ],
    board: Annotated[Board | None, Query(description="One board; all four when left out.")] = None,
    challenge: Filter = None,
) -> dict[str, Any]:
    """Leaderboard, balances, funnel and follow-up debt as they were at ``moment``, computed
    from the history (every event up to it, folded from zero)."""
    try:
        when = parse_moment(moment)
    except (AuditError, ValueError, OverflowError) as error:  # overflow: year 9999 at -23:59
        raise InvalidInput(str(error) or f"{moment!r} is out of range.", field="moment") from None
    boards = [board] if board else list(Board)
    found = as_of(api.engine, when, [BOARD_PROJECTIONS[b] for b in boards])
    shown = {b.value: BOARD_DATA[b](found[BOARD_PROJECTIONS[b]], when, challenge) for b in boards}
    return {"as_of": when.isoformat(), **shown}


class DifferenceOut(BaseModel):
    projection: str
    table: str
    key: str
    field: str | None
    kind: str
    live: Any = None
    replayed: Any = None


class ReplayOut(BaseModel):
    identical: bool
    differences: list[DifferenceOut]
    live_rows: dict[str, int]
    replayed_rows: dict[str, int]
    seconds: float


@router.get("/replay")
def replay_and_diff(
    api: ApiDep,
    projection: Annotated[
        list[str] | None, Query(max_length=20, description="Projections; all when left out.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> ReplayOut:
    """Rebuild the read models from zero (from the store, or with Kafka from the topic) up to
    where the live ones are, and diff them row by row: ``identical`` false names each
    difference."""
    unknown = sorted(set(projection or ()) - set(PROJECTION_NAMES))
    if unknown:
        raise InvalidInput(
            f"no projection {unknown[0]!r}; the projections are {', '.join(PROJECTION_NAMES)}.",
            field="projection",
        )
    try:
        found = api.reads.compare(projection)
    except AuditError as error:
        raise ApiProblem(409, "not-comparable", str(error)) from None
    return ReplayOut(
        identical=found.identical,
        differences=[DifferenceOut(**asdict(d)) for d in found.differences[:limit]],
        live_rows=found.live_rows,
        replayed_rows=found.replayed_rows,
        seconds=round(found.seconds, 3),
    )


@router.get(
    "/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The export."}},
)
def export_history(api: ApiDep, challenge: UUID | None = None) -> FileResponse:
    """The whole history (or one challenge's) as a zip: Avro Object Container File with the
    schemas from schemas/, JSON lines, and a manifest with counts, file hashes and the
    chain's head — what `groundswell audit export` writes."""
    work = FilePath(tempfile.mkdtemp(prefix="groundswell-export-"))
    try:
        manifest = export(api.engine, work / "export", challenge_id=challenge)
        archive = work / "groundswell-export.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for name in ["manifest.json", *(f["name"] for f in manifest["files"])]:
                zipped.write(work / "export" / name, name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename="groundswell-export.zip",
        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True),
    )
