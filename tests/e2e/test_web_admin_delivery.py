"""The webhook and delivery-log pages over HTTP, without a browser: administrators register
(the secret shown once), remove and enable webhooks and redeliver what was parked; everyone
else is refused as the API refuses them; bad input says the API's sentence and changes
nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from markupsafe import escape

from groundswell.delivery.outbox import Outbox
from tests.e2e.test_http_delivery import a_parked_message
from tests.e2e.test_web_pages import form_key, page, send
from tests.http_support import Org

HOOKS, LOG = "/web/admin/webhooks", "/web/admin/delivery"
SECRET = re.compile(r'id="made-secret" readonly value="(whsec_[A-Za-z0-9+/=]+)"')


@pytest.fixture
def outbox(org: Org) -> Iterator[Outbox]:
    opened: Outbox = org.client.app.state.open_outbox()  # type: ignore[attr-defined]
    yield opened
    opened.close()


def test_webhooks_and_the_delivery_log_are_for_administrators_only(
    org: Org, outbox: Outbox
) -> None:
    assert HOOKS in page(org, "ada", "/web/me") and LOG in page(org, "ada", "/web/me")
    assert HOOKS not in page(org, "mia", "/web/me")
    key = form_key(page(org, "ada", HOOKS))
    hook = _register(org, "https://hooks.example.com/a").endpoint_id
    outbox.disable_endpoint(hook, "failing for a day")
    for handle in ("mia", "cat", "aud", "owen"):
        for path in (HOOKS, LOG, f"{LOG}?state=parked"):
            assert "needs the admin role" in page(org, handle, path, 403)
        posts = [
            (HOOKS, {"url": "https://evil.example.com/"}),
            (f"{HOOKS}/{hook}/remove", {"confirm": "yes"}),
            (f"{HOOKS}/{hook}/enable", {}),
            (f"{LOG}/nonsense/redeliver", {}),
        ]
        for path, form in posts:
            refused = send(org, handle, path, {"form_key": key, **form})
            assert refused.status_code == 403, (handle, path, refused.status_code)
            assert "needs the admin role" in refused.text
    [left] = outbox.endpoints()
    assert (left.url, left.disabled) == ("https://hooks.example.com/a", "failing for a day")


def _register(org: Org, url: str) -> Any:
    key = form_key(page(org, "ada", HOOKS))
    made = send(org, "ada", HOOKS, {"form_key": key, "url": url})
    assert made.status_code == 201, made.text
    endpoints = org.client.app.state.open_outbox().endpoints()  # type: ignore[attr-defined]
    return next(e for e in endpoints if e.url == url)


def test_an_administrator_registers_a_webhook_sees_its_secret_once_and_removes_it(
    org: Org, outbox: Outbox
) -> None:
    key = form_key(page(org, "ada", HOOKS))
    form = {"form_key": key, "url": "https://hooks.example.com/ideas", "type": "slack",
            "kinds": ["ideas", "points"]}  # fmt: skip
    made = send(org, "ada", HOOKS, form)
    assert made.status_code == 201 and "Shown once" in made.text
    secret = SECRET.search(made.text).group(1)  # type: ignore[union-attr]
    [endpoint] = outbox.endpoints()
    assert (endpoint.secret, endpoint.type, endpoint.kinds) == (
        secret,
        "slack",
        ["ideas", "points"],
    )
    again = send(org, "ada", HOOKS, form)  # the same form sent twice: registered once
    assert SECRET.search(again.text).group(1) == secret  # type: ignore[union-attr]
    assert len(outbox.endpoints()) == 1
    listing = page(org, "ada", HOOKS)  # a reload: the secret is never shown again
    assert secret not in listing and "made-secret" not in listing
    assert "https://hooks.example.com/ideas" in listing and "ideas, points" in listing

    here = f"{HOOKS}/{endpoint.endpoint_id}"
    key = form_key(listing)
    asked = send(org, "ada", here + "/remove", {"form_key": key})
    assert asked.status_code == 200 and f"Remove webhook {endpoint.endpoint_id} (" in asked.text
    assert len(outbox.endpoints()) == 1
    confirmed = {"form_key": key, "confirm": "yes"}
    assert send(org, "ada", here + "/remove", confirmed).status_code == 303
    assert outbox.endpoints() == []
    assert send(org, "ada", here + "/remove", confirmed).status_code == 303  # sent twice
    unknown = send(org, "ada", here + "/remove", {**confirmed, "form_key": "ab" * 8})
    assert unknown.status_code == 404 and "no webhook endpoint" in unknown.text


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ({"url": "http://example.com/hook"}, "https only (http only to loopback"),
        ({"url": "https://a.example.com", "kinds": ["gossip"]}, "unknown kinds"),
        ({"url": "https://a.example.com", "type": "irc"}, "not 'irc'"),
    ],
)
def test_a_refused_webhook_says_the_apis_sentence_and_registers_nothing(
    org: Org, outbox: Outbox, typed: dict[str, object], said: str
) -> None:
    api = org.post("ada", "/v1/webhooks", typed)
    assert api.status_code == 422 and said in api.json()["detail"]
    key = form_key(page(org, "ada", HOOKS))
    refused = send(org, "ada", HOOKS, {"form_key": key, **typed})
    assert refused.status_code == 422 and str(escape(api.json()["detail"])) in refused.text
    assert 'id="problem"' in refused.text and f'value="{typed["url"]}"' in refused.text
    assert "made-secret" not in refused.text and outbox.endpoints() == []


def test_an_administrator_enables_a_disabled_webhook(org: Org, outbox: Outbox) -> None:
    endpoint = _register(org, "https://hooks.example.com/down")
    outbox.disable_endpoint(endpoint.endpoint_id, "failed for a day: 503")
    shown = page(org, "ada", HOOKS)
    assert ">disabled</span> failed for a day: 503" in shown
    here = f"{HOOKS}/{endpoint.endpoint_id}/enable"
    assert send(org, "ada", here, {"form_key": form_key(shown)}).status_code == 303
    [enabled] = outbox.endpoints()
    assert enabled.disabled is None and ">disabled<" not in page(org, "ada", HOOKS)


def test_the_log_shows_a_parked_message_and_redeliver_puts_it_back_in_line(
    org: Org, outbox: Outbox
) -> None:
    parked = a_parked_message(org, outbox)

    everything = page(org, "ada", LOG)
    assert 'id="parked-note"' in everything and f'id="message-{parked.message_id}"' in everything
    shown = page(org, "ada", f"{LOG}?state=parked&person=cat")
    assert f'id="message-{parked.message_id}"' in shown and "· failed · 550" in shown
    assert f"Redeliver message {parked.message_id}" in shown
    assert parked.message_id not in page(org, "ada", f"{LOG}?person=dan")
    assert parked.message_id not in page(org, "ada", f"{LOG}?state=sent")

    here = f"{LOG}/{parked.message_id}/redeliver"
    form = {"form_key": form_key(shown), "state": "parked", "person": "cat"}
    back = send(org, "ada", here, form)
    assert back.status_code == 303 and back.headers["location"] == f"{LOG}?person=cat&state=parked"
    [again] = [m for m in outbox.messages(handle="cat") if m.message_id == parked.message_id]
    assert again.state == "pending"
    assert send(org, "ada", here, form).status_code == 303  # sent twice: done once
    not_parked = send(org, "ada", here, {**form, "form_key": "cd" * 8})
    assert not_parked.status_code == 404 and "no parked message" in not_parked.text
    pending = page(org, "ada", f"{LOG}?person=cat&state=pending")
    assert parked.message_id in pending and "Redeliver message" not in pending
