"""The e-mail written directly (``mail.wire``) reads, to a mail client, exactly as the one the
``email`` package builds from the same headers and bodies, whatever the notice says."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from hypothesis import given, settings
from hypothesis import strategies as st

from groundswell.delivery import mail
from groundswell.delivery.digests import DIGEST
from groundswell.delivery.mail import Letterhead, compose
from groundswell.delivery.outbox import PENDING, Message

HEAD = Letterhead("Groundswell <ideas@groundswell.example>", "https://ideas.example.com", b"k" * 32)
PARSE = BytesParser(policy=policy.default)
# Titles people write: any text, including quotes, accents, emoji, dots and long runs.
TEXTS = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\n", ".", "“", "é"]),
    min_size=1,
    max_size=300,
)


def message(text: str, kind: str = "ideas", address: str = "ada@example.com") -> Message:
    notice = {
        "to": ["ada"],
        "at": "2026-03-02T09:00:00.000000+00:00",
        "event_id": "e1",
        "subject_kind": "idea",
        "subject_id": "i1",
        "challenge_id": "c1",
        "text": text,
        "points": None,
    }
    if kind == DIGEST:
        notice = {
            **notice,
            "subject_kind": DIGEST,
            "items": [{**notice, "kind": "ideas"}, {**notice, "kind": "points"}],
            "counts": {"ideas": 1, "points": 1},
        }
    return Message(
        "0d3c8a4e-6c2b-5f7e-9a8b-1c2d3e4f5a6b", "email", "ada", address, "e1", kind,
        notice["at"], notice, PENDING, 0, notice["at"], None, None,
    )  # fmt: skip


def read(raw: bytes) -> EmailMessage:
    parsed = PARSE.parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def same_to_a_reader(ours: EmailMessage, theirs: EmailMessage) -> None:
    names = [n for n in theirs if n not in ("Content-Type", "MIME-Version")]
    assert [(n, str(ours[n])) for n in names] == [(n, str(theirs[n])) for n in names]
    assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        mine, reference = ours.get_body((subtype,)), theirs.get_body((subtype,))
        assert isinstance(mine, EmailMessage) and isinstance(reference, EmailMessage)
        assert mine.get_content() == reference.get_content()
        assert mine.get_content_charset() == "utf-8"


@settings(max_examples=150, deadline=None)
@given(TEXTS, st.sampled_from(["ideas", "points", DIGEST]))
def test_what_is_written_directly_reads_as_the_email_package_writes_it(
    text: str, kind: str
) -> None:
    text = text if len(text) > 40 or text.isascii() else text * 4  # long non-ASCII subjects
    composed = message(text, kind)
    headers, plain, html = mail._parts(composed, HEAD)
    direct = mail.wire(headers, plain, html, mail.boundary_of(composed))
    reference = read(mail._with_email_package(headers, plain, html))
    if direct is None:
        # Left to the email package (a line too long to send as it is): what goes out.
        assert max(len(line.encode()) for line in (plain + html).splitlines()) > 998
        same_to_a_reader(read(compose(composed, HEAD)), reference)
        return
    assert all(len(line) <= 998 for line in direct.split(b"\r\n"))
    assert b"\n" not in direct.replace(b"\r\n", b"")
    words = re.findall(rb"=\?utf-8\?b\?[^?]*\?=", direct.split(b"\r\n\r\n")[0])
    assert all(len(word) <= 75 for word in words), "RFC 2047: encoded words of 75 at most"
    assert compose(composed, HEAD) == direct, "the same bytes on every try"
    same_to_a_reader(read(direct), reference)


def test_a_non_ascii_subject_is_encoded_and_an_unusual_message_left_to_the_email_package() -> None:
    raw = compose(message("“Quick-release clamps” was accepted: Worth a pilot."), HEAD)
    assert raw.isascii() is False  # the bodies are 8bit UTF-8; the headers are not
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii() and b"Subject: =?utf-8?b?" in head
    assert str(read(raw)["Subject"]) == "“Quick-release clamps” was accepted: Worth a pilot."

    # A display name outside ASCII, or a line over 998 bytes: the email package encodes it.
    odd = message("x" * 1200, address="Zoë <zoe@example.com>")
    headers, plain, html = mail._parts(odd, HEAD)
    assert mail.wire(headers, plain, html, mail.boundary_of(odd)) is None
    sent = read(compose(odd, HEAD))
    assert str(sent["To"]) == "Zoë <zoe@example.com>"
    body = sent.get_body(("plain",))
    assert isinstance(body, EmailMessage) and "x" * 1200 in body.get_content()
