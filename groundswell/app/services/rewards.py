"""Granting rewards: the challenge pays from its pot, each beneficiary's wallet is credited."""

from __future__ import annotations

from uuid import UUID

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.errors import InvalidInput
from domain.idea import Idea
from domain.reward_policy import RewardReason, prize_rank
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork

IDEA_REASONS = {RewardReason.IDEA_ACCEPTED.value, RewardReason.IDEA_IMPLEMENTED.value}


class RewardService(GroundswellApplication):
    def grant_reward(self, actor: str, reason: str, subject_id: UUID) -> Receipt:
        """Grant what the challenge's policy names for ``reason`` on an idea or contribution.

        The challenge's ``RewardGranted`` and every beneficiary's ``RewardReceived`` are
        saved in one transaction, guarded by the versions of all of them: the pot is
        never overspent and nothing is paid twice, however often this is retried.
        """

        def command(uow: UnitOfWork) -> UUID:
            if reason in IDEA_REASONS or prize_rank(reason) is not None:
                subject = uow.get(Idea, subject_id).as_reward_subject()
            elif reason == RewardReason.HELPFUL_CONTRIBUTION.value:
                subject = uow.get(Contribution, subject_id).as_reward_subject()
            else:
                known = ", ".join([r.value for r in RewardReason] + ["prize-N"])
                raise InvalidInput(
                    f"unknown reward reason {reason!r}; use one of {known}.", field="reason"
                )
            challenge = uow.get(Challenge, subject.challenge_id)
            shares = challenge.grant_reward(reason, subject, actor=actor, at=uow.now)
            for handle, points in shares.items():
                if points:
                    uow.person(handle).receive_reward(
                        challenge_id=challenge.id,
                        reason=reason,
                        subject_id=subject.id,
                        points=points,
                        actor=actor,
                        at=uow.now,
                    )
            return challenge.id

        return self.run(command)

    def award_prize(self, actor: str, idea_id: UUID, rank: int) -> Receipt:
        return self.grant_reward(actor, f"prize-{rank}", idea_id)
