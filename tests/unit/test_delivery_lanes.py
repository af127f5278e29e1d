"""How a round's messages are dealt to lanes: each key (a person's e-mails, a subject's
webhooks) to one lane, in order, the keys spread over the lanes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from groundswell.delivery.deliverer import dealt


@given(st.lists(st.sampled_from("abcdefgh"), max_size=60), st.integers(min_value=1, max_value=6))
def test_each_key_goes_to_one_lane_in_order_and_nothing_is_lost(
    keys: list[str], lanes: int
) -> None:
    messages: list[Any] = list(enumerate(keys))  # (place in line, key)
    found = dealt(messages, lambda message: message[1], lanes)

    assert sorted(m for lane in found for m in lane) == messages
    assert len(found) <= lanes and all(found)
    for lane in found:
        assert lane == sorted(lane), "a lane keeps the order of the line"
    lane_of = {m[1]: n for n, lane in enumerate(found) for m in lane}
    assert all(lane_of[m[1]] == n for n, lane in enumerate(found) for m in lane)
    # Keys go to the lanes in turn: as many lanes as keys, up to the number of lanes.
    assert len(found) == min(lanes, len(set(keys)))
