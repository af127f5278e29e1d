"""The pages' forms for the commands beyond the main story (issue 20.1), over HTTP without
a browser: each acts for the role that may use it, is refused for the roles that may not
and for bad input, with the API's sentence, what was typed kept, and nothing written.

The story of each, walked in Chromium, is in tests/browser/test_page_actions_in_chromium.py."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from tests.e2e.test_http_stories import accepted, do, open_challenge, submit
from tests.e2e.test_web_forms import confirm_page, do_get, keys_of, refused_keeps
from tests.e2e.test_web_pages import page, send
from tests.http_support import Org, challenge_terms


def fresh() -> str:
    return uuid.uuid4().hex


def acts(org: Org, handle: str, path: str, form: dict[str, Any]) -> None:
    """Posted (and confirmed, when the form asks first), it acts: back to a page."""
    answer = send(org, handle, path, form)
    if answer.status_code == 200 and "Please confirm" in answer.text:
        answer = send(org, handle, path, confirm_page(answer, ""))
    assert answer.status_code == 303, answer.text


def refused(org: Org, handle: str, path: str, form: dict[str, Any], status: int, said: str) -> str:
    """Refused with ``status`` and the sentence ``said``, writing nothing."""
    before = org.engine.last_position
    answer = send(org, handle, path, {**form, "form_key": uuid.uuid4().hex, "confirm": "yes"})
    assert answer.status_code == status, answer.text
    text = html.unescape(answer.text)
    assert said in text, text
    assert org.engine.last_position == before
    return text


# -- the team: edit, withdraw, invite, join ------------------------------------------------


def test_an_edit_from_the_page_is_refused_when_stale_and_says_what_changed(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    do(org, "cat", f"/v1/ideas/{idea}/invitations", {"handle": "dan"})
    do(org, "dan", f"/v1/ideas/{idea}/join")
    action = f"/web/ideas/{idea}/edit"
    text = page(org, "cat", f"/web/ideas/{idea}")
    version = re.search(r'name="version" value="(\d+)"', text).group(1)  # type: ignore[union-attr]
    form = {"form_key": keys_of(text, action), "version": version,
            "title": "Quick-release clamps, v2", "description": "Cat's words"}  # fmt: skip
    # Dan edits first, from a page he read at the same version.
    acts(org, "dan", action, {**form, "form_key": "cd" * 8, "title": "Clamps by Dan"})
    assert do_get(org, f"/v1/ideas/{idea}")["title"] == "Clamps by Dan"
    shown = refused_keeps(
        org, "cat", action, form, 'value="Quick-release clamps, v2"', ">Cat's words</textarea>",
        "this was changed since version",
    )  # fmt: skip
    changed = shown.split('id="changed-since"')[1].split("</div>")[0]
    assert "was: Quick-release clamps" in changed and "now: Clamps by Dan" in changed
    # The form now carries the version shown: sending it again is a choice made.
    now = do_get(org, f"/v1/ideas/{idea}")["version"]
    assert f'name="version" value="{now}"' in shown
    acts(org, "cat", action, {**form, "form_key": "ef" * 8, "version": str(now)})
    assert do_get(org, f"/v1/ideas/{idea}")["title"] == "Quick-release clamps, v2"


def test_edit_and_withdraw_are_the_team_s_and_the_author_s(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    version = str(do_get(org, f"/v1/ideas/{idea}")["version"])
    edit = {"form_key": fresh(), "version": version, "title": "Mine now", "description": "…"}
    for handle in ("dan", "mia"):  # another contributor, a manager: not on the team
        refused(org, handle, f"/web/ideas/{idea}/edit", edit, 403, "only the idea's team")
        refused(org, handle, f"/web/ideas/{idea}/withdraw", {"form_key": fresh()}, 403,
                "only the author may withdraw")  # fmt: skip
    refused_keeps(org, "cat", f"/web/ideas/{idea}/edit", {**edit, "title": " "}, ">…</textarea>")
    assert "Withdraw this idea" not in page(org, "dan", f"/web/ideas/{idea}")
    ask = send(org, "cat", f"/web/ideas/{idea}/withdraw", {"form_key": fresh()})
    before = org.engine.last_position
    hidden = confirm_page(ask, "Withdraw this idea?")
    assert org.engine.last_position == before
    assert send(org, "cat", f"/web/ideas/{idea}/withdraw", hidden).status_code == 303
    assert do_get(org, f"/v1/ideas/{idea}")["status"] == "withdrawn"


def test_inviting_and_joining_from_the_page(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    invite = f"/web/ideas/{idea}/invite"
    refused(
        org, "dan", invite, {"form_key": fresh(), "handle": "owen"}, 403, "only the idea's team"
    )
    refused_keeps(org, "cat", invite, {"form_key": fresh(), "handle": "Not A Handle"},
                  'value="Not A Handle"', "handle")  # fmt: skip
    refused(
        org, "dan", f"/web/ideas/{idea}/join", {"form_key": fresh()}, 403, "has not been invited"
    )
    assert "Join the team" not in page(org, "dan", f"/web/ideas/{idea}")
    acts(org, "cat", invite, {"form_key": "cd" * 8, "handle": "dan"})
    assert "Join the team" in page(org, "dan", f"/web/ideas/{idea}")
    acts(org, "dan", f"/web/ideas/{idea}/join", {"form_key": "ef" * 8})
    assert do_get(org, f"/v1/ideas/{idea}")["team"] == ["cat", "dan"]


# -- reviews ----------------------------------------------------------------------------


def test_asking_a_reviewer_and_scoring_from_the_page(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    ask = f"/web/ideas/{idea}/reviewers"
    refused(org, "cat", ask, {"form_key": fresh(), "handle": "dan"}, 403,
            "only the managers of 'Faster changeovers' may ask for reviews")  # fmt: skip
    refused_keeps(org, "mia", ask, {"form_key": fresh(), "handle": "cat"}, 'value="cat"',
                  "a team member cannot review their own idea")  # fmt: skip
    score = f"/web/ideas/{idea}/score"
    refused(org, "dan", score, {"form_key": fresh(), "score": "4"}, 403, "dan")
    assert "Your review" not in page(org, "dan", f"/web/ideas/{idea}")
    acts(org, "mia", ask, {"form_key": "cd" * 8, "handle": "dan"})
    assert "Your review" in page(org, "dan", f"/web/ideas/{idea}")
    refused_keeps(org, "dan", score, {"form_key": fresh(), "score": "9", "body": "Strong"},
                  ">Strong</textarea>", "score")  # fmt: skip
    acts(org, "dan", score, {"form_key": "ef" * 8, "score": "4", "body": "Strong"})
    rows = do_get(org, f"/v1/ideas/{idea}/contributions")["items"]
    assert [(r["kind"], r["score"], r["author"]) for r in rows] == [("review-score", 4, "dan")]
    assert "Your review" not in page(org, "dan", f"/web/ideas/{idea}")  # once


# -- merges -----------------------------------------------------------------------------


def test_a_merge_is_previewed_side_by_side_then_done_and_undone(org: Org) -> None:
    challenge = open_challenge(org)
    duplicate = submit(org, "dan", challenge, "Magnetic clamps")
    target = submit(org, "cat", challenge, "Quick-release clamps")
    merge = f"/web/ideas/{duplicate}/merge"
    before = org.engine.last_position
    preview = send(org, "mia", merge, {"form_key": fresh(), "into": target})
    assert preview.status_code == 200 and org.engine.last_position == before
    side = html.unescape(preview.text).split('id="merge-preview"')[1]
    assert side.index("Magnetic clamps, in detail.") < side.index(
        "Quick-release clamps, in detail."
    )
    refused(org, "cat", merge, {"form_key": fresh(), "into": target}, 403,
            "only the managers of 'Faster changeovers' may merge ideas")  # fmt: skip
    refused(org, "mia", merge, {"form_key": "12" * 8, "into": duplicate}, 422,
            "an idea cannot be merged into itself")  # fmt: skip
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">',
                             preview.text))  # fmt: skip
    assert send(org, "mia", merge, hidden).status_code == 303
    assert do_get(org, f"/v1/ideas/{duplicate}")["merged_into"] == target
    assert "Magnetic clamps" in page(org, "cat", f"/web/ideas/{target}").split('id="duplicates"')[1]

    unmerge = f"/web/ideas/{duplicate}/unmerge"
    refused(org, "dan", unmerge, {"form_key": fresh()}, 403, "may undo merges")
    acts(org, "mia", unmerge, {"form_key": "cd" * 8})
    assert do_get(org, f"/v1/ideas/{duplicate}")["status"] == "submitted"


# -- moderation -------------------------------------------------------------------------


def test_hiding_a_contribution_with_a_reason_and_who_reads_it_then(org: Org) -> None:
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    said = do(org, "dan", f"/v1/ideas/{idea}/comments", {"body": "Rude words"}, 201)["id"]
    hide = f"/web/contributions/{said}/hide"
    form = {"form_key": fresh(), "idea_id": idea, "reason": "Not kind"}
    refused(org, "cat", hide, form, 403, "may moderate contributions")
    assert "Hide…" not in page(org, "cat", f"/web/ideas/{idea}")
    shown = refused_keeps(org, "mia", hide, {**form, "form_key": fresh(), "reason": "  "})
    assert "Please confirm" not in shown  # no reason: refused at the first click
    hidden = confirm_page(send(org, "mia", hide, form), "Hide this contribution?")
    assert send(org, "mia", hide, hidden).status_code == 303
    manager = html.unescape(page(org, "mia", f"/web/ideas/{idea}"))
    assert "Rude words" in manager and "(Not kind)" in manager and ">hidden<" in manager
    reader = html.unescape(page(org, "cat", f"/web/ideas/{idea}"))
    assert "Rude words" not in reader and ">hidden<" in reader
    refused(org, "mia", hide, {**form, "form_key": "cd" * 8}, 409, "already hidden")


# -- the owner, the hand-over picker ------------------------------------------------------


def test_abandoning_needs_the_owner_and_a_reason(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    do(org, "mia", f"/v1/ideas/{idea}/take-over", {"core_process": "Maintenance", "owner": "owen"})
    abandon = f"/web/ideas/{idea}/abandon"
    form = {"form_key": fresh(), "reason": "Supplier gone", "back": "owner"}
    refused(org, "mia", abandon, form, 403, "only the owner, owen, may abandon it")
    shown = refused_keeps(org, "owen", abandon, {**form, "form_key": fresh(), "reason": " "})
    assert "Please confirm" not in shown
    hidden = confirm_page(send(org, "owen", abandon, form), "Abandon the implementation")
    answer = send(org, "owen", abandon, hidden)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/web/owner")
    found = do_get(org, f"/v1/ideas/{idea}")
    assert found["status"] == "abandoned" and found["decision_reason"] == "Supplier gone"


def test_the_hand_over_offers_the_owners_to_pick_from(org: Org) -> None:
    challenge = open_challenge(org)
    idea = accepted(org, "cat", challenge, "Quick-release clamps")
    text = page(org, "mia", f"/web/ideas/{idea}")
    owners = text.split('<datalist id="owners-list">')[1].split("</datalist>")[0]
    assert re.findall(r'<option value="([^"]+)">', owners) == ["owen"]
    assert 'id="hand-owner" name="owner"' in text and 'list="owners-list"' in text
    # Contributors are told nobody's handle; an owner asks to take it over for themselves.
    assert "datalist" not in page(org, "owen", f"/web/ideas/{idea}")
    ask = {"form_key": fresh(), "core_process": "Maintenance", "external_ref": ""}
    assert "Ask to take it over" in page(org, "owen", f"/web/ideas/{idea}")
    acts(org, "owen", f"/web/ideas/{idea}/hand-over", ask)
    assert do_get(org, f"/v1/ideas/{idea}")["take_over_asked_by"] == ["owen"]
    refused(org, "cat", f"/web/ideas/{idea}/hand-over", {**ask, "form_key": "cd" * 8}, 403,
            "needs the owner role")  # fmt: skip


# -- the challenge: edit, managers, prizes --------------------------------------------------


def test_editing_a_draft_and_adding_a_manager_from_the_page(org: Org) -> None:
    draft = do(org, "mia", "/v1/challenges", challenge_terms(), 201)["id"]
    edit = f"/web/challenges/{draft}/edit"
    text = page(org, "mia", f"/web/challenges/{draft}")
    version = re.search(r'name="version" value="(\d+)"', text).group(1)  # type: ignore[union-attr]
    terms = {"form_key": keys_of(text, edit), "version": version, "title": "Shorter changeovers",
             "question": "How?", "sponsor": "Plant manager", "target_departments": "Production",
             "submission_deadline": "2026-07-31", "decision_deadline_days": "10",
             "accepted_idea_points": "60", "implemented_idea_points": "100",
             "helpful_contribution_points": "10", "prize_points": "300, 100"}  # fmt: skip
    # A draft is its managers' own: to anyone else it is not there at all.
    refused(org, "cat", edit, terms, 404, f"no challenge with id {draft}")
    refused_keeps(org, "mia", edit, {**terms, "decision_deadline_days": "ten"}, 'value="ten"')
    acts(org, "mia", edit, terms)
    found = do_get(org, f"/v1/challenges/{draft}")
    assert found["title"] == "Shorter changeovers" and found["reward_policy"]["prizes"] == [
        300,
        100,
    ]
    stale = refused_keeps(org, "mia", edit, {**terms, "form_key": "cd" * 8, "title": "Again"},
                          'value="Again"', "this was changed since version")  # fmt: skip
    assert "Shorter changeovers" in stale

    add = f"/web/challenges/{draft}/managers"
    org.engine.register_person("max", name="Max Manager", department="R&D", roles=["manager"])
    text = page(org, "mia", f"/web/challenges/{draft}")
    listed = text.split('<datalist id="managers-list">')[1].split("</datalist>")[0]
    assert re.findall(r'<option value="([^"]+)">', listed) == ["max"]  # mia manages it already
    open_one = open_challenge(org)  # (a draft is not there at all for a contributor)
    refused(org, "cat", f"/web/challenges/{open_one}/managers", {"handle": "max"}, 403,
            "may add a manager")  # fmt: skip
    refused_keeps(org, "mia", add, {"form_key": fresh(), "handle": "dan"}, 'value="dan"',
                  "manage a challenge")  # fmt: skip
    acts(org, "mia", add, {"form_key": "ef" * 8, "handle": "max"})
    assert do_get(org, f"/v1/challenges/{draft}")["managers"] == ["mia", "max"]


def test_prizes_are_awarded_from_the_challenge_page_once_in_review(org: Org) -> None:
    challenge = open_challenge(org)
    winner = accepted(org, "cat", challenge, "Quick-release clamps")
    submit(org, "dan", challenge, "Magnetic clamps")  # not accepted: cannot win
    prizes = f"/web/challenges/{challenge}/prizes"
    assert 'id="prizes"' not in page(org, "mia", f"/web/challenges/{challenge}")  # open still
    refused(org, "mia", prizes, {"form_key": fresh(), "rank": "1", "idea_id": winner}, 409,
            "prizes are awarded once the challenge is in review or closed")  # fmt: skip
    do(org, "mia", f"/v1/challenges/{challenge}/review")
    text = page(org, "mia", f"/web/challenges/{challenge}").split('id="prizes"')[1]
    text = text.split("</div>")[0]
    assert "Quick-release clamps" in text and "Magnetic clamps" not in text
    refused(org, "cat", prizes, {"form_key": fresh(), "rank": "1", "idea_id": winner}, 403,
            "may grant rewards")  # fmt: skip
    asked = confirm_page(send(org, "mia", prizes, {"form_key": fresh(), "rank": "1",
                                                    "idea_id": winner}),
                         "Award the 1st prize to “Quick-release clamps”?")  # fmt: skip
    assert send(org, "mia", prizes, asked).status_code == 303
    assert org.get("cat", "/v1/me").json()["balance"] == 200
    refused(org, "mia", prizes, {"form_key": "cd" * 8, "rank": "2", "idea_id": winner}, 409,
            "one prize per idea")  # fmt: skip


# -- me ---------------------------------------------------------------------------------


def test_choosing_a_pseudonym_from_home(org: Org) -> None:
    path = "/web/me/pseudonym"
    acts(org, "cat", path, {"form_key": fresh(), "pseudonym": "Blue Fox"})
    assert "shown on boards as “Blue Fox”" in html.unescape(page(org, "cat", "/web/me"))
    refused_keeps(
        org, "dan", path, {"form_key": fresh(), "pseudonym": "blue fox"}, 'value="blue fox"'
    )
    refused_keeps(org, "dan", path, {"form_key": "cd" * 8, "pseudonym": "x" * 150},
                  'value="' + "x" * 150)  # fmt: skip
    acts(org, "cat", path, {"form_key": "ef" * 8, "pseudonym": ""})
    assert do_get(org, "/v1/people/cat")["pseudonym"] is None


def test_setting_the_follow_up_policy_from_the_challenge_page(org: Org) -> None:
    challenge = open_challenge(org)
    path = f"/web/challenges/{challenge}/follow-up-policy"
    text = page(org, "mia", f"/web/challenges/{challenge}")
    assert 'id="policy-answer_days" name="answer_days"' in text
    policy = {"form_key": keys_of(text, path), "answer_days": "3", "progress_days": "30",
              "remind_every_days": "2", "escalate_to_managers_after_days": "5",
              "escalate_to_sponsor_after_days": "0", "sponsor_handle": ""}  # fmt: skip
    refused(org, "cat", path, policy, 403, "may set its follow-up policy")
    refused_keeps(org, "mia", path, {**policy, "form_key": fresh(), "answer_days": "soon"},
                  'value="soon"')  # fmt: skip
    refused_keeps(org, "mia", path, {**policy, "form_key": fresh(), "sponsor_handle": "nobody"},
                  'value="nobody"', "nobody with handle 'nobody' is registered")  # fmt: skip
    acts(org, "mia", path, policy)
    found = do_get(org, f"/v1/challenges/{challenge}/follow-up-policy")
    assert (found["answer_days"], found["remind_every_days"]) == (3, 2)


def test_e_mail_address_choices_and_quiet_hours_from_home(org: Org) -> None:
    text = page(org, "cat", "/web/me")
    points = "/web/me/email-preferences/points"
    assert 'id="email-points" name="choice"' in text
    acts(org, "cat", points, {"form_key": keys_of(text, points), "choice": "weekly"})
    chosen = {p["kind"]: p["email"] for p in org.get("cat", "/v1/me/email-preferences").json()}
    assert chosen["points"] == "weekly"
    refused_keeps(org, "cat", points, {"form_key": fresh(), "choice": "hourly"},
                  "not 'hourly'")  # fmt: skip
    gossip = "/web/me/email-preferences/gossip"
    off = {"form_key": fresh(), "choice": "off"}
    refused_keeps(org, "cat", gossip, off, "'gossip' is no kind of notification")
    # Reminders are never off for a manager: the page does not offer it, the engine refuses it.
    manager = page(org, "mia", "/web/me").split('id="email-reminders"')[1].split("</select>")[0]
    assert 'value="off"' not in manager
    reminders = "/web/me/email-preferences/reminders"
    refused_keeps(org, "mia", reminders, off, "cannot be turned off for managers")

    address = "/web/me/email"
    refused_keeps(org, "cat", address, {"form_key": fresh(), "email": "cat at example"},
                  'value="cat at example"')  # fmt: skip
    acts(org, "cat", address, {"form_key": fresh(), "email": "cat@example.org"})
    assert org.engine.person("cat").email == "cat@example.org"
    assert 'value="cat@example.org"' in page(org, "cat", "/web/me")

    quiet = "/web/me/quiet-hours"
    hours = {"form_key": fresh(), "start": "22:00", "end": "", "time_zone": "Europe/Berlin"}
    refused_keeps(org, "cat", quiet, hours, 'value="22:00"', "give both the start and the end")
    refused_keeps(org, "cat", quiet, {**hours, "form_key": fresh(), "end": "07:00",
                                      "time_zone": "Mars/Base"}, 'value="Mars/Base"')  # fmt: skip
    acts(org, "cat", quiet, {**hours, "form_key": fresh(), "end": "07:00"})
    assert "now 22:00–07:00, Europe/Berlin" in html.unescape(page(org, "cat", "/web/me"))


def test_a_page_answering_a_form_is_not_live(org: Org) -> None:
    """The live script fetches the page's own address again: a confirmation or a refusal
    answers a POST-only address (a GET of it was a 405 in the console), so it stays still."""
    challenge = open_challenge(org)
    assert 'data-live-stream="/web/live"' in page(org, "mia", f"/web/challenges/{challenge}")
    asked = send(org, "mia", f"/web/challenges/{challenge}/stage", {"form_key": fresh(),
                                                                    "to": "review"})  # fmt: skip
    assert "Please confirm" in asked.text and "data-live-stream" not in asked.text
    refusal = send(org, "cat", f"/web/challenges/{challenge}/pot", {"form_key": fresh(),
                                                                   "points": "5"})  # fmt: skip
    assert refusal.status_code == 403 and "Not done" in refusal.text
    assert "data-live-stream" not in refusal.text
