"""Commands on ideas: submission, team, review, decision, merge, implementation."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from domain.challenge import Challenge
from domain.contribution import ContributionKind, once_per_person_id
from domain.errors import AlreadyDone
from domain.idea import Idea, IdeaStatus
from domain.person import person_id
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork, require_version

IdeaChange = Callable[[Idea, Challenge, UnitOfWork], None]


class IdeaService(GroundswellApplication):
    def submit_idea(
        self,
        actor: str,
        challenge_id: UUID,
        *,
        title: str,
        description: str,
        idea_id: UUID | None = None,
    ) -> Receipt:
        new_id = idea_id or uuid4()

        def command(uow: UnitOfWork) -> UUID:
            uow.preload(challenge_id, person_id(actor))
            challenge = uow.get(Challenge, challenge_id)
            author = uow.person(actor)
            # Only the caller's own id can be taken already (a uuid4 of ours is new, and the
            # store's unique (id, version) refuses a clash in any case): one read less.
            if idea_id is not None and uow.exists(idea_id):
                raise AlreadyDone(f"an idea with id {new_id} exists already.", field="idea_id")
            uow.add(
                Idea.submit(
                    new_id, challenge, author, title=title, description=description, at=uow.now
                )
            )
            return new_id

        return self.run(command)

    def edit_idea(
        self,
        actor: str,
        idea_id: UUID,
        *,
        title: str,
        description: str,
        expected_version: int | None = None,
    ) -> Receipt:
        """Edit an idea; with ``expected_version``, only if nobody changed it since."""

        def change(idea: Idea, challenge: Challenge, uow: UnitOfWork) -> None:
            require_version(idea, expected_version)
            idea.edit(challenge, title=title, description=description, actor=actor, at=uow.now)

        return self._on_idea(idea_id, change)

    def withdraw_idea(self, actor: str, idea_id: UUID) -> Receipt:
        return self._on_idea(idea_id, lambda i, c, uow: i.withdraw(c, actor=actor, at=uow.now))

    def invite_to_team(self, actor: str, idea_id: UUID, invitee: str) -> Receipt:
        def change(idea: Idea, challenge: Challenge, uow: UnitOfWork) -> None:
            endorsement = once_per_person_id(ContributionKind.ENDORSEMENT, idea.id, invitee)
            idea.invite(
                challenge,
                uow.person(invitee),
                has_endorsed=uow.exists(endorsement),
                actor=actor,
                at=uow.now,
            )

        return self._on_idea(idea_id, change)

    def join_team(self, actor: str, idea_id: UUID) -> Receipt:
        """Accept an invitation to an idea's team (only the invitee can)."""

        def change(idea: Idea, challenge: Challenge, uow: UnitOfWork) -> None:
            endorsement = once_per_person_id(ContributionKind.ENDORSEMENT, idea.id, actor)
            idea.join(
                challenge, uow.person(actor), has_endorsed=uow.exists(endorsement), at=uow.now
            )

        return self._on_idea(idea_id, change)

    def ask_reviewer(self, actor: str, idea_id: UUID, reviewer: str) -> Receipt:
        return self._on_idea(
            idea_id,
            lambda i, c, uow: i.ask_reviewer(c, uow.person(reviewer), actor=actor, at=uow.now),
        )

    def start_review(self, actor: str, idea_id: UUID) -> Receipt:
        return self._on_idea(idea_id, lambda i, c, uow: i.start_review(c, actor=actor, at=uow.now))

    def accept_idea(self, actor: str, idea_id: UUID, note: str = "") -> Receipt:
        return self._on_idea(
            idea_id, lambda i, c, uow: i.accept(c, note=note, actor=actor, at=uow.now)
        )

    def reject_idea(self, actor: str, idea_id: UUID, reason: str) -> Receipt:
        return self._on_idea(
            idea_id, lambda i, c, uow: i.reject(c, reason=reason, actor=actor, at=uow.now)
        )

    def decide_idea(self, actor: str, idea_id: UUID, *, accept: bool, words: str = "") -> Receipt:
        """Accept (``words``: the note) or reject (``words``: the reason) in one step: a
        submitted idea's review starts first, in the same transaction, so a refused
        decision writes nothing at all."""

        def change(idea: Idea, challenge: Challenge, uow: UnitOfWork) -> None:
            if idea.status == IdeaStatus.SUBMITTED:
                idea.start_review(challenge, actor=actor, at=uow.now)
            if accept:
                idea.accept(challenge, note=words, actor=actor, at=uow.now)
            else:
                idea.reject(challenge, reason=words, actor=actor, at=uow.now)

        return self._on_idea(idea_id, change)

    def merge_idea(self, actor: str, duplicate_id: UUID, into_id: UUID) -> Receipt:
        """Merge a duplicate into another idea; both ideas record the merge."""
        return self._on_idea(
            duplicate_id,
            lambda i, c, uow: i.merge_into(uow.get(Idea, into_id), c, actor=actor, at=uow.now),
        )

    def undo_merge(self, actor: str, duplicate_id: UUID) -> Receipt:
        def change(idea: Idea, challenge: Challenge, uow: UnitOfWork) -> None:
            if idea.merged_into is None:
                idea.undo_merge(idea, challenge, actor=actor, at=uow.now)  # refuses: not merged
            else:
                target = uow.get(Idea, idea.merged_into)
                idea.undo_merge(target, challenge, actor=actor, at=uow.now)

        return self._on_idea(duplicate_id, change)

    def take_over_idea(
        self,
        actor: str,
        idea_id: UUID,
        *,
        core_process: str,
        external_ref: str = "",
        owner: str | None = None,
    ) -> Receipt:
        """A manager hands an accepted idea over to ``owner`` (accepting that owner's request,
        if they made one); an owner acting for themselves asks to take it over, and the
        managers decide."""
        return self._on_idea(
            idea_id,
            lambda i, c, uow: i.take_over(
                c,
                uow.person(owner or actor),
                core_process=core_process,
                external_ref=external_ref,
                actor=actor,
                at=uow.now,
            ),
        )

    def reassign_owner(self, actor: str, idea_id: UUID, owner: str) -> Receipt:
        """A manager gives an idea in implementation to another owner."""
        return self._on_idea(
            idea_id,
            lambda i, c, uow: i.reassign_owner(c, uow.person(owner), actor=actor, at=uow.now),
        )

    def report_progress(self, actor: str, idea_id: UUID, note: str) -> Receipt:
        return self._on_idea(
            idea_id, lambda i, c, uow: i.report_progress(note, actor=actor, at=uow.now)
        )

    def mark_implemented(self, actor: str, idea_id: UUID, impact: str) -> Receipt:
        return self._on_idea(
            idea_id, lambda i, c, uow: i.mark_implemented(impact, actor=actor, at=uow.now)
        )

    def abandon_idea(self, actor: str, idea_id: UUID, reason: str) -> Receipt:
        return self._on_idea(idea_id, lambda i, c, uow: i.abandon(reason, actor=actor, at=uow.now))

    def idea(self, idea_id: UUID) -> Idea:
        return self.load(Idea, idea_id)

    def _on_idea(self, idea_id: UUID, change: IdeaChange) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            idea = uow.get(Idea, idea_id)
            change(idea, uow.get(Challenge, idea.challenge_id), uow)
            return idea_id

        return self.run(command)
