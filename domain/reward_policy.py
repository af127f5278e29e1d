"""What a challenge rewards, and how many points each thing is worth."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from domain.errors import InvalidInput
from domain.validation import whole_points

MAX_PRIZES = 10


class RewardReason(StrEnum):
    """Why points are granted. Prizes carry their rank: ``prize-1``, ``prize-2``..."""

    IDEA_ACCEPTED = "idea-accepted"
    IDEA_IMPLEMENTED = "idea-implemented"
    HELPFUL_CONTRIBUTION = "helpful-contribution"


def prize_reason(rank: int) -> str:
    return f"prize-{rank}"


PRIZE_REASON = re.compile(r"prize-([1-9][0-9]{0,2})")


def prize_rank(reason: str) -> int | None:
    """The rank named by a prize reason, or None when the reason is not a prize."""
    found = PRIZE_REASON.fullmatch(reason)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class RewardPolicy:
    """Points per reason; a zero means the policy does not reward that reason."""

    accepted_idea: int = 0
    implemented_idea: int = 0
    helpful_contribution: int = 0
    prizes: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def checked(
        cls,
        accepted_idea: object = 0,
        implemented_idea: object = 0,
        helpful_contribution: object = 0,
        prizes: object = (),
    ) -> RewardPolicy:
        if not isinstance(prizes, (list, tuple)) or len(prizes) > MAX_PRIZES:
            raise InvalidInput(
                f"prizes must be a list of at most {MAX_PRIZES} amounts.", field="prizes"
            )
        return cls(
            accepted_idea=whole_points("accepted_idea_points", accepted_idea),
            implemented_idea=whole_points("implemented_idea_points", implemented_idea),
            helpful_contribution=whole_points("helpful_contribution_points", helpful_contribution),
            prizes=tuple(whole_points("prizes", p, positive=True) for p in prizes),
        )

    def points_for(self, reason: str) -> int:
        """The award the policy names for ``reason``; 0 when it names none."""
        rank = prize_rank(reason)
        if rank is not None:
            return self.prizes[rank - 1] if 1 <= rank <= len(self.prizes) else 0
        return {
            RewardReason.IDEA_ACCEPTED.value: self.accepted_idea,
            RewardReason.IDEA_IMPLEMENTED.value: self.implemented_idea,
            RewardReason.HELPFUL_CONTRIBUTION.value: self.helpful_contribution,
        }.get(reason, 0)
