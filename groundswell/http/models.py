"""Request and response bodies, with the limits every string and list keeps.

The limits match the domain's (titles 200 characters, texts 10,000, names 100, lists
50 entries); checking them here as well lets the OpenAPI description state them.

Over 400 lines on purpose: one flat list of bodies, one small class each, read by looking
a name up; split by resource they would import each other's shared parts.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.validation import LIST_MAX, NAME_MAX, TEXT_MAX, TITLE_MAX

T = TypeVar("T")

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
OptionalText = Annotated[str, Field(max_length=TEXT_MAX)]
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Handle = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Points = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]
Names = Annotated[list[Name], Field(max_length=LIST_MAX)]
Departments = Annotated[list[Name], Field(min_length=1, max_length=LIST_MAX)]
IsoDate = Annotated[
    str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", max_length=10, examples=["2026-12-31"])
]


class Body(BaseModel):
    """Unknown fields are refused, so a typo never passes silently; whole numbers are
    strict (``true``, ``1.0``, ``"1"``, ``1e2`` are refused, never coerced)."""

    model_config = ConfigDict(extra="forbid")


# -- commands ---------------------------------------------------------------------------


class PersonIn(Body):
    handle: Handle
    name: Name
    department: Name
    pseudonym: Name | None = None
    roles: Names = Field(default_factory=lambda: ["contributor"])
    email: Annotated[str, Field(max_length=320)] | None = None


class RolesIn(Body):
    roles: Names


class DepartmentIn(Body):
    department: Name


class PseudonymIn(Body):
    pseudonym: Name | None = None


# Strict: "2", true or 2.0 are refused, not read as a price.
Price = Annotated[int, Field(gt=0, le=1_000_000_000, strict=True)]
Stock = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class RedemptionIn(Body):
    """One store item by id; ``points``, if sent, must be its current price."""

    item_id: UUID
    points: Price | None = None


class StoreItemIn(Body):
    name: Name
    price: Price
    stock: Stock | None = Field(default=None, description="None: unlimited.")
    description: Annotated[str, Field(max_length=500)] = ""


class PriceIn(Body):
    price: Price


class StockIn(Body):
    stock: Stock | None = Field(description="How many are left; null: unlimited.")


class CancelIn(Body):
    reason: Text


class ChallengeTerms(Body):
    title: Title
    question: Text
    sponsor: Name
    target_departments: Departments
    submission_deadline: IsoDate
    decision_deadline_days: Annotated[int, Field(ge=1, le=365, strict=True)] = 30
    accepted_idea_points: Points = 0
    implemented_idea_points: Points = 0
    helpful_contribution_points: Points = 0
    prize_points: Annotated[list[Points], Field(max_length=10)] = Field(default_factory=list)


class ChallengeIn(ChallengeTerms):
    pot: Points = 0
    # The follow-up policy's terms that differ from the defaults (see domain/follow_up_policy).
    follow_up: dict[str, int | str] | None = None


class ChallengeEdit(Body):
    """Only the terms named change."""

    title: Title | None = None
    question: Text | None = None
    sponsor: Name | None = None
    target_departments: Departments | None = None
    submission_deadline: IsoDate | None = None
    decision_deadline_days: Annotated[int, Field(ge=1, le=365, strict=True)] | None = None
    accepted_idea_points: Points | None = None
    implemented_idea_points: Points | None = None
    helpful_contribution_points: Points | None = None
    prize_points: Annotated[list[Points], Field(max_length=10)] | None = None


class HandleIn(Body):
    handle: Handle


class PointsIn(Body):
    points: Annotated[int, Field(gt=0, le=1_000_000_000, strict=True)]


class IdeaIn(Body):
    title: Title
    description: Text


class NoteIn(Body):
    note: OptionalText = ""


class ReasonIn(Body):
    reason: Text


class ImpactIn(Body):
    impact: Text


class ProgressIn(Body):
    note: Text


class MergeIn(Body):
    into: UUID


class TakeOverIn(Body):
    # May be left empty by a manager accepting an owner's request: the request's one stands.
    core_process: Annotated[str, Field(max_length=NAME_MAX)] = ""
    external_ref: Annotated[str, Field(max_length=NAME_MAX)] = ""
    owner: Handle | None = None


class CommentIn(Body):
    body: Text


class BuildOnIn(Body):
    body: Text
    linked_idea_id: UUID


class ScoreIn(Body):
    score: Annotated[int, Field(ge=1, le=5, strict=True)]
    body: OptionalText = ""


class RewardIn(Body):
    reason: Annotated[
        str,
        Field(
            max_length=40,
            pattern=r"^(idea-accepted|idea-implemented|helpful-contribution|prize-[1-9][0-9]{0,2})$",
            examples=["idea-accepted", "idea-implemented", "helpful-contribution", "prize-1"],
        ),
    ]
    subject_id: UUID


class Receipt(BaseModel):
    """What a command did: the id it created or changed, the position of its last event
    (pass it as ``at_least`` to later reads to see your own write), and how many events."""

    id: UUID | None
    position: int | None
    events: int


# -- reads ------------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    position: int = Field(description="The event position the read models had reached.")


class RewardPolicyOut(BaseModel):
    accepted_idea: int
    implemented_idea: int
    helpful_contribution: int
    prizes: list[int]


class ChallengeOut(BaseModel):
    id: UUID
    version: int
    stage: str
    title: str
    question: str
    sponsor: str
    target_departments: list[str]
    submission_deadline: str
    decision_deadline_days: int
    reward_policy: RewardPolicyOut
    managers: list[str]
    pot: int
    funded: int
    granted: int


class ChallengeRow(BaseModel):
    challenge_id: str
    title: str
    question: str
    sponsor: str
    target_departments: list[str]
    submission_deadline: str
    decision_deadline_days: int
    stage: str
    managers: list[str]
    ideas: int = Field(
        description="Ideas submitted, not counting withdrawn ones and duplicates merged into "
        "another: the funnel's first step."
    )
    drafted_at: str
    updated_at: str


class IdeaOut(BaseModel):
    id: UUID
    version: int
    challenge_id: UUID
    title: str
    description: str
    author: str
    department: str
    status: str
    team: list[str]
    reviewers: list[str]
    decision_reason: str | None
    merged_into: UUID | None
    duplicates: list[UUID]
    owner: str | None
    core_process: str | None
    external_ref: str | None
    progress: list[str]
    impact: str | None
    take_over_asked_by: list[str] = []  # owners who asked; the managers decide


class Decision(BaseModel):
    outcome: str
    reason: str
    by: str
    at: str


class ProgressNote(BaseModel):
    at: str
    note: str
    by: str


class IdeaRow(BaseModel):
    idea_id: str
    challenge_id: str
    title: str
    description: str
    author: str
    department: str
    team: list[str]
    status: str
    decision: Decision | None
    owner: str | None
    core_process: str | None
    external_ref: str | None
    progress_notes: list[ProgressNote]
    impact: str | None
    merged_into: str | None
    contributions: int
    submitted_at: str
    updated_at: str
    abandon_reason: str | None = None
    # When a decision is expected by the challenge's follow-up policy (in /v1/me/ideas).
    answer_expected_by: str | None = None


class ContributionOut(BaseModel):
    contribution_id: str
    idea_id: str
    challenge_id: str | None
    kind: str
    author: str
    department: str
    body: str | None
    score: int | None
    linked_idea_id: str | None
    helpful: bool
    hidden: bool
    hidden_reason: str | None
    added_at: str
    # When a first answer is expected by the challenge's follow-up policy (comments and
    # build-ons, in /v1/me/contributions).
    answer_expected_by: str | None = None


class PersonOut(BaseModel):
    handle: str
    name: str
    department: str
    pseudonym: str | None
    roles: list[str]
    since: str
    # Whether an administrator disabled them (the reason is for administrators: pages, CLI).
    disabled: bool = False

    @field_validator("disabled", mode="before")
    @classmethod
    def _whether(cls, reason: object) -> bool:
        """The directory keeps the reason (None once enabled); the API says only whether."""
        return reason is not None and reason is not False


class MeOut(PersonOut):
    balance: int


class StandingOut(BaseModel):
    rank: int
    shown_as: str
    handle: str | None = Field(description="Only for managers, auditors and admins.")
    department: str
    points: int


class DepartmentOut(BaseModel):
    department: str
    points: int
    ideas: int
    contributors: int


class LedgerEntry(BaseModel):
    account: str
    at: str
    kind: str
    points: int
    reason: str | None
    subject_id: str | None
    challenge_id: str | None
    event_id: str
    event_type: str


class BalanceOut(BaseModel):
    handle: str
    balance: int
    entries: Page[LedgerEntry]


class StoreItemOut(BaseModel):
    item_id: str
    name: str
    description: str
    price: int
    stock: int | None
    active: bool


class RedemptionOut(BaseModel):
    redemption_id: str
    handle: str
    item_id: str | None
    item: str
    points: int
    status: str = Field(description="requested, fulfilled or cancelled.")
    requested_at: str
    settled_at: str | None
    settled_by: str | None
    reason: str | None


class PotOut(BaseModel):
    challenge_id: str
    title: str
    funded: int
    granted: int
    returned: int
    remaining: int


class TreasuryOut(BaseModel):
    treasury: int
    redeemed: int
    pots: list[PotOut]


class FunnelStep(BaseModel):
    step: str
    ideas: int
    conversion: float | None


class Transition(BaseModel):
    stage: str
    at: str


class ImplementationOut(BaseModel):
    idea_id: str
    challenge_id: str
    title: str
    author: str
    stage: str
    reached: list[str]
    owner: str | None
    core_process: str | None
    external_ref: str | None
    decision_reason: str | None
    impact: str | None
    progress_notes: int
    transitions: list[Transition]
    days_in_stage: float


class FunnelOut(BaseModel):
    funnel: list[FunnelStep]
    ideas: Page[ImplementationOut]


class WaitingOut(BaseModel):
    id: str
    kind: str
    idea_id: str
    idea_title: str
    challenge_id: str
    challenge: str
    title: str
    author: str
    since: str
    desk: list[str]
    waited_days: float
    overdue_days: float


class FollowUpOut(BaseModel):
    debt: Page[WaitingOut]
    by_manager: dict[str, int]
    median_days_to_decision: float | None


class NotificationOut(BaseModel):
    handle: str
    at: str
    event_id: str
    subject_kind: str
    subject_id: str | None
    challenge_id: str | None
    text: str


class BreadthOut(BaseModel):
    challenge_id: str
    title: str
    targeted: list[str]
    taking_part: list[str]
    targeted_taking_part: list[str]
    contributors_per_department: dict[str, int]
    contributors: int
    gini: float
    top_10_percent_share: float | None
    small_circle_warning: bool


def page(items: list[Any], limit: int, offset: int, position: int) -> dict[str, Any]:
    return {
        "items": items[offset : offset + limit],
        "total": len(items),
        "limit": limit,
        "offset": offset,
        "position": position,
    }


class Marked(BaseModel):
    """A stretch of text, and whether it matched the query (to be shown highlighted)."""

    text: str
    match: bool


class SearchHit(BaseModel):
    kind: str = Field(description="challenge, idea or contribution")
    id: str
    challenge_id: str | None
    idea_id: str | None
    title: str = Field(description="The challenge's or idea's title (a contribution's idea's).")
    author: str | None = Field(description="Who wrote it (a pseudonym where the reader sees one).")
    hidden: bool
    highlighted_title: list[Marked]
    snippet: list[Marked] = Field(description="An excerpt around the matches.")
    rank: float = Field(description="Higher is better; comparable within one answer only.")


class SearchOut(BaseModel):
    query: str
    words: list[str] = Field(description="The words searched for (the last one as a prefix).")
    items: list[SearchHit]
    position: int = Field(description="The event position the read models had reached.")
