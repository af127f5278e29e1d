"""The one mapping from the codes in the API and events to the words people read."""

from __future__ import annotations

import re

import pytest

from domain.reward_policy import RewardReason, prize_reason
from domain.words import (
    CONTRIBUTION_KINDS,
    contribution_kind,
    ledger_entry,
    ordinal,
    reward_reason,
    treasury_explained,
)

CODE = r"^[a-z]+(-[a-z0-9]+)+$"  # what a code looks like: idea-accepted, prize-1, build-on


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("idea-accepted", "accepted idea"),
        ("idea-implemented", "implemented idea"),
        ("helpful-contribution", "helpful contribution"),
        ("prize-1", "1st prize"),
        ("prize-2", "2nd prize"),
        ("prize-3", "3rd prize"),
        ("prize-11", "11th prize"),
        ("prize-22", "22nd prize"),
    ],
)
def test_reward_reasons_in_words(code: str, said: str) -> None:
    assert reward_reason(code) == said


def test_every_reward_reason_and_contribution_kind_has_words() -> None:
    for reason in [*RewardReason, prize_reason(7)]:
        assert not re.match(CODE, reward_reason(reason)), reason
    for kind in ("comment", "build-on", "endorsement", "review-score"):
        assert not re.match(CODE, contribution_kind(kind)), kind
    assert set(CONTRIBUTION_KINDS) == {"comment", "build-on", "endorsement", "review-score"}


def test_ledger_entries_in_words() -> None:
    assert ledger_entry("grant", "idea-accepted") == "accepted idea"
    assert ledger_entry("split share", "prize-1") == "1st prize (the team's share)"
    assert ledger_entry("redemption", "Book of your choice") == "redeemed: Book of your choice"
    assert ledger_entry("funding", None) == "pot funded"
    assert ledger_entry("return", None) == "returned from a pot"


def test_the_treasury_explained() -> None:
    said = treasury_explained(-1000, 40)
    assert said.startswith("Treasury balance -1000 points.")
    assert "issues the points that fund the challenges' pots" in said
    assert "minus what it issued: 1000 points" in said and "40 points were redeemed" in said


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "101st", "111th",
    ]  # fmt: skip
