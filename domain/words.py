"""Plain words for the codes people would otherwise read: reward reasons, ledger entry
kinds, and contribution kinds.

The codes stay what the API and the events carry (``idea-accepted``, ``prize-1``,
``split share``); everything a person reads (pages, CLI tables, notifications) says them
with these words. One mapping, here in ``domain`` because the notifications projection
writes sentences with it and projections import only the domain.
"""

from __future__ import annotations

from domain.reward_policy import RewardReason, prize_rank

REWARD_REASONS = {
    RewardReason.IDEA_ACCEPTED.value: "accepted idea",
    RewardReason.IDEA_IMPLEMENTED.value: "implemented idea",
    RewardReason.HELPFUL_CONTRIBUTION.value: "helpful contribution",
}
ENTRY_KINDS = {
    "grant": "reward",
    "split share": "team's share of a reward",
    "redemption": "redeemed in the store",
    "funding": "pot funded",
    "return": "returned from a pot",
}
CONTRIBUTION_KINDS = {
    "comment": "comment",
    "build-on": "follow-on idea",
    "endorsement": "endorsement",
    "review-score": "review score",
}


def ordinal(rank: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    if rank % 100 in (11, 12, 13):
        return f"{rank}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def reward_reason(code: str | None) -> str:
    """``idea-accepted`` → 'accepted idea', ``prize-2`` → '2nd prize'; anything else as it is
    (a redemption's reason is the store item's name, already words)."""
    if not code:
        return ""
    rank = prize_rank(code)
    if rank is not None:
        return f"{ordinal(rank)} prize"
    return REWARD_REASONS.get(code, code)


def entry_kind(code: str) -> str:
    return ENTRY_KINDS.get(code, code)


def contribution_kind(code: str) -> str:
    return CONTRIBUTION_KINDS.get(code, code)


def ledger_entry(kind: str, reason: str | None) -> str:
    """What one ledger entry was for, in one phrase: 'accepted idea', 'accepted idea (the
    team's share)', 'redeemed: Book of your choice', 'pot funded'."""
    if kind == "redemption":
        return f"redeemed: {reason}" if reason else entry_kind(kind)
    if kind in ("grant", "split share") and reason:
        said = reward_reason(reason)
        return f"{said} (the team's share)" if kind == "split share" else said
    return entry_kind(kind)


def treasury_explained(balance: int, redeemed: int) -> str:
    """The treasury's balance with what it means: the treasury issues the points that fund
    the pots, so its balance is minus what it issued (net of what archived pots returned)."""
    return (
        f"Treasury balance {balance} points. The treasury issues the points that fund the "
        f"challenges' pots, so its balance is minus what it issued: {-balance} points, net "
        f"of what archived challenges returned. {redeemed} points were redeemed."
    )
