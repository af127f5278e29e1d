"""Exact splits of an award in whole points (largest remainder method)."""

from __future__ import annotations

from collections.abc import Mapping


def split_award(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` points among beneficiaries in proportion to their weights.

    Every share is a whole number and the shares sum exactly to ``total``. Each
    beneficiary first gets the floor of their exact share; the points left over go,
    one each, to the largest remainders. Ties are broken by beneficiary name so the
    same inputs always give the same split, whatever order they arrive in.
    """
    if total < 0:
        raise ValueError("an award cannot be negative")
    if not weights or any(w <= 0 for w in weights.values()):
        raise ValueError("every beneficiary needs a positive weight")
    weight_sum = sum(weights.values())
    shares = {name: total * weight // weight_sum for name, weight in weights.items()}
    left_over = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda name: (-(total * weights[name] % weight_sum), name))
    for name in by_remainder[:left_over]:
        shares[name] += 1
    return shares
