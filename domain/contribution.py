"""The Contribution aggregate: a comment, build-on, endorsement or review score on an idea."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.base import GroundswellAggregate
from domain.challenge import Challenge
from domain.errors import AlreadyDone, InvalidInput, NotPermitted, WrongStage
from domain.idea import Idea
from domain.person import Person
from domain.reward_policy import RewardReason
from domain.reward_subject import RewardSubject
from domain.validation import text


class ContributionKind(StrEnum):
    COMMENT = "comment"
    BUILD_ON = "build-on"
    ENDORSEMENT = "endorsement"
    REVIEW_SCORE = "review-score"


# Kinds a person may give an idea only once; their ids follow from (idea, person),
# so a second attempt collides in the event store even under concurrency.
ONCE_PER_PERSON = frozenset({ContributionKind.ENDORSEMENT, ContributionKind.REVIEW_SCORE})


def once_per_person_id(kind: ContributionKind, idea_id: UUID, handle: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"groundswell:{kind.value}:{idea_id}:{handle}")


class Contribution(GroundswellAggregate):
    """One person's input on one idea; it can be marked helpful, hidden and rewarded."""

    class Added(GroundswellAggregate.Created):
        idea_id: UUID
        kind: str
        author: str
        department: str
        body: str
        score: int | None
        linked_idea_id: UUID | None

    class MarkedHelpful(GroundswellAggregate.Event):
        """Carries whose contribution it is, so readers need not look it up."""

        author: str
        kind: str

        def apply(self, contribution: Contribution) -> None:
            contribution.helpful = True

    class Hidden(GroundswellAggregate.Event):
        """Moderation: hidden from boards, never deleted from history."""

        reason: str
        author: str
        kind: str

        def apply(self, contribution: Contribution) -> None:
            contribution.hidden = True
            contribution.hidden_reason = self.reason

    def __init__(
        self,
        *,
        event_id: UUID,
        actor: str,
        challenge_id: UUID | None,
        idea_id: UUID,
        kind: str,
        author: str,
        department: str,
        body: str,
        score: int | None,
        linked_idea_id: UUID | None,
    ) -> None:
        assert challenge_id is not None
        self.challenge_id: UUID = challenge_id
        self.idea_id = idea_id
        self.kind = ContributionKind(kind)
        self.author = author
        self.department = department
        self.body = body
        self.score = score
        self.linked_idea_id = linked_idea_id
        self.helpful = False
        self.hidden = False
        self.hidden_reason: str | None = None

    def _scope(self) -> UUID | None:
        return self.challenge_id

    @classmethod
    def add(
        cls,
        contribution_id: UUID,
        kind: ContributionKind,
        idea: Idea,
        challenge: Challenge,
        author: Person,
        *,
        body: str = "",
        score: int | None = None,
        linked_idea: Idea | None = None,
        at: datetime,
    ) -> Contribution:
        """Check the rules for ``kind`` and create the contribution."""
        challenge.require_active("contribute")
        idea.require_open_for_input()
        author.require_can_take_part("contribute")
        if kind in ONCE_PER_PERSON and contribution_id != once_per_person_id(
            kind, idea.id, author.handle
        ):
            raise InvalidInput(f"a {kind.value} is addressed by idea and person.", field="kind")
        required_body = kind in (ContributionKind.COMMENT, ContributionKind.BUILD_ON)
        checked_body = text("body", body, required=required_body)
        if kind is ContributionKind.ENDORSEMENT and author.handle in idea.team:
            raise NotPermitted("the idea's own team cannot endorse it.")
        if kind is ContributionKind.REVIEW_SCORE:
            if author.handle not in idea.reviewers:
                raise NotPermitted(f"{author.handle} was not asked to review this idea.")
            if author.handle in idea.team:
                raise NotPermitted("a team member cannot score their own idea.")
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise InvalidInput("a review score is a whole number from 1 to 5.", field="score")
        elif score is not None:
            raise InvalidInput(f"a {kind.value} carries no score.", field="score")
        linked_id: UUID | None = None
        if kind is ContributionKind.BUILD_ON:
            if linked_idea is None:
                raise InvalidInput(
                    "building on needs the idea it builds on.", field="linked_idea_id"
                )
            if linked_idea.id == idea.id:
                raise InvalidInput("an idea cannot build on itself.", field="linked_idea_id")
            linked_id = linked_idea.id
        elif linked_idea is not None:
            raise InvalidInput(f"a {kind.value} links no other idea.", field="linked_idea_id")
        return cls._begin(
            cls.Added,
            contribution_id,
            author.handle,
            at,
            challenge_id=challenge.id,
            idea_id=idea.id,
            kind=kind.value,
            author=author.handle,
            department=author.department,
            body=checked_body,
            score=score,
            linked_idea_id=linked_id,
        )

    def mark_helpful(self, challenge: Challenge, *, actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "mark contributions helpful")
        challenge.require_active("mark contributions helpful")
        if actor == self.author:
            raise NotPermitted("nobody marks their own contribution helpful.")
        if self.hidden:
            raise WrongStage(
                "this contribution is hidden; a hidden contribution is not marked helpful."
            )
        if self.helpful:
            raise AlreadyDone("this contribution is already marked helpful.")
        self._record(self.MarkedHelpful, actor, at, author=self.author, kind=self.kind.value)

    def hide(self, challenge: Challenge, *, reason: str, actor: str, at: datetime) -> None:
        challenge.require_manager(actor, "moderate contributions")
        if self.hidden:
            raise AlreadyDone("this contribution is already hidden.")
        self._record(
            self.Hidden,
            actor,
            at,
            reason=text("reason", reason),
            author=self.author,
            kind=self.kind.value,
        )

    def as_reward_subject(self) -> RewardSubject:
        qualifies = set()
        if self.helpful and not self.hidden:
            qualifies.add(RewardReason.HELPFUL_CONTRIBUTION.value)
        status = "hidden" if self.hidden else ("helpful" if self.helpful else "not marked helpful")
        return RewardSubject(
            kind="contribution",
            id=self.id,
            challenge_id=self.challenge_id,
            status=status,
            qualifies_for=frozenset(qualifies),
            shares={self.author: 1},
        )
