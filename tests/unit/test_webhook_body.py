"""A webhook's body (``webhooks.encoded``, orjson) is byte for byte the compact UTF-8 JSON the
standard library writes, and a notice read back from the outbox (``Message.of``) is the dict
that was written, whatever the notice says."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from groundswell.delivery import webhooks
from groundswell.delivery.outbox import PENDING, Message

# Any text people write, control characters, quotes, backslashes and emoji included (not lone
# surrogates: no UTF-8 can carry them, so neither encoder sends them).
TEXTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
NOTICES = st.fixed_dictionaries(
    {
        "to": st.lists(TEXTS, max_size=3),
        "at": TEXTS,
        "event_id": TEXTS,
        "subject_kind": st.sampled_from(["idea", "challenge", "contribution"]),
        "subject_id": TEXTS,
        "challenge_id": st.none() | TEXTS,
        "text": TEXTS,
        "points": st.none() | st.dictionaries(TEXTS, st.integers(-(2**53), 2**53), max_size=2),
    }
)


def message(notice: dict[str, object], kind: str) -> Message:
    at = "2026-03-02T09:00:00.000000+00:00"
    return Message("m1", "webhook:e", "webhook:e", None, "e1", kind, at, notice, PENDING, 0, at,
                   None, None)  # fmt: skip


@settings(max_examples=150)
@given(NOTICES, st.sampled_from(webhooks.TYPES), TEXTS, TEXTS)
def test_a_body_is_the_bytes_json_writes(
    notice: dict[str, object], type_: str, kind: str, link: str
) -> None:
    endpoint = webhooks.Endpoint("e", "https://hooks.example.com/", type_, [], "whsec_a", "2026")
    body = webhooks.payload(endpoint, message(notice, kind), "https://ideas.example.com", link)
    expected = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert webhooks.encoded(body) == expected


@settings(max_examples=150)
@given(NOTICES)
def test_a_notice_reads_back_as_written(notice: dict[str, object]) -> None:
    stored = json.dumps(notice, ensure_ascii=False)  # as the outbox writes it
    row = ("m1", "email", "ada", "ada@example.com", "e1", "ideas", "2026", stored, PENDING, 0,
           "2026", None, None, None, None)  # fmt: skip
    assert Message.of(row).notice == json.loads(stored) == notice
