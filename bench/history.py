"""Writes a large, realistic history straight through the domain, saved in big batches.

The aggregates' own methods make every event (so every rule is checked); only the
saving is batched, which is what makes hundreds of thousands of events quick to set up.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from domain.base import GroundswellAggregate
from domain.challenge import Challenge
from domain.contribution import Contribution, ContributionKind, once_per_person_id
from domain.idea import Idea
from domain.person import Person
from groundswell.app.engine import Engine

DEPARTMENTS = ["Production", "Sales", "R&D", "Finance", "HR", "Logistics", "IT", "Service"]


def write_history(
    engine: Engine, target_events: int, seed: int = 7, progress: Callable[[int], None] | None = None
) -> int:
    """Store about ``target_events`` events; returns how many were stored."""
    rng = random.Random(seed)
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    people = [
        Person.register(
            handle=f"p{n:04d}",
            name=f"Person {n}",
            department=rng.choice(DEPARTMENTS),
            pseudonym=f"Star {n}" if n % 7 == 0 else None,
            roles=["manager", "owner"] if n < 10 else ["contributor"],
            actor="admin",
            at=at,
        )
        for n in range(600)
    ]
    stored = _save(engine, people)
    by_handle = {p.handle: p for p in people}
    managers, crowd = people[:10], people[10:]
    while stored < target_events:
        at += timedelta(hours=1)
        manager = rng.choice(managers)
        challenge = Challenge.draft(
            uuid4(),
            pot=100_000,
            actor=manager.handle,
            at=at,
            title="How can we save energy?",
            question="Where do we waste energy today?",
            sponsor="COO",
            target_departments=rng.sample(DEPARTMENTS, 3),
            submission_deadline="2026-12-31",
            decision_deadline_days=30,
            accepted_idea_points=50,
            implemented_idea_points=200,
            helpful_contribution_points=10,
            prize_points=[500, 300],
        )
        challenge.open(actor=manager.handle, at=at)
        batch: list[GroundswellAggregate] = [challenge]
        for _ in range(60):
            author = rng.choice(crowd)
            idea = Idea.submit(
                uuid4(),
                challenge,
                author,
                title="Switch off idle lines",
                description="Idle lines draw power overnight.",
                at=at,
            )
            batch.append(idea)
            for member in rng.sample(crowd, rng.randint(0, 2)):
                if member.handle not in idea.team:
                    idea.invite(challenge, member, has_endorsed=False, actor=author.handle, at=at)
                    idea.join(challenge, member, has_endorsed=False, at=at)
            for contributor in rng.sample(crowd, rng.randint(1, 6)):
                if contributor.handle in idea.team:
                    continue
                kind = rng.choice([ContributionKind.COMMENT, ContributionKind.ENDORSEMENT])
                cid = (
                    once_per_person_id(kind, idea.id, contributor.handle)
                    if kind is ContributionKind.ENDORSEMENT
                    else uuid4()
                )
                contribution = Contribution.add(
                    cid, kind, idea, challenge, contributor, body="Good point, and also...", at=at
                )
                batch.append(contribution)
                if kind is ContributionKind.COMMENT and rng.random() < 0.3:
                    contribution.mark_helpful(challenge, actor=manager.handle, at=at)
                    _pay(
                        challenge,
                        contribution.as_reward_subject(),
                        "helpful-contribution",
                        manager.handle,
                        at,
                        by_handle,
                        batch,
                    )
            idea.start_review(challenge, actor=manager.handle, at=at)
            if rng.random() < 0.4:
                idea.accept(challenge, note="Worth doing.", actor=manager.handle, at=at)
                _pay(
                    challenge,
                    idea.as_reward_subject(),
                    "idea-accepted",
                    manager.handle,
                    at,
                    by_handle,
                    batch,
                )
                owner = rng.choice([m for m in managers if m is not manager])
                idea.take_over(
                    challenge,
                    owner,
                    core_process="Maintenance",
                    external_ref="JIRA-1",
                    actor=manager.handle,  # the managers hand an accepted idea over
                    at=at,
                )
                idea.report_progress("Pilot running.", actor=owner.handle, at=at)
                idea.mark_implemented("Saves 3% energy.", actor=owner.handle, at=at)
            elif rng.random() < 0.5:
                idea.reject(
                    challenge, reason="Already done elsewhere.", actor=manager.handle, at=at
                )
        challenge.move_to_review(actor=manager.handle, at=at)
        touched = {id(a) for a in batch}
        batch += [p for p in people if p.pending_events and id(p) not in touched]
        stored += _save(engine, batch)
        if progress:
            progress(stored)
    return stored


def _pay(challenge, subject, reason, manager, at, by_handle, batch) -> None:  # type: ignore[no-untyped-def]
    if manager in subject.shares:
        return
    for handle, points in challenge.grant_reward(reason, subject, actor=manager, at=at).items():
        by_handle[handle].receive_reward(
            challenge_id=challenge.id,
            reason=reason,
            subject_id=subject.id,
            points=points,
            actor=manager,
            at=at,
        )


def _save(engine: Engine, aggregates: list[GroundswellAggregate]) -> int:
    pending = [a for a in aggregates if a.pending_events]
    if not pending:
        return 0
    return len(engine.save(*pending))
