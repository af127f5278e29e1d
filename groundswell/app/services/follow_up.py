"""Commands of the follow-up: a manager's policy, and what the follow-up process records."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.challenge import Challenge
from domain.errors import AlreadyDone, NotFound
from domain.follow_up import FollowUp, PlannedStep, follow_up_id
from domain.follow_up_policy import FollowUpPolicy
from groundswell.app.application import GroundswellApplication, Receipt
from groundswell.app.services.unit_of_work import UnitOfWork


class FollowUpService(GroundswellApplication):
    def set_follow_up_policy(self, actor: str, challenge_id: UUID, **changes: Any) -> Receipt:
        """Change some terms of a challenge's follow-up policy; the others stay as they are."""

        def command(uow: UnitOfWork) -> UUID:
            challenge = uow.get(Challenge, challenge_id)
            challenge.require_manager(actor, "set its follow-up policy")
            policy = FollowUpPolicy.checked(**{**asdict(challenge.follow_up), **changes})
            if policy.sponsor_handle:
                uow.person(policy.sponsor_handle)  # the sponsor must be a registered person
            challenge.set_follow_up_policy(policy, actor=actor, at=uow.now)
            return challenge_id

        return self.run(command)

    def follow_up_policy(self, challenge_id: UUID) -> FollowUpPolicy:
        return self.load(Challenge, challenge_id).follow_up

    def record_follow_up_step(self, planned: PlannedStep) -> Receipt:
        """Record one reminder or escalation, once: a step already stored (by this process
        before a crash, or by a twin running at the same time) changes nothing."""

        def command(uow: UnitOfWork) -> UUID | None:
            found = _follow_up(uow, planned.item_key)
            if found is None:
                found = FollowUp.open(
                    challenge_id=planned.challenge_id,
                    item_key=planned.item_key,
                    item_kind=planned.item_kind,
                    subject_id=planned.subject_id,
                    title=planned.title,
                    author=planned.author,
                    due_at=planned.due_at,
                    at=uow.now,
                )
                uow.add(found)
            try:
                found.record_step(
                    planned.step,
                    planned.to,
                    due_at=planned.due_at,
                    reason=planned.reason,
                    at=uow.now,
                )
            except AlreadyDone:
                return None
            return found.id

        return self.run(command)

    def close_follow_up(self, item_key: str, answered_at: datetime, answered_by: str) -> Receipt:
        """Close an item's follow-up once it was answered (no-op if already closed)."""

        def command(uow: UnitOfWork) -> UUID | None:
            found = _follow_up(uow, item_key)
            if found is None or found.closed:
                return None
            found.close(answered_at=answered_at, answered_by=answered_by, at=uow.now)
            return found.id

        return self.run(command)


def _follow_up(uow: UnitOfWork, item_key: str) -> FollowUp | None:
    try:
        return uow.get(FollowUp, follow_up_id(item_key))
    except NotFound:
        return None
