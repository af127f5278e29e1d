"""Commands an innovation manager gives a challenge."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from domain.challenge import Challenge
from domain.errors import AlreadyDone
from domain.follow_up_policy import FollowUpPolicy
from domain.person import Role
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork, require_version


class ChallengeService(GroundswellApplication):
    def draft_challenge(
        self,
        actor: str,
        *,
        pot: int = 0,
        challenge_id: UUID | None = None,
        follow_up: dict[str, Any] | None = None,
        **terms: Any,
    ) -> Receipt:
        """Draft a challenge; ``terms`` are title, question, sponsor, target_departments,
        submission_deadline, decision_deadline_days and the reward policy's points;
        ``follow_up`` the follow-up policy's terms that differ from the defaults."""
        new_id = challenge_id or uuid4()
        policy = None if follow_up is None else FollowUpPolicy.checked(**follow_up)

        def command(uow: UnitOfWork) -> UUID:
            uow.person(actor).require_role(Role.MANAGER, "draft a challenge")
            # Only the caller's own id can be taken already (see submit_idea).
            if challenge_id is not None and uow.exists(challenge_id):
                raise AlreadyDone(
                    f"a challenge with id {new_id} exists already.", field="challenge_id"
                )
            if policy is not None and policy.sponsor_handle:
                uow.person(policy.sponsor_handle)  # the sponsor must be a registered person
            uow.add(
                Challenge.draft(new_id, pot=pot, actor=actor, at=uow.now, follow_up=policy, **terms)
            )
            return new_id

        return self.run(command)

    def edit_challenge(
        self, actor: str, challenge_id: UUID, *, expected_version: int | None = None, **terms: Any
    ) -> Receipt:
        """Change terms of a draft; with ``expected_version``, only if nobody changed it since."""

        def change(challenge: Challenge, uow: UnitOfWork) -> None:
            require_version(challenge, expected_version)
            challenge.edit(actor=actor, at=uow.now, **terms)

        return self._on_challenge(challenge_id, change)

    def add_manager(self, actor: str, challenge_id: UUID, manager: str) -> Receipt:
        def change(challenge: Challenge, uow: UnitOfWork) -> None:
            uow.person(manager).require_role(Role.MANAGER, "manage a challenge")
            challenge.add_manager(manager, actor=actor, at=uow.now)

        return self._on_challenge(challenge_id, change)

    def top_up_pot(self, actor: str, challenge_id: UUID, points: int) -> Receipt:
        return self._on_challenge(
            challenge_id, lambda c, uow: c.top_up(points, actor=actor, at=uow.now)
        )

    def open_challenge(self, actor: str, challenge_id: UUID) -> Receipt:
        return self._on_challenge(challenge_id, lambda c, uow: c.open(actor=actor, at=uow.now))

    def move_challenge_to_review(self, actor: str, challenge_id: UUID) -> Receipt:
        return self._on_challenge(
            challenge_id, lambda c, uow: c.move_to_review(actor=actor, at=uow.now)
        )

    def close_challenge(self, actor: str, challenge_id: UUID) -> Receipt:
        return self._on_challenge(challenge_id, lambda c, uow: c.close(actor=actor, at=uow.now))

    def archive_challenge(self, actor: str, challenge_id: UUID) -> Receipt:
        return self._on_challenge(challenge_id, lambda c, uow: c.archive(actor=actor, at=uow.now))

    def challenge(self, challenge_id: UUID) -> Challenge:
        return self.load(Challenge, challenge_id)

    def _on_challenge(self, challenge_id: UUID, change: Any) -> Receipt:
        def command(uow: UnitOfWork) -> UUID:
            challenge = uow.get(Challenge, challenge_id)
            change(challenge, uow)
            return challenge_id

        return self.run(command)
