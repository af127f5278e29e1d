"""The Challenge aggregate: a question put to the organisation, its pot and policy."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.base import GroundswellAggregate
from domain.challenge_terms import REQUIRED_TERMS, TERM_NAMES, checked_terms
from domain.errors import (
    AlreadyDone,
    AlreadyRewarded,
    InvalidInput,
    NotPermitted,
    PotTooSmall,
    RewardRefused,
    WrongStage,
)
from domain.reward_policy import RewardPolicy, prize_rank
from domain.reward_subject import RewardSubject
from domain.splits import split_award
from domain.validation import whole_points
from domain.words import reward_reason


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


class Stage(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    REVIEW = "review"
    CLOSED = "closed"
    ARCHIVED = "archived"


# Stages in which rewards may be granted: never in a draft or an archived challenge.
REWARDING_STAGES = frozenset({Stage.OPEN, Stage.REVIEW, Stage.CLOSED})
# Prizes are for the best ideas "at close": once submissions have stopped.
PRIZE_STAGES = frozenset({Stage.REVIEW, Stage.CLOSED})


class Challenge(GroundswellAggregate):
    """draft → open → review → closed → archived; every reward is paid from its pot."""

    class Drafted(GroundswellAggregate.Created):
        title: str
        question: str
        sponsor: str
        target_departments: list[str]
        submission_deadline: str
        decision_deadline_days: int
        accepted_idea_points: int
        implemented_idea_points: int
        helpful_contribution_points: int
        prize_points: list[int]
        managers: list[str]

        def apply(self, challenge: Challenge) -> None:
            challenge._set_terms(self.__dict__)

    class Edited(GroundswellAggregate.Event):
        title: str
        question: str
        sponsor: str
        target_departments: list[str]
        submission_deadline: str
        decision_deadline_days: int
        accepted_idea_points: int
        implemented_idea_points: int
        helpful_contribution_points: int
        prize_points: list[int]

        def apply(self, challenge: Challenge) -> None:
            challenge._set_terms(self.__dict__)

    class ManagerAdded(GroundswellAggregate.Event):
        manager: str

        def apply(self, challenge: Challenge) -> None:
            challenge.managers.append(self.manager)

    class PotFunded(GroundswellAggregate.Event):
        """Points move from the organisation's treasury into this challenge's pot."""

        points: int

        def apply(self, challenge: Challenge) -> None:
            challenge.pot += self.points
            challenge.funded += self.points

    class Opened(GroundswellAggregate.Event):
        def apply(self, challenge: Challenge) -> None:
            challenge.stage = Stage.OPEN

    class MovedToReview(GroundswellAggregate.Event):
        def apply(self, challenge: Challenge) -> None:
            challenge.stage = Stage.REVIEW

    class Closed(GroundswellAggregate.Event):
        def apply(self, challenge: Challenge) -> None:
            challenge.stage = Stage.CLOSED

    class Archived(GroundswellAggregate.Event):
        """The challenge is put away; what is left in the pot returns to the treasury."""

        returned_points: int

        def apply(self, challenge: Challenge) -> None:
            challenge.stage = Stage.ARCHIVED
            challenge.pot -= self.returned_points

    class RewardGranted(GroundswellAggregate.Event):
        """Points move from the pot to the beneficiaries, split exactly."""

        reason: str
        subject_kind: str
        subject_id: UUID
        amount: int
        shares: dict[str, int]

        def apply(self, challenge: Challenge) -> None:
            challenge.pot -= self.amount
            challenge.granted += self.amount
            for beneficiary in self.shares:
                challenge.rewarded.add((self.reason, str(self.subject_id), beneficiary))
            rank = prize_rank(self.reason)
            if rank is not None:
                challenge.prizes_awarded.add(rank)
                challenge.prize_winners.add(self.subject_id)

    def __init__(self, *, managers: list[str]) -> None:
        # The terms are set by Drafted.apply, the same code path as Edited.
        self.managers: list[str] = list(managers)
        self.stage = Stage.DRAFT
        self.pot = 0
        self.funded = 0
        self.granted = 0
        self.rewarded: set[tuple[str, str, str]] = set()
        self.prizes_awarded: set[int] = set()
        self.prize_winners: set[UUID] = set()

    def _set_terms(self, terms: dict[str, Any]) -> None:
        self.title: str = terms["title"]
        self.question: str = terms["question"]
        self.sponsor: str = terms["sponsor"]
        self.target_departments: list[str] = list(terms["target_departments"])
        self.submission_deadline: str = terms["submission_deadline"]
        self.decision_deadline_days: int = terms["decision_deadline_days"]
        self.policy = RewardPolicy(
            accepted_idea=terms["accepted_idea_points"],
            implemented_idea=terms["implemented_idea_points"],
            helpful_contribution=terms["helpful_contribution_points"],
            prizes=tuple(terms["prize_points"]),
        )

    def _scope(self) -> UUID | None:
        return self.id

    # -- commands ---------------------------------------------------------------------

    @classmethod
    def draft(
        cls, challenge_id: UUID, *, pot: int, actor: str, at: datetime, **terms: Any
    ) -> Challenge:
        """Draft a challenge, funding its pot from the treasury when ``pot`` > 0."""
        unknown = sorted(set(terms) - set(TERM_NAMES))
        if unknown:
            raise InvalidInput(f"a challenge has no term {unknown[0]!r}.", field=unknown[0])
        missing = [name for name in REQUIRED_TERMS if name not in terms]
        if missing:
            raise InvalidInput(f"a challenge needs {_a(missing[0])}.", field=missing[0])
        fields = checked_terms(**terms)
        pot = whole_points("pot", pot)
        challenge: Challenge = cls._begin(
            cls.Drafted,
            challenge_id,
            actor,
            at,
            challenge_id=challenge_id,
            managers=[actor],
            **fields,
        )
        if pot:
            challenge._record(cls.PotFunded, actor, at, points=pot)
        return challenge

    def edit(self, *, actor: str, at: datetime, **changes: Any) -> None:
        """Change some of the terms while draft; the terms not named stay as they are."""
        self.require_manager(actor, "edit it")
        self._require_stage({Stage.DRAFT}, "edited")
        unknown = sorted(set(changes) - set(TERM_NAMES))
        if unknown:
            raise InvalidInput(
                f"a challenge has no term {unknown[0]!r}; terms are {', '.join(TERM_NAMES)}.",
                field=unknown[0],
            )
        if not changes:
            raise InvalidInput("name at least one term to change.")
        self._record(self.Edited, actor, at, **checked_terms(**{**self.terms(), **changes}))

    def terms(self) -> dict[str, Any]:
        """The current terms, as the fields of ``Drafted`` and ``Edited`` name them."""
        return {
            "title": self.title,
            "question": self.question,
            "sponsor": self.sponsor,
            "target_departments": list(self.target_departments),
            "submission_deadline": self.submission_deadline,
            "decision_deadline_days": self.decision_deadline_days,
            "accepted_idea_points": self.policy.accepted_idea,
            "implemented_idea_points": self.policy.implemented_idea,
            "helpful_contribution_points": self.policy.helpful_contribution,
            "prize_points": list(self.policy.prizes),
        }

    def add_manager(self, manager: str, *, actor: str, at: datetime) -> None:
        self.require_manager(actor, "add a manager")
        self._require_stage(set(Stage) - {Stage.ARCHIVED}, "given another manager")
        if manager in self.managers:
            raise AlreadyDone(f"{manager} already manages this challenge.", field="manager")
        self._record(self.ManagerAdded, actor, at, manager=manager)

    def top_up(self, points: int, *, actor: str, at: datetime) -> None:
        self.require_manager(actor, "top up its pot")
        self._require_stage(set(Stage) - {Stage.ARCHIVED}, "topped up")
        self._record(
            self.PotFunded, actor, at, points=whole_points("points", points, positive=True)
        )

    def open(self, *, actor: str, at: datetime) -> None:
        self.require_manager(actor, "open it")
        self._require_stage({Stage.DRAFT}, "opened")
        if at.date().isoformat() > self.submission_deadline:
            raise InvalidInput(
                f"the submission deadline {self.submission_deadline} has already passed; "
                "edit it before opening.",
                field="submission_deadline",
            )
        self._record(self.Opened, actor, at)

    def move_to_review(self, *, actor: str, at: datetime) -> None:
        self.require_manager(actor, "move it to review")
        self._require_stage({Stage.OPEN}, "moved to review")
        self._record(self.MovedToReview, actor, at)

    def close(self, *, actor: str, at: datetime) -> None:
        self.require_manager(actor, "close it")
        self._require_stage({Stage.REVIEW}, "closed")
        self._record(self.Closed, actor, at)

    def archive(self, *, actor: str, at: datetime) -> None:
        """Put a closed challenge away, or discard a draft that will never open; either way
        what is left in the pot returns to the treasury (ideas exist only once opened)."""
        self.require_manager(actor, "archive it")
        self._require_stage(
            {Stage.DRAFT, Stage.CLOSED}, "archived (only a draft or a closed one is)"
        )
        self._record(self.Archived, actor, at, returned_points=self.pot)

    def grant_reward(
        self, reason: str, subject: RewardSubject, *, actor: str, at: datetime
    ) -> dict[str, int]:
        """Pay ``subject``'s beneficiaries what the policy names for ``reason``.

        Returns the shares, so the caller can credit each beneficiary's wallet in
        the same transaction.
        """
        self.require_manager(actor, "grant rewards")
        if self.stage not in REWARDING_STAGES:
            raise RewardRefused(f"nothing is rewarded in {_a(self.stage.value)} challenge.")
        if subject.challenge_id != self.id:
            raise RewardRefused(f"that {subject.kind} belongs to another challenge.")
        amount = self.policy.points_for(reason)
        if amount == 0:
            raise RewardRefused(
                f"the reward policy of {self.title!r} does not reward the {reward_reason(reason)}.",
                field="reason",
            )
        rank = prize_rank(reason)
        if rank is not None:
            if self.stage not in PRIZE_STAGES:
                raise RewardRefused("prizes are awarded once the challenge is in review or closed.")
            if rank in self.prizes_awarded:
                raise AlreadyRewarded(f"prize {rank} has already been awarded.", field="reason")
            if subject.id in self.prize_winners:
                raise AlreadyRewarded("this idea has already won a prize; one prize per idea.")
        if reason not in subject.qualifies_for:
            raise RewardRefused(
                f"the {subject.kind} is {subject.status}; it does not qualify for the reward "
                f"for the {reward_reason(reason)}.",
                field="reason",
            )
        if actor in subject.shares:
            raise RewardRefused("nobody rewards their own work; another manager must grant this.")
        repeated = sorted(
            b for b in subject.shares if (reason, str(subject.id), b) in self.rewarded
        )
        if repeated:
            raise AlreadyRewarded(
                f"{', '.join(repeated)} already received the reward for the "
                f"{reward_reason(reason)} for this {subject.kind}."
            )
        if amount > self.pot:
            raise PotTooSmall(
                f"the pot holds {self.pot} points; the award is {amount}. Top up the pot first."
            )
        # A team award of fewer points than members pays whole points to as many members as
        # it can (largest remainder, ties by handle); a 0-point share is no reward, so it is
        # neither recorded nor listed anywhere.
        shares = split_award(amount, subject.shares)
        ordered = {name: shares[name] for name in sorted(shares) if shares[name]}
        self._record(
            self.RewardGranted,
            actor,
            at,
            reason=reason,
            subject_kind=subject.kind,
            subject_id=subject.id,
            amount=amount,
            shares=ordered,
        )
        return ordered

    # -- rules other aggregates ask about ----------------------------------------------

    def is_manager(self, person: str) -> bool:
        return person in self.managers

    def require_manager(self, actor: str, doing: str) -> None:
        if actor not in self.managers:
            raise NotPermitted(f"only the managers of {self.title!r} may {doing}.")

    def require_open_for_submissions(self, at: datetime) -> None:
        if self.stage is not Stage.OPEN:
            raise WrongStage(
                f"{self.title!r} is {self.stage.value}; ideas go only into an open challenge."
            )
        if at.date().isoformat() > self.submission_deadline:
            raise WrongStage(f"submissions to {self.title!r} closed on {self.submission_deadline}.")

    def require_active(self, doing: str) -> None:
        if self.stage in (Stage.DRAFT, Stage.ARCHIVED):
            raise WrongStage(f"{self.title!r} is {self.stage.value}; nobody can {doing} now.")

    def _require_stage(self, allowed: set[Stage], what: str) -> None:
        if self.stage not in allowed:
            raise WrongStage(f"{self.title!r} is {self.stage.value} and cannot be {what}.")
