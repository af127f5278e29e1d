"""The pages' forms when refused, and their confirmation step, over HTTP without a
browser (so without JavaScript): a refused form shows the reason and what was typed, and
writes nothing; an irreversible one-click action asks first and acts only when confirmed."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from tests.e2e.test_http_stories import accepted, do, open_challenge, submit
from tests.e2e.test_web_pages import page, send
from tests.http_support import Org
from tests.support import store_item


def keys_of(text: str, action: str) -> str:
    """The idempotency key of the form posting to ``action``."""
    found = re.search(
        rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" name="form_key" '
        r'value="([0-9a-f]+)"',
        text,
    )
    assert found, f"no form posting to {action}"
    return found.group(1)


def refused_keeps(org: Org, handle: str, path: str, form: dict[str, Any], *kept: str) -> str:
    before = org.engine.last_position
    answer = send(org, handle, path, form)
    assert 400 <= answer.status_code < 500, answer.text
    assert 'role="alert"' in answer.text and "Not done" in answer.text
    shown = html.unescape(answer.text)
    for typed in kept:
        assert typed in shown, f"{typed!r} was not kept"
    assert org.engine.last_position == before
    return shown


def test_a_refused_idea_keeps_its_description(org: Org) -> None:
    challenge = open_challenge(org)
    action = f"/web/challenges/{challenge}/ideas"
    key = keys_of(page(org, "cat", f"/web/challenges/{challenge}"), action)
    form = {"form_key": key, "title": "   ", "description": "Scan <notes> at the dock"}
    refused_keeps(org, "cat", action, form, ">Scan <notes> at the dock</textarea>")


def test_a_refused_comment_and_build_on_keep_what_was_typed(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    other = submit(org, "dan", challenge, "Magnetic clamps")
    text = page(org, "dan", f"/web/ideas/{idea}")
    comment, build_on = f"/web/ideas/{idea}/comment", f"/web/ideas/{idea}/build-on"
    comment_key, build_key = keys_of(text, comment), keys_of(text, build_on)
    do(org, "cat", f"/v1/ideas/{idea}/withdraw")  # from now on, no input on it
    refused_keeps(
        org, "dan", comment, {"form_key": comment_key, "body": "Try it on line 2"},
        ">Try it on line 2</textarea>",
    )  # fmt: skip
    shown = refused_keeps(
        org, "dan", build_on,
        {"form_key": build_key, "body": "Magnets instead", "linked_idea_id": other},
        ">Magnets instead</textarea>",
    )  # fmt: skip
    assert f'<option value="{other}" selected>' in shown


def test_a_refused_decision_keeps_the_choice(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    action = f"/web/ideas/{idea}/decide"
    key = keys_of(page(org, "mia", f"/web/ideas/{idea}"), action)
    form = {"form_key": key, "decision": "reject", "words": "  ", "confirm": "yes"}
    shown = refused_keeps(org, "mia", action, form)
    assert 'value="reject" checked>' in shown and 'value="accept" checked>' not in shown
    assert 'id="decide-reward" name="reward" type="checkbox" value="true">' in shown


def test_a_rejection_without_a_reason_is_refused_before_any_confirmation(org: Org) -> None:
    """Nothing to confirm "with the reason you wrote" when none was written: the refusal
    comes at the first click, the choice kept."""
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    action = f"/web/ideas/{idea}/decide"
    key = keys_of(page(org, "mia", f"/web/ideas/{idea}"), action)
    form = {"form_key": key, "decision": "reject", "words": "  "}
    shown = refused_keeps(org, "mia", action, form)
    assert "Please confirm" not in shown and 'value="reject" checked>' in shown


def test_a_refused_hand_over_keeps_its_fields_and_names_no_command(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    action = f"/web/ideas/{idea}/hand-over"
    key = keys_of(page(org, "mia", f"/web/ideas/{idea}"), action)
    form = {"form_key": key, "core_process": "Maintenance", "owner": "nobody",
            "external_ref": "MNT-7"}  # fmt: skip
    shown = refused_keeps(
        org, "mia", action, form,
        'value="Maintenance"', 'value="nobody"', 'value="MNT-7"',
        "nobody with handle 'nobody' is registered",
    )  # fmt: skip
    assert "groundswell people" not in shown and "groundswell " not in shown.split("Not done")[1]


def test_forms_sent_again_with_other_values_keep_the_new_values(org: Org) -> None:
    """A reload after editing a form that was already sent is refused; what was typed the
    second time stays (top-up, progress, implemented, grant)."""
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", f"/v1/ideas/{idea}/take-over", {"core_process": "Maintenance",
       "owner": "owen"})  # fmt: skip
    pot = f"/web/challenges/{challenge}/pot"
    key = keys_of(page(org, "mia", f"/web/challenges/{challenge}"), pot)
    assert send(org, "mia", pot, {"form_key": key, "points": "5"}).status_code == 303
    refused_keeps(org, "mia", pot, {"form_key": key, "points": "7"}, 'value="7"')

    owned = page(org, "owen", "/web/owner")
    progress = f"/web/ideas/{idea}/progress"
    key = keys_of(owned, progress)
    note = {"form_key": key, "note": "Ordered", "back": "owner"}
    assert send(org, "owen", progress, note).status_code == 303
    refused_keeps(
        org, "owen", progress, {**note, "note": "Ordered twice"}, ">Ordered twice</textarea>"
    )
    implemented = f"/web/ideas/{idea}/implemented"
    key = keys_of(owned, implemented)
    impact = {"form_key": key, "impact": "", "back": "owner", "confirm": "yes"}
    refused_keeps(org, "owen", implemented, {**impact, "impact": "  "})


# -- the confirmation step ---------------------------------------------------------------


def confirm_page(answer: Any, question: str) -> dict[str, str]:
    """The confirmation page's form: its hidden fields, checked to say ``question``."""
    assert answer.status_code == 200, answer.text
    text = html.unescape(answer.text)
    assert "Please confirm" in text and question in text, text
    assert (
        "Content-Security-Policy" in answer.headers or "content-security-policy" in answer.headers
    )
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', text))


def test_redeeming_asks_first_and_acts_once_when_confirmed(org: Org) -> None:
    challenge = open_challenge(org, accepted_idea_points=150)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})
    book = str(store_item(org.engine, "Book of your choice", 100))
    before = org.engine.last_position
    chosen = {"form_key": "ab" * 8, "item_id": book, "points": "100"}
    first = send(org, "cat", "/web/me/redeem", chosen)
    hidden = confirm_page(first, "Redeem 100 points for “Book of your choice”?")
    assert org.engine.last_position == before  # asking wrote nothing
    assert hidden == {**chosen, "confirm": "yes"}
    assert send(org, "cat", "/web/me/redeem", hidden).status_code == 303
    assert send(org, "cat", "/web/me/redeem", hidden).status_code == 303  # a double click
    assert '<strong id="balance-points">50</strong>' in page(org, "cat", "/web/me")
    # The confirmation's post is a form like any other: another site's is refused.
    foreign = send(org, "cat", "/web/me/redeem", hidden, Origin="https://evil.example")
    assert foreign.status_code == 403


@pytest.mark.parametrize(
    ("to", "question"),
    [
        ("review", "Stop submissions and move this challenge to review?"),
        ("close", "Close this challenge?"),
        ("archive", "Archive this challenge? What is left in its pot returns to the treasury"),
    ],
)
def test_stage_changes_ask_first(org: Org, to: str, question: str) -> None:
    challenge = open_challenge(org)
    for earlier in ("review", "close", "archive")[: ("review", "close", "archive").index(to)]:
        do(org, "mia", f"/v1/challenges/{challenge}/{earlier}")
    action = f"/web/challenges/{challenge}/stage"
    before = org.engine.last_position
    hidden = confirm_page(send(org, "mia", action, {"form_key": "cd" * 8, "to": to}), question)
    assert org.engine.last_position == before
    assert send(org, "mia", action, hidden).status_code == 303
    stage = {"review": "review", "close": "closed", "archive": "archived"}[to]
    assert do_get(org, f"/v1/challenges/{challenge}")["stage"] == stage


def do_get(org: Org, path: str) -> Any:
    answer = org.get("mia", path)
    assert answer.status_code == 200
    return answer.json()


def test_deciding_granting_helpful_review_and_implemented_ask_first(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    said = do(org, "dan", f"/v1/ideas/{idea}/comments", {"body": "Use magnets"}, 201)["id"]
    asks = [
        (f"/web/ideas/{idea}/review", {}, "Start the review of this idea?"),
        (f"/web/ideas/{idea}/decide", {"decision": "accept", "words": "Pilot", "reward": "true"},
         "Accept this idea and grant the points for an accepted idea?"),
        (f"/web/ideas/{idea}/reward", {"reason": "idea-implemented"},
         "Grant the reward for the implemented idea to this idea's team?"),
        (f"/web/contributions/{said}/helpful", {"idea_id": idea, "reward": "true"},
         "Mark this contribution helpful and grant its author the points"),
    ]  # fmt: skip
    before = org.engine.last_position
    for n, (action, form, question) in enumerate(asks):
        hidden = confirm_page(send(org, "mia", action, {"form_key": f"{n:02d}" * 8, **form}),
                              question)  # fmt: skip
        assert {k: v for k, v in hidden.items() if k not in ("form_key", "confirm")} == {
            k: v for k, v in form.items() if v
        }
    assert org.engine.last_position == before
    review = confirm_page(send(org, "mia", asks[0][0], {"form_key": "ef" * 8}), "review")
    assert send(org, "mia", asks[0][0], review).status_code == 303
    assert do_get(org, f"/v1/ideas/{idea}")["status"] == "under review"

    done = accepted(org, "cat", challenge, "Magnetic clamps")
    do(org, "mia", f"/v1/ideas/{done}/take-over", {"core_process": "Maintenance", "owner": "owen"})
    action = f"/web/ideas/{done}/implemented"
    form = {"form_key": "fe" * 8, "impact": "Changeovers 9 minutes shorter", "back": "idea"}
    hidden = confirm_page(send(org, "owen", action, form), "Mark this idea implemented")
    assert "Changeovers 9 minutes shorter" in hidden["impact"]
    assert send(org, "owen", action, hidden).status_code == 303
    assert do_get(org, f"/v1/ideas/{done}")["status"] == "implemented"


# -- plain words -------------------------------------------------------------------------

CODES = re.compile(
    r"\b(idea-accepted|idea-implemented|helpful-contribution|prize-\d+|split share|build-on|"
    r"review-score|redemption)\b"
)


def visible(text: str) -> str:
    """What a person reads: the page without its tags, attributes and scripts."""
    bare = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(svg|script).*?</\1>", "", text))
    return " ".join(html.unescape(bare).split())


def test_pages_say_plain_words_not_codes(org: Org) -> None:
    challenge = open_challenge(org, accepted_idea_points=150)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "cat", f"/v1/ideas/{idea}/invitations", {"handle": "dan"})
    do(org, "dan", f"/v1/ideas/{idea}/join")
    other = submit(org, "dan", challenge, "Magnetic clamps")
    do(org, "dan", f"/v1/ideas/{idea}/build-ons", {"body": "Magnets", "linked_idea_id": other},
       201)  # fmt: skip
    do(org, "mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})
    do(org, "mia", f"/v1/challenges/{challenge}/review")
    do(org, "mia", "/v1/rewards", {"reason": "prize-1", "subject_id": idea})
    coffee = str(store_item(org.engine, "Coffee with the sponsor", 20))
    do(org, "cat", "/v1/me/redemptions", {"item_id": coffee}, 201)
    for handle, path in [
        ("cat", "/web/me"), ("dan", "/web/me"), ("cat", f"/web/ideas/{idea}"),
        ("mia", f"/web/ideas/{idea}"), ("mia", f"/web/challenges/{challenge}"),
    ]:  # fmt: skip
        read = visible(page(org, handle, path))
        assert CODES.findall(read) == [], (handle, path)
    home = visible(page(org, "cat", "/web/me"))
    assert "accepted idea (the team's share)" in home and "redeemed: Coffee" in home
    assert "points for the 1st prize" in home
    assert "follow-on idea" in visible(page(org, "cat", f"/web/ideas/{idea}"))
    assert "issues the reward points" in visible(page(org, "mia", f"/web/challenges/{challenge}"))
