"""What the challenge needs to know about the thing a reward is for."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class RewardSubject:
    """An idea or contribution as seen by the reward rules.

    ``qualifies_for`` lists the reasons its current state makes it eligible for;
    ``shares`` weights the people who would receive the award (a team splits it).
    ``status`` is said back to the manager when the subject does not qualify.
    """

    kind: str
    id: UUID
    challenge_id: UUID
    status: str
    qualifies_for: frozenset[str]
    shares: dict[str, int]
