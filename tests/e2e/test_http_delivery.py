"""E-mail over HTTP: addresses, preferences, one-click unsubscribe and the delivery log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from groundswell.bootstrap import build_engine, build_http_app, stop_delivery
from groundswell.delivery import unsubscribe
from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer
from groundswell.delivery.outbox import SENT, SKIPPED, Message, Outbox
from groundswell.settings import Settings
from tests.http_support import Org, challenge_terms
from tests.scenario import AUTHOR, Scenario
from tests.smtp_support import own_domain, shared_smtp
from tests.support import SteppingClock


@pytest.fixture
def outbox(org: Org) -> Iterator[Outbox]:
    opened: Outbox = org.client.app.state.open_outbox()  # type: ignore[attr-defined]
    yield opened
    opened.close()


def put(org: Org, handle: str | None, path: str, body: object) -> object:
    headers = org.auth(handle) if handle else {}
    return org.client.put(path, json=body, headers=headers)


def kinds_chosen(org: Org, handle: str) -> dict[str, str]:
    found = org.get(handle, "/v1/me/email-preferences")
    assert found.status_code == 200, found.text
    return {row["kind"]: row["email"] for row in found.json()}


def test_people_set_their_own_address_and_only_admins_set_others(org: Org) -> None:
    mine = put(org, "cat", "/v1/people/cat/email", {"email": "Cat@Example.org"})
    assert mine.status_code == 200, mine.text
    assert org.engine.person("cat").email == "Cat@example.org"

    others = put(org, "dan", "/v1/people/cat/email", {"email": "evil@example.org"})
    assert others.status_code == 403
    assert org.engine.person("cat").email == "Cat@example.org"

    bad = put(org, "cat", "/v1/people/cat/email", {"email": "cat@"})
    assert bad.status_code == 422 and "is not an e-mail address" in bad.json()["detail"]
    assert org.engine.person("cat").email == "Cat@example.org"

    by_admin = put(org, "ada", "/v1/people/cat/email", {"email": None})
    assert by_admin.status_code == 200 and org.engine.person("cat").email is None


def test_an_administrator_registers_someone_with_an_address(org: Org) -> None:
    body = {"handle": "eve", "name": "Eve", "department": "IT", "email": "eve@example.org"}
    made = org.post("ada", "/v1/people", body)
    assert made.status_code == 201, made.text
    assert org.engine.person("eve").email == "eve@example.org"

    refused = org.post("ada", "/v1/people", {**body, "handle": "eva", "email": "eva"})
    assert refused.status_code == 422
    assert "eva" not in {p["handle"] for p in org.get("ada", "/v1/people").json()["items"]}


def test_one_click_unsubscribe_works_without_signing_in_for_that_person_and_kind_only(
    org: Org, outbox: Outbox
) -> None:
    token = unsubscribe.token(outbox.secret(), "cat", "ideas")

    looked = org.client.get(f"/v1/unsubscribe/{token}")
    assert looked.status_code == 200 and "<form method=post" in looked.text
    assert kinds_chosen(org, "cat")["ideas"] == "immediately", "a GET changes nothing"

    done = org.client.post(
        f"/v1/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200, done.text
    assert kinds_chosen(org, "cat") == {
        "ideas": "off",
        "contributions": "immediately",
        "points": "immediately",
        "review-requests": "immediately",
        "challenges": "immediately",
        "reminders": "immediately",
        "webhooks": "immediately",
    }
    assert kinds_chosen(org, "dan")["ideas"] == "immediately"

    mac = token.rpartition(".")[2]
    for forged in (f"dan.ideas.{mac}", f"cat.points.{mac}", "cat.ideas.xxxx", "nonsense"):
        refused = org.client.post(f"/v1/unsubscribe/{forged}")
        assert refused.status_code == 404, forged
        assert "not valid" in refused.json()["detail"]
    assert kinds_chosen(org, "dan")["ideas"] == "immediately"
    assert kinds_chosen(org, "cat")["points"] == "immediately"


def test_preferences_name_known_kinds_and_choices(org: Org) -> None:
    off = put(org, "cat", "/v1/me/email-preferences/points", {"choice": "off"})
    assert off.status_code == 200 and kinds_chosen(org, "cat")["points"] == "off"
    unknown = put(org, "cat", "/v1/me/email-preferences/gossip", {"choice": "off"})
    assert unknown.status_code == 422 and "kinds are ideas" in unknown.json()["detail"]
    wrong = put(org, "cat", "/v1/me/email-preferences/points", {"choice": "sometimes"})
    assert (
        wrong.status_code == 422 and "immediately, daily, weekly or off" in wrong.json()["detail"]
    )
    assert kinds_chosen(org, "cat")["points"] == "off"


def test_a_manager_cannot_turn_reminders_off_and_the_listing_says_so(
    org: Org, outbox: Outbox
) -> None:
    refused = put(org, "mia", "/v1/me/email-preferences/reminders", {"choice": "off"})
    assert refused.status_code == 422
    assert "cannot be turned off for managers and owners" in refused.json()["detail"]
    assert "at least a weekly digest" in refused.json()["detail"]
    assert kinds_chosen(org, "mia")["reminders"] == "immediately"
    listed = {row["kind"]: row for row in org.get("mia", "/v1/me/email-preferences").json()}
    assert "at least a weekly digest" in listed["reminders"]["cannot_be_off"]
    assert listed["ideas"]["cannot_be_off"] is None
    mine = {row["kind"]: row for row in org.get("cat", "/v1/me/email-preferences").json()}
    assert mine["reminders"]["cannot_be_off"] is None, "a contributor may turn them off"

    # Her one-click unsubscribe from reminders bundles them weekly instead of stopping them.
    token = unsubscribe.token(outbox.secret(), "mia", "reminders")
    page = org.client.get(f"/v1/unsubscribe/{token}")
    assert page.status_code == 200 and "only in a weekly digest" in page.text
    done = org.client.post(f"/v1/unsubscribe/{token}")
    assert done.status_code == 200, done.text
    assert kinds_chosen(org, "mia")["reminders"] == "weekly"


def test_what_was_unsubscribed_is_not_emailed_and_the_log_shows_it_to_admins(
    org: Org, outbox: Outbox
) -> None:
    smtp = shared_smtp()
    domain = own_domain()
    for handle in ("cat", "dan"):
        org.engine.change_email(handle, f"{handle}@{domain}")
    token = unsubscribe.token(outbox.secret(), "cat", "ideas")
    assert org.client.post(f"/v1/unsubscribe/{token}").status_code == 200
    challenge = org.engine.draft_challenge("mia", **challenge_terms()).id
    assert challenge is not None
    org.engine.open_challenge("mia", challenge)
    for author in ("cat", "dan"):
        idea = org.engine.submit_idea(author, challenge, title=f"By {author}", description="x").id
        assert idea is not None
        org.engine.reject_idea("mia", idea, "Not now.")
    delivery = DeliverySettings(smtp.url, "ideas@example.org", "http://testserver")

    build_deliverer(org.engine, outbox, delivery, org.clock).drain()

    assert [str(m["To"]) for m in smtp.received(domain)] == [f"dan@{domain}"]
    log = org.get("ada", "/v1/delivery/messages", person="cat")
    assert log.status_code == 200
    [cat] = log.json()
    assert cat["state"] == SKIPPED and cat["last_error"] == "cat turned off e-mails about ideas"
    [dan] = org.get("ada", "/v1/delivery/messages", person="dan").json()
    assert dan["state"] == SENT and dan["tries"][0]["ok"] is True
    assert org.get("cat", "/v1/delivery/messages").status_code == 403


def test_the_served_app_delivers_in_a_thread_when_an_smtp_server_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = shared_smtp()
    domain = own_domain()
    monkeypatch.setenv("GROUNDSWELL_SMTP_URL", smtp.url)
    settings = Settings(data_dir=tmp_path)
    engine = build_engine(settings, clock=SteppingClock())
    app = build_http_app(settings, engine)
    try:
        story = Scenario(engine).with_cast()
        engine.change_email(AUTHOR, f"{AUTHOR}@{domain}")
        story.idea(story.challenge(), "rejected")
        deadline = time.monotonic() + 30
        while not smtp.received(domain) and time.monotonic() < deadline:
            time.sleep(0.1)
        [mail] = smtp.received(domain)
        assert "was rejected" in str(mail["Subject"])
    finally:
        stop_delivery(app)
        engine.close()


def test_admins_register_list_and_remove_webhooks_over_http_with_the_clis_rules(
    org: Org,
) -> None:
    made = org.post(
        "ada", "/v1/webhooks", {"url": "https://hooks.example.com/ideas", "kinds": ["ideas"]}
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_"), "the secret, shown once"
    assert endpoint["type"] == "cloudevents" and endpoint["disabled"] is None
    listed = org.get("ada", "/v1/webhooks").json()
    assert [e["endpoint_id"] for e in listed] == [endpoint["endpoint_id"]]
    assert "secret" not in listed[0] and endpoint["secret"] not in str(listed)

    for body, said in (
        ({"url": "http://hooks.example.com/ideas"}, "https only"),
        ({"url": "ftp://127.0.0.1/x"}, "is not an http(s) URL"),
        ({"url": "https://a.example.com", "type": "irc"}, "not 'irc'"),
        ({"url": "https://a.example.com", "kinds": ["gossip"]}, "unknown kinds"),
    ):
        refused = org.post("ada", "/v1/webhooks", body)
        assert refused.status_code == 422 and said in refused.json()["detail"], refused.text
    loopback = org.post("ada", "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "type": "slack"})
    assert loopback.status_code == 201, "http to loopback, for development"
    assert len(org.get("ada", "/v1/webhooks").json()) == 2, "nothing refused was kept"

    gone = org.client.delete(f"/v1/webhooks/{endpoint['endpoint_id']}", headers=org.auth("ada"))
    assert gone.status_code == 204
    again = org.client.delete(f"/v1/webhooks/{endpoint['endpoint_id']}", headers=org.auth("ada"))
    assert again.status_code == 404 and "no webhook endpoint" in again.json()["detail"]
    assert [e["type"] for e in org.get("ada", "/v1/webhooks").json()] == ["slack"]


def a_parked_message(org: Org, outbox: Outbox) -> Message:
    """cat's e-mail about her idea going into review, refused for good by the SMTP server
    (an unknown mailbox) and so parked."""
    org.engine.change_email("cat", f"unknown@{own_domain()}")
    challenge = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    org.post("mia", f"/v1/challenges/{challenge}/open")
    idea = org.post(
        "cat", f"/v1/challenges/{challenge}/ideas", {"title": "Clamps", "description": "Q."}
    ).json()["id"]
    org.post("mia", f"/v1/ideas/{idea}/review")
    settings = DeliverySettings(shared_smtp().url, "ideas@groundswell.example", "https://x.example")
    build_deliverer(org.engine, outbox, settings, org.clock).drain()
    [parked] = [m for m in outbox.messages(handle="cat") if m.state == "parked"]
    return parked


def test_an_admin_redelivers_a_parked_message_over_http(org: Org, outbox: Outbox) -> None:
    parked = a_parked_message(org, outbox)

    not_parked = org.post("ada", "/v1/delivery/messages/nonsense/redeliver")
    assert not_parked.status_code == 404 and "no parked message" in not_parked.json()["detail"]
    back = org.post("ada", f"/v1/delivery/messages/{parked.message_id}/redeliver")
    assert back.status_code == 200 and back.json()["state"] == "pending"
    log = org.get("ada", "/v1/delivery/messages", person="cat").json()
    [row] = [m for m in log if m["message_id"] == parked.message_id]
    assert row["state"] == "pending"
    assert row["tries"][0]["detail"].startswith("550"), "the attempts are kept"
