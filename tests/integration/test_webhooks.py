"""Webhooks end to end: a real HTTP receiver on loopback, as its own process, checks every
signature with the ``standardwebhooks`` library and can be made to fail, redirect, hang or
answer too much."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.errors import InvalidInput
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine
from groundswell.delivery import webhooks
from groundswell.delivery.bootstrap import DeliverySettings, build_deliverer, build_outbox
from groundswell.delivery.deliverer import Deliverer
from groundswell.delivery.outbox import PARKED, PENDING, SENT, Outbox
from groundswell.settings import Settings
from tests.scenario import AUTHOR, MANAGER, TEAMMATE, Scenario
from tests.smtp_support import own_domain, shared_smtp
from tests.support import SteppingClock, database_url_or_fail, postgres_schema

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://ideas.example.com"


class Receiver:
    def __init__(self, directory: Path, secret: str) -> None:
        self.directory = directory
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.webhook_receiver", str(directory), secret],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self.process.stdout is not None
        self.address = self.process.stdout.readline().strip()
        assert self.address, "the receiver did not start"

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.address}{path}"

    def mode(self, mode: str) -> None:
        (self.directory / "mode").write_text(mode)

    def received(self) -> list[dict[str, Any]]:
        log = self.directory / "received.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Place:
    def __init__(self, settings: Settings, directory: Path) -> None:
        self.clock = SteppingClock()
        self.engine: Engine = build_engine(settings, clock=self.clock)
        self.story = Scenario(self.engine).with_cast()
        self.outbox: Outbox = build_outbox(settings)
        self.directory = directory
        self.receivers: list[Receiver] = []

    def endpoint(
        self, type_: str = "cloudevents", kinds: list[str] | None = None
    ) -> tuple[webhooks.Endpoint, Receiver]:
        probe = webhooks.new_secret()
        receiver = Receiver(self.directory / f"r{len(self.receivers)}", probe)
        self.receivers.append(receiver)
        endpoint = webhooks.Endpoint(
            "e" + str(len(self.receivers)),
            receiver.url(),
            type_,
            kinds or [],
            probe,
            "2026-03-01T00:00:00.000000+00:00",
        )
        self.outbox.add_endpoint(endpoint)
        return endpoint, receiver

    def deliverer(self, **options: Any) -> Deliverer:
        delivery = DeliverySettings(shared_smtp().url, "ideas@groundswell.example", BASE)
        return build_deliverer(self.engine, self.outbox, delivery, self.clock, **options)

    def close(self) -> None:
        for receiver in self.receivers:
            receiver.stop()
        self.outbox.close()
        self.engine.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "sqlite":
        made = Place(Settings(data_dir=tmp_path), tmp_path)
        yield made
        made.close()
        return
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        made = Place(Settings(database_url=url, postgres_schema=schema), tmp_path)
        yield made
        made.close()


def test_a_cloudevent_per_notice_signed_per_standard_webhooks(place: Place) -> None:
    endpoint, receiver = place.endpoint()
    only_points, points_receiver = place.endpoint(kinds=["points"])
    idea = place.story.idea(place.story.challenge(), "accepted", team=(TEAMMATE,))

    place.deliverer().drain()

    got = receiver.received()
    assert got and all(r["verified"] for r in got), "standardwebhooks accepts every signature"
    accepted = [json.loads(r["body"]) for r in got if "was accepted" in r["body"]]
    [event] = accepted
    assert event["specversion"] == "1.0"
    assert event["type"] == "org.groundswell.notification.ideas"
    assert event["source"] == BASE and event["subject"] == f"idea/{idea}"
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["link"] == f"{BASE}/web/ideas/{idea}"
    assert sorted(event["data"]["to"]) == [AUTHOR, TEAMMATE]
    [header] = [r["headers"] for r in got if "was accepted" in r["body"]]
    assert header["content-type"] == "application/cloudevents+json"
    assert header["webhook-id"] == event["id"]
    [row] = [m for m in place.outbox.messages(state=SENT) if m.message_id == event["id"]]
    assert row.channel == f"webhook:{endpoint.endpoint_id}"
    assert points_receiver.received() == [], "no points were granted: nothing for that endpoint"
    assert only_points.kinds == ["points"]


def test_one_endpoint_s_messages_share_a_connection_and_one_closed_while_idle_loses_nothing(
    place: Place,
) -> None:
    _, receiver = place.endpoint()
    challenge = place.story.challenge()
    for n in range(3):
        place.story.idea(challenge, "rejected", title=f"Kept {n}")
    deliverer = place.deliverer(lanes=1)
    deliverer.drain()
    kept = receiver.received()
    assert len(kept) == 3 and len({r["port"] for r in kept}) == 1, "one keep-alive connection"

    # The receiver closes each connection after answering, without saying so: the next
    # request finds it closed and is sent again on a new one, within the same attempt.
    receiver.mode("drop")
    for n in range(3):
        place.story.idea(challenge, "rejected", title=f"Dropped {n}")
    deliverer.drain()
    dropped = [json.loads(r["body"]) for r in receiver.received()[3:]]
    assert [b["data"]["text"].split("”")[0] for b in dropped] == [f"“Dropped {n}" for n in range(3)]
    sent = [m for m in place.outbox.messages(state=SENT) if m.channel != "email"]
    assert len(sent) == 6 and all(m.attempts == 1 for m in sent)


def test_lanes_send_side_by_side_and_keep_each_subject_s_webhooks_in_order(
    place: Place,
) -> None:
    _, receiver = place.endpoint()
    challenge = place.story.challenge()
    ideas = [place.story.idea(challenge, "accepted", title=f"Lane {n}") for n in range(8)]
    place.deliverer(lanes=4).drain()

    got = receiver.received()
    bodies = [json.loads(r["body"]) for r in got]
    sent = [m for m in place.outbox.messages(state=SENT) if m.channel != "email"]  # in line
    assert sorted(b["id"] for b in bodies) == sorted(m.message_id for m in sent)
    for idea in ideas:
        in_line = [m.message_id for m in sent if m.notice["subject_id"] == str(idea)]
        assert len(in_line) > 1, "several notices about each idea"
        assert [b["id"] for b in bodies if b["subject"] == f"idea/{idea}"] == in_line
    assert 1 < len({r["port"] for r in got}) <= 4, "up to four connections, each kept alive"


def test_slack_and_teams_hear_text_with_a_link(place: Place) -> None:
    _, slack = place.endpoint("slack")
    _, teams = place.endpoint("teams")
    idea = place.story.idea(place.story.challenge(), "rejected")

    place.deliverer().drain()

    link = f"{BASE}/web/ideas/{idea}"
    [to_slack] = [json.loads(r["body"]) for r in slack.received()]
    said = "“Scan delivery notes” was rejected: We tried this in 2019."
    assert to_slack == {"text": f"{said} <{link}|See it in groundswell>"}
    [to_teams] = [json.loads(r["body"]) for r in teams.received()]
    assert to_teams["text"].endswith(f"[See it in groundswell]({link})")


def test_a_failing_receiver_gets_retries_with_the_same_id_then_everything_in_order(
    place: Place,
) -> None:
    _, receiver = place.endpoint()
    receiver.mode("fail")
    challenge = place.story.challenge()
    for n in range(3):
        place.story.idea(challenge, "rejected", title=f"Idea {n}")
    deliverer = place.deliverer()
    deliverer.drain()
    place.clock.advance(seconds=11)
    deliverer.drain()

    first_tries = receiver.received()
    assert (
        len(first_tries) == 2
        and first_tries[0]["headers"]["webhook-id"] == first_tries[1]["headers"]["webhook-id"]
    )
    pending = place.outbox.messages(state=PENDING)
    assert len(pending) == 3
    assert [a.detail[:3] for a in place.outbox.attempts(pending[0].message_id)] == ["500", "500"]

    receiver.mode("ok")
    place.clock.advance(seconds=30)
    deliverer.drain()

    # The one held back goes first, alone; the others (other subjects) then in lanes.
    bodies = [json.loads(r["body"]) for r in receiver.received()[2:]]
    said = [b["data"]["text"].split("”")[0] for b in bodies]
    assert said[0] == "“Idea 0" and sorted(said[1:]) == ["“Idea 1", "“Idea 2"]
    assert bodies[0]["id"] == first_tries[0]["headers"]["webhook-id"]
    assert len(place.outbox.messages(state=SENT)) == 3


def test_a_redirect_is_not_followed_and_the_message_parked_until_redelivered(place: Place) -> None:
    _, receiver = place.endpoint()
    receiver.mode("redirect")
    place.story.idea(place.story.challenge(), "rejected")
    deliverer = place.deliverer()
    deliverer.drain()

    [parked] = place.outbox.messages(state=PARKED)
    [attempt] = place.outbox.attempts(parked.message_id)
    assert attempt.detail == "302: redirects are not followed (to https://example.com/elsewhere)"
    assert len(receiver.received()) == 1

    receiver.mode("ok")
    assert place.outbox.redeliver(parked.message_id, place.clock())
    deliverer.drain()
    assert [m.state for m in place.outbox.messages() if m.channel != "email"] == [SENT]
    assert len(place.outbox.attempts(parked.message_id)) == 2


def test_a_huge_answer_is_cut_and_a_hanging_one_timed_out(place: Place) -> None:
    _, receiver = place.endpoint()
    receiver.mode("huge")
    place.story.idea(place.story.challenge(), "rejected", title="First")
    # A generous timeout for the huge answer: the receiver, a process of its own on a loaded
    # machine, may take a while to start answering; only the hanging one is timed out.
    place.deliverer(webhook_timeout=30.0).drain()
    [sent] = place.outbox.messages(state=SENT)
    assert place.outbox.attempts(sent.message_id)[0].detail == "200 (response cut at 65536 bytes)"

    receiver.mode("hang")
    place.story.idea(place.story.challenge(), "rejected", title="Second")
    place.deliverer(webhook_timeout=1.0).drain()
    [waiting] = place.outbox.messages(state=PENDING)
    assert place.outbox.attempts(waiting.message_id)[0].detail == "no answer within 1 s"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https only"),
        ("ftp://127.0.0.1/x", "is not an http(s) URL"),
        ("https:///nohost", "is not an http(s) URL"),
    ],
)
def test_an_endpoint_must_be_https_unless_on_loopback(place: Place, url: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason.replace("(", r"\(").replace(")", r"\)")):
        webhooks.register(place.outbox, url, "cloudevents", [], "2026-03-01T00:00:00+00:00")
    assert place.outbox.endpoints() == []
    for fine in ("https://hooks.example.com/x", "http://127.0.0.1:9/x", "http://[::1]:9/x"):
        webhooks.register(place.outbox, fine, "slack", ["ideas"], "2026-03-01T00:00:00+00:00")
    assert len(place.outbox.endpoints()) == 3
    with pytest.raises(InvalidInput, match="cloudevents, slack, teams"):
        webhooks.register(place.outbox, "https://x.example", "discord", [], "x")
    assert MANAGER


def test_an_endpoint_failing_for_a_day_is_disabled_until_an_admin_enables_it(
    place: Place,
) -> None:
    endpoint, receiver = place.endpoint()
    receiver.mode("fail")
    domain = own_domain()
    for handle, roles in (("ada", ["admin"]), ("adi", ["admin"]), ("con", ["contributor"])):
        place.engine.register_person(
            handle, name=handle.title(), department="IT", roles=roles, email=f"{handle}@{domain}"
        )
    place.engine.choose_notifications("adi", "webhooks", "off", actor="adi")
    challenge = place.story.challenge()
    place.story.idea(challenge, "rejected", title="First")
    deliverer = place.deliverer()
    for _ in range(15):
        deliverer.drain()
        place.clock.advance(hours=2)
    # The administrators are told (as they chose: adi turned these off); nobody else is.
    told = [m for m in shared_smtp().received(domain) if "was disabled" in str(m["Subject"])]
    assert [str(m["To"]) for m in told] == [f"ada@{domain}"]
    assert str(told[0]["X-Groundswell-Kind"]) == "webhooks"
    assert endpoint.endpoint_id in str(told[0]["Subject"])
    [skipped] = [m for m in place.outbox.messages(handle="adi") if m.kind == "webhooks"]
    assert skipped.state == "skipped"

    [first] = [m for m in place.outbox.messages(state=PARKED)]
    [disabled] = place.outbox.endpoints()
    assert disabled.disabled is not None and disabled.disabled.startswith("failing for a day (500")
    tries = len(receiver.received())
    assert tries == first.attempts > 5

    place.story.idea(challenge, "rejected", title="Second")
    deliverer.drain()
    assert len(receiver.received()) == tries, "nothing is sent to a disabled endpoint"
    second = next(
        m for m in place.outbox.messages(state=PARKED) if m.message_id != first.message_id
    )
    assert second.last_error is not None and "the endpoint is disabled" in second.last_error

    receiver.mode("ok")
    assert place.outbox.disable_endpoint(endpoint.endpoint_id, None)
    for parked in (first, second):
        assert place.outbox.redeliver(parked.message_id, place.clock())
    deliverer.drain()
    assert len([m for m in place.outbox.messages(state=SENT) if m.channel != "email"]) == 2
