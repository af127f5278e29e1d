"""Commands on contributions: comment, build on, endorse, review score, helpful, hide."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain.challenge import Challenge
from domain.contribution import ONCE_PER_PERSON, Contribution, ContributionKind, once_per_person_id
from domain.errors import AlreadyDone
from domain.idea import Idea
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork


class ContributionService(GroundswellApplication):
    def comment(self, actor: str, idea_id: UUID, body: str) -> Receipt:
        return self._contribute(actor, idea_id, ContributionKind.COMMENT, body=body)

    def build_on(self, actor: str, idea_id: UUID, body: str, linked_idea_id: UUID) -> Receipt:
        """Add to ``idea_id`` by pointing at ``linked_idea_id``, which builds on it."""
        return self._contribute(
            actor, idea_id, ContributionKind.BUILD_ON, body=body, linked_idea_id=linked_idea_id
        )

    def endorse(self, actor: str, idea_id: UUID) -> Receipt:
        return self._contribute(actor, idea_id, ContributionKind.ENDORSEMENT)

    def give_review_score(self, actor: str, idea_id: UUID, score: int, body: str = "") -> Receipt:
        return self._contribute(
            actor, idea_id, ContributionKind.REVIEW_SCORE, body=body, score=score
        )

    def mark_helpful(self, actor: str, contribution_id: UUID) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            contribution = uow.get(Contribution, contribution_id)
            challenge = uow.get(Challenge, contribution.challenge_id)
            contribution.mark_helpful(challenge, actor=actor, at=uow.now)
            return contribution_id

        return self.run(command)

    def hide_contribution(self, actor: str, contribution_id: UUID, reason: str) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            contribution = uow.get(Contribution, contribution_id)
            challenge = uow.get(Challenge, contribution.challenge_id)
            contribution.hide(challenge, reason=reason, actor=actor, at=uow.now)
            return contribution_id

        return self.run(command)

    def contribution(self, contribution_id: UUID) -> Contribution:
        return self.load(Contribution, contribution_id)

    def _contribute(
        self,
        actor: str,
        idea_id: UUID,
        kind: ContributionKind,
        *,
        body: str = "",
        score: int | None = None,
        linked_idea_id: UUID | None = None,
    ) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            author = uow.person(actor)
            idea = uow.get(Idea, idea_id)
            challenge = uow.get(Challenge, idea.challenge_id)
            if kind in ONCE_PER_PERSON:
                new_id = once_per_person_id(kind, idea_id, actor)
                if uow.exists(new_id):
                    raise AlreadyDone(f"{actor} has already given this idea their {kind.value}.")
            else:
                new_id = uuid4()
            linked = uow.get(Idea, linked_idea_id) if linked_idea_id is not None else None
            uow.add(
                Contribution.add(
                    new_id,
                    kind,
                    idea,
                    challenge,
                    author,
                    body=body,
                    score=score,
                    linked_idea=linked,
                    at=uow.now,
                )
            )
            return new_id

        return self.run(command)
