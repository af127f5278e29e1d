"""Issue 16, item 12: what every request meets before its route runs — the token first,
rate limits, allowed hosts — and what every answer and file carries (no-store, 0600),
strict whole numbers, and refusals that name the role wanted."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from groundswell.bootstrap import build_engine, build_http_app, build_read_models, build_tokens
from groundswell.http.gate import SIGNED_LINKS
from groundswell.settings import Settings
from groundswell.web.session import COOKIE
from tests.e2e.test_http_stories import do, open_challenge, refused, submit
from tests.http_support import Org, challenge_terms, served_org
from tests.support import store_item

JSON = {"Content-Type": "application/json"}


# -- 401 before anything else ------------------------------------------------------------


def every_api_route(org: Org) -> list[tuple[str, str]]:
    from fastapi.routing import iter_route_contexts

    contexts = iter_route_contexts(org.client.app.routes)  # type: ignore[attr-defined]
    routes = [c.original_route for c in contexts if isinstance(c.original_route, APIRoute)]
    found = [
        (method, re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), route.path))
        for route in routes
        if route.path.startswith("/v1") and not route.path.startswith(SIGNED_LINKS)
        for method in sorted(route.methods)
    ]
    assert len(found) >= 40
    return found


@pytest.mark.parametrize(
    "credentials",
    [{}, {"Authorization": "Bearer gs_not-a-token"}, {"Authorization": "Basic abc"}],
    ids=["none", "unknown", "not-bearer"],
)
def test_a_request_without_a_valid_token_gets_401_before_anything_is_checked(
    org: Org, credentials: dict[str, str]
) -> None:
    """Malformed JSON, a missing If-Match, a bad Idempotency-Key, an oversized body: none
    of it is looked at before the token (anonymous callers could probe the input rules)."""
    before = org.engine.last_position
    headers = {**JSON, **credentials, "Idempotency-Key": "\x7f", "Content-Length": "999999999"}
    for method, path in every_api_route(org):
        answer = org.client.request(method, path, content=b"{not json", headers=headers)
        assert answer.status_code == 401, (method, path, answer.status_code, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert org.engine.last_position == before


def test_an_anonymous_edit_is_401_not_428(org: Org) -> None:
    challenge = do(org, "mia", "/v1/challenges", challenge_terms(), 201)["id"]
    edit = org.client.patch(f"/v1/challenges/{challenge}", content=b"[", headers=JSON)
    assert refused(edit, 401)["code"] == "sign-in-needed"
    # Signed in, the same request meets the precondition.
    edit = org.client.patch(f"/v1/challenges/{challenge}", json={}, headers=org.auth("mia"))
    assert refused(edit, 428)["code"] == "version-needed"


# -- strict whole numbers ---------------------------------------------------------------

NOT_WHOLE = ["true", "1.0", '"1"', '" 8 "', "1e2", '"7"', "false"]


def days(terms: str, value: str) -> str:
    old = '"decision_deadline_days": 14'
    assert old in terms
    return terms.replace(old, f'"decision_deadline_days": {value}') + "}"


@pytest.mark.parametrize("value", NOT_WHOLE)
def test_whole_numbers_are_never_coerced(org: Org, value: str) -> None:
    """Issue 16: ``"pot": true`` funded a pot of 1 and ``"pot": "7"`` one of 7."""
    challenge = open_challenge(org)
    idea = submit(org, "cat", challenge, "Quick-release clamps")
    lunch = store_item(org.engine, "Lunch", 5)
    before = org.engine.last_position
    terms = json.dumps(challenge_terms()).rstrip("}")
    sent = [
        ("/v1/challenges", "mia", terms + f', "pot": {value}}}', "pot"),
        ("/v1/challenges", "mia", terms + f', "prize_points": [{value}]}}', "prize_points.0"),
        ("/v1/challenges", "mia", days(terms, value), "decision_deadline_days"),
        ("/v1/me/redemptions", "cat", f'{{"item_id": "{lunch}", "points": {value}}}', "points"),
        (f"/v1/challenges/{challenge}/pot", "mia", f'{{"points": {value}}}', "points"),
        (f"/v1/ideas/{idea}/review-scores", "dan", f'{{"score": {value}, "body": ""}}', "score"),
    ]  # fmt: skip
    for path, handle, body, field in sent:
        answer = org.client.post(path, content=body.encode(), headers=org.auth(handle, **JSON))
        problem = refused(answer, 422)
        assert problem["field"] == field, (path, problem)
        assert "valid integer" in problem["detail"], problem
    assert org.engine.last_position == before
    # A whole number is still a whole number.
    answer = org.client.post(
        "/v1/challenges", content=(terms + ', "pot": 8}').encode(), headers=org.auth("mia", **JSON)
    )
    assert answer.status_code == 201, answer.text


# -- answers ----------------------------------------------------------------------------


def test_a_guard_names_the_role_it_wants(org: Org) -> None:
    """Issue 16: the audit routes said "cat needs the  role"."""
    problem = refused(org.get("cat", "/v1/audit/verify"), 403)
    assert problem["detail"] == "cat needs the admin or auditor role.", problem
    problem = refused(org.get("cat", "/v1/follow-up"), 403)
    assert "cat needs the manager or admin or auditor role" in problem["detail"], problem


def test_personal_answers_are_never_stored_by_caches(org: Org) -> None:
    for answer in (
        org.get("cat", "/v1/me"),
        org.client.get("/v1/me"),  # a refusal too
        org.client.get("/web/me", headers={"Cookie": f"{COOKIE}={org.session('cat')}"}),
        org.client.get("/web/sign-in"),
    ):
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    assert "no-store" not in org.client.get("/web/static/live.js").headers.get("cache-control", "")


def test_only_allowed_hosts_are_answered(tmp_path: Path) -> None:
    """A page on another name resolving to this server (DNS rebinding) gets nothing."""
    settings = Settings(data_dir=tmp_path)
    app = build_http_app(settings)
    assert TestClient(app, base_url="http://localhost:8000").get("/healthz").status_code == 200
    assert TestClient(app, base_url="http://127.0.0.1").get("/healthz").status_code == 200
    for host in ("evil.example", "testserver", "localhost.evil.example"):
        answer = TestClient(app, base_url=f"http://{host}").get("/healthz")
        assert answer.status_code == 400, host
    named = build_http_app(Settings(data_dir=tmp_path, allowed_hosts=("ideas.example.com",)))
    assert (
        TestClient(named, base_url="https://ideas.example.com").get("/healthz").status_code == 200
    )
    listed = Settings.from_environment({"GROUNDSWELL_ALLOWED_HOSTS": "a.example, *.b.example"})
    assert listed.allowed_hosts == ("a.example", "*.b.example")


# -- rate limits ------------------------------------------------------------------------


@pytest.fixture
def throttled(tmp_path: Path) -> Any:
    settings = Settings(data_dir=tmp_path, write_limit="3/minute", sign_in_failure_limit="2/minute")
    org = served_org(settings, throttled=True)
    yield org
    org.client.close()
    org.engine.close()


def test_writes_are_limited_per_token_with_retry_after(throttled: Org) -> None:
    org = throttled
    challenge = do(org, "mia", "/v1/challenges", challenge_terms(), 201)["id"]
    do(org, "mia", f"/v1/challenges/{challenge}/open")
    do(org, "mia", f"/v1/challenges/{challenge}/pot", {"points": 5})
    before = org.engine.last_position
    answer = org.post("mia", f"/v1/challenges/{challenge}/pot", {"points": 5})
    problem = refused(answer, 429)
    assert problem["code"] == "too-many-requests"
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert org.engine.last_position == before
    assert org.get("mia", f"/v1/challenges/{challenge}").status_code == 200  # reads go on
    submit(org, "cat", challenge, "Another person's token has its own allowance")
    # The pages' forms count against the same token.
    cookie = {"Cookie": f"{COOKIE}={org.session('mia')}", "Origin": "http://testserver"}
    form = {"form_key": "ab" * 8, "points": "1"}
    page = org.client.post(
        f"/web/challenges/{challenge}/pot", data=form, headers=cookie, follow_redirects=False
    )
    assert page.status_code == 429 and page.headers["retry-after"], page.text


def test_refused_tokens_are_limited_per_address_and_logged_without_the_token(
    throttled: Org, caplog: pytest.LogCaptureFixture
) -> None:
    org = throttled
    guesses = [f"gs_guess-{n}-{uuid.uuid4().hex}" for n in range(3)]
    with caplog.at_level(logging.WARNING, logger="groundswell.http"):
        for guess in guesses[:2]:
            answer = org.client.get("/v1/me", headers={"Authorization": f"Bearer {guess}"})
            assert refused(answer, 401)["code"] == "token-unknown"
        answer = org.client.get("/v1/me", headers={"Authorization": f"Bearer {guesses[2]}"})
        assert refused(answer, 429)["code"] == "too-many-requests"
        assert int(answer.headers["retry-after"]) >= 1
        # The sign-in form counts against the same address.
        form = org.client.post(
            "/web/sign-in",
            data={"token": org.tokens["cat"]},
            headers={"Origin": "http://testserver"},
        )
        assert form.status_code == 429 and "set-cookie" not in form.headers
    logged = [r.getMessage() for r in caplog.records]
    assert len([m for m in logged if "refused an unknown or revoked token" in m]) == 2
    assert not [m for m in logged for g in guesses if g in m or g[3:20] in m], logged


def test_rate_limits_come_from_the_environment_with_a_clear_refusal() -> None:
    env = Settings.from_environment
    assert env({}).write_limit and env({}).sign_in_failure_limit  # on by default
    assert env({"GROUNDSWELL_WRITE_LIMIT": "off"}).write_limit is None
    assert (
        env({"GROUNDSWELL_SIGN_IN_FAILURE_LIMIT": "5/minute"}).sign_in_failure_limit == "5/minute"
    )
    with pytest.raises(ValueError, match="GROUNDSWELL_WRITE_LIMIT must be"):
        env({"GROUNDSWELL_WRITE_LIMIT": "lots"})


# -- files ------------------------------------------------------------------------------


def test_the_embedded_stores_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    settings = Settings(data_dir=data)
    old = os.umask(0o022)  # a permissive umask, as on most machines
    try:
        engine = build_engine(settings)
        engine.register_person("ann", name="Ann", department="Sales", roles=["contributor"])
        tokens = build_tokens(settings)
        tokens.issue("ann", "test")
        models = build_read_models(engine, settings)
        assert models.rows("balances") is not None
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file()]
        assert any(p.name.startswith("readmodel-") for p in files), files
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        tokens.close()
        models.close()
        engine.close()


# -- live updates ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_live_stream_ends_soon_after_its_token_is_revoked(tmp_path: Path) -> None:
    """Issue 16, item 10: an open ``/web/live`` stream outlived its token's revocation."""
    org = served_org(Settings(data_dir=tmp_path, live_recheck_seconds=0.5))
    cookie = {"Cookie": f"{COOKIE}={org.session('cat')}"}
    try:
        with org.client.stream("GET", "/web/live?since=0", headers=cookie) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: position"
            store = build_tokens(org.settings)
            try:
                (issued,) = [t for t in store.list() if t.handle == "cat"]
                store.revoke(issued.token_id)
            finally:
                store.close()
            revoked_at = time.monotonic()
            rest = list(lines)  # ends when the server ends the stream
            took = time.monotonic() - revoked_at
        assert "event: signed-out" in rest, rest
        assert took < 0.5 + 5, took
        # Reconnecting meets the sign-in page, not a stream.
        again = org.client.get("/web/live", headers=cookie, follow_redirects=False)
        assert again.status_code == 303
    finally:
        org.client.close()
        org.engine.close()
