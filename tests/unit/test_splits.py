"""Exact splits of a team award in whole points (largest remainder, tie-break by name)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.splits import split_award

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz._-0123456789", min_size=1, max_size=12)
weights = st.dictionaries(names, st.integers(min_value=1, max_value=1_000), min_size=1, max_size=12)
totals = st.integers(min_value=0, max_value=1_000_000)


@pytest.mark.parametrize(
    ("total", "team", "expected"),
    [
        (100, {"ann": 1, "bob": 1, "cat": 1}, {"ann": 34, "bob": 33, "cat": 33}),
        (100, {"cat": 1, "bob": 1, "ann": 1}, {"ann": 34, "bob": 33, "cat": 33}),
        (101, {"ann": 1, "bob": 1, "cat": 1}, {"ann": 34, "bob": 34, "cat": 33}),
        (99, {"ann": 1, "bob": 1, "cat": 1}, {"ann": 33, "bob": 33, "cat": 33}),
        (10, {"ann": 1}, {"ann": 10}),
        (2, {"ann": 1, "bob": 1, "cat": 1}, {"ann": 1, "bob": 1, "cat": 0}),
        (0, {"ann": 1, "bob": 1}, {"ann": 0, "bob": 0}),
        # weights 3:1 of 10 → 7.5 / 2.5; equal remainders, so the name decides
        (10, {"bob": 3, "ann": 1}, {"ann": 3, "bob": 7}),
        # 3:1 of 7 → 5.25 / 1.75; the larger remainder wins before the name is looked at
        (7, {"ann": 3, "zed": 1}, {"ann": 5, "zed": 2}),
    ],
)
def test_a_team_award_is_split_by_largest_remainder_with_ties_broken_by_name(
    total: int, team: dict[str, int], expected: dict[str, int]
) -> None:
    assert split_award(total, team) == expected


@pytest.mark.parametrize(
    ("total", "team"),
    [(-1, {"ann": 1}), (10, {}), (10, {"ann": 0}), (10, {"ann": 1, "bob": -1})],
)
def test_a_split_needs_a_non_negative_award_and_positive_weights(
    total: int, team: dict[str, int]
) -> None:
    with pytest.raises(ValueError):
        split_award(total, team)


@given(totals, weights)
def test_the_shares_sum_exactly_to_the_award(total: int, team: dict[str, int]) -> None:
    shares = split_award(total, team)

    assert set(shares) == set(team)
    assert all(isinstance(points, int) and points >= 0 for points in shares.values())
    assert sum(shares.values()) == total


@given(totals, weights)
def test_each_share_is_within_one_point_of_its_exact_quota(
    total: int, team: dict[str, int]
) -> None:
    shares = split_award(total, team)
    weight_sum = sum(team.values())

    for name, points in shares.items():
        quota = Fraction(total * team[name], weight_sum)
        assert quota - 1 < points < quota + 1
        assert points in (quota.__floor__(), quota.__ceil__())


@given(totals, weights, st.randoms(use_true_random=False))
def test_the_split_does_not_depend_on_the_order_of_the_team(
    total: int, team: dict[str, int], rnd: object
) -> None:
    reordered_names = list(team)
    rnd.shuffle(reordered_names)  # type: ignore[attr-defined]
    reordered = {name: team[name] for name in reordered_names}

    assert split_award(total, reordered) == split_award(total, team)


@given(totals, weights)
def test_a_larger_weight_never_gets_fewer_points(total: int, team: dict[str, int]) -> None:
    shares = split_award(total, team)

    for a in team:
        for b in team:
            if team[a] > team[b]:
                assert shares[a] >= shares[b]
