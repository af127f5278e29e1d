"""The HTTP API in production mode: PostgreSQL store → relay → Kafka → projectors → reads.

A client never sees its own write missing: a read with ``at_least`` waits until the
relay has published that position and the projection has consumed, in every
partition, up to the offsets the relay recorded with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from consumers.kafka_projector import KafkaProjector
from groundswell.bootstrap import build_kafka_projector, build_relay
from groundswell.publish.relay import Relay, ensure_topic
from groundswell.settings import Settings
from groundswell.web.session import COOKIE
from tests.http_support import Org, challenge_terms, served_org
from tests.integration.kafka_support import kafka_servers_fixture, unique_topic
from tests.support import database_url_or_fail, postgres_schema

__all__ = ["kafka_servers_fixture"]
pytestmark = pytest.mark.postgres
FED = ("directory", "balances", "notifications", "leaderboard", "follow_up")


@pytest.fixture
def kafka_org(kafka_servers: str) -> Iterator[tuple[Org, Relay]]:
    """The API on PostgreSQL with the relay and the projectors its reads need beside it."""
    with postgres_schema(database_url_or_fail()) as schema:
        settings = replace(
            Settings(database_url=database_url_or_fail(), postgres_schema=schema),
            kafka_bootstrap_servers=kafka_servers,
            kafka_topic=unique_topic("http"),
        )
        org = served_org(settings)
        ensure_topic(kafka_servers, settings.kafka_topic)
        relay = build_relay(org.engine, settings)
        relay.start_in_thread()
        # Groups of this test's own: a member left in a shared group by an earlier test
        # would hold up the rebalance until its session times out.
        projectors: list[KafkaProjector] = [
            build_kafka_projector(settings, n, group_id=f"{settings.kafka_topic}.{n}") for n in FED
        ]
        threads = [threading.Thread(target=p.run, daemon=True) for p in projectors]
        for thread in threads:
            thread.start()
        # Joining five consumer groups takes a few seconds; the reads below wait only 2 s.
        deadline = time.monotonic() + 30
        while not all(p.assigned for p in projectors) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield org, relay
        finally:
            for projector in projectors:
                projector.stop()
            for thread in threads:
                thread.join(10)
            for projector in projectors:
                projector.store.close()
            relay.close()
            org.client.close()
            org.client.app.state.api.reads.close()
            org.engine.close()


def cookie(org: Org, handle: str) -> str:
    return f"{COOKIE}={org.session(handle)}"


def patiently(read: Callable[[], Any], seconds: float = 120) -> Any:
    """Read as a client does: on 503 (read models not caught up yet) wait Retry-After and
    ask again. On a loaded 2-core host the consumer groups can take a while to start."""
    deadline = time.monotonic() + seconds
    answer = read()
    while answer.status_code == 503 and time.monotonic() < deadline:
        time.sleep(float(answer.headers.get("retry-after", "1")))
        answer = read()
    return answer


def test_a_contributor_sees_their_own_write_through_kafka(kafka_org: tuple[Org, Relay]) -> None:
    org, _ = kafka_org
    challenge = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    assert org.post("mia", f"/v1/challenges/{challenge}/open").status_code == 200
    submitted = org.post(
        "cat", f"/v1/challenges/{challenge}/ideas", {"title": "Carts", "description": "Stage"}
    )
    assert submitted.status_code == 201
    idea, position = submitted.json()["id"], submitted.json()["position"]

    mine = patiently(lambda: org.get("cat", "/v1/me/ideas", at_least=position))
    assert mine.status_code == 200, mine.text
    assert [i["idea_id"] for i in mine.json()["items"]] == [idea]
    assert mine.json()["position"] >= position

    org.post("mia", f"/v1/ideas/{idea}/review")
    org.post("mia", f"/v1/ideas/{idea}/accept", {"note": "Try it on line 3"})
    paid = org.post("mia", "/v1/rewards", {"reason": "idea-accepted", "subject_id": idea})
    assert paid.status_code == 200, paid.json()
    at = paid.json()["position"]
    ledger = patiently(lambda: org.get("cat", "/v1/me/ledger", at_least=at)).json()
    assert ledger.get("balance") == 50, ledger
    assert [e["reason"] for e in ledger["entries"]["items"]] == ["idea-accepted"]
    news = patiently(lambda: org.get("cat", "/v1/me/notifications", at_least=at)).json()["items"]
    assert any("accepted" in n["text"] for n in news)
    ranked = patiently(lambda: org.get("mia", "/v1/leaderboard", at_least=at))
    assert ranked.status_code == 200, ranked.text
    board = ranked.json()["items"]
    assert [(s["handle"], s["points"]) for s in board] == [("cat", 50)]

    # The web pages read the same Kafka-fed read models at a position.
    home = patiently(
        lambda: org.client.get(f"/web/me?at_least={at}", headers={"Cookie": cookie(org, "cat")})
    )
    assert home.status_code == 200
    assert '<strong id="balance-points">50</strong>' in home.text and "Carts" in home.text
    story = patiently(
        lambda: org.client.get(
            f"/web/ideas/{idea}?at_least={at}", headers={"Cookie": cookie(org, "mia")}
        )
    )
    assert story.status_code == 200 and "Accepted by Mia Manager" in story.text


def test_a_write_not_yet_relayed_answers_503_then_shows_once_relayed(
    kafka_org: tuple[Org, Relay],
) -> None:
    org, relay = kafka_org
    challenge = org.post("mia", "/v1/challenges", challenge_terms()).json()["id"]
    org.post("mia", f"/v1/challenges/{challenge}/open")
    relay.stop()  # Kafka hears nothing more; the store keeps accepting commands
    submitted = org.post(
        "cat", f"/v1/challenges/{challenge}/ideas", {"title": "Carts", "description": "Stage"}
    ).json()

    waiting = org.get("cat", "/v1/me/ideas", at_least=submitted["position"])
    assert waiting.status_code == 503
    assert waiting.headers["retry-after"] == "1"
    assert waiting.headers["content-type"] == "application/problem+json"
    assert waiting.json()["field"] == "at_least"

    page = org.client.get(
        f"/web/me?at_least={submitted['position']}", headers={"Cookie": cookie(org, "cat")}
    )
    assert page.status_code == 503 and page.headers["retry-after"] == "1"
    assert "not yet at" in page.text  # an HTML page saying so; the live script retries

    relay.start_in_thread()
    shown = patiently(lambda: org.get("cat", "/v1/me/ideas", at_least=submitted["position"]))
    assert shown.status_code == 200
    assert [i["idea_id"] for i in shown.json()["items"]] == [submitted["id"]]
