"""The pages' server-side sessions (issue 21, item 3): an opaque id in the cookie, only its
hash stored, idle and absolute timeouts, ended by sign-out and by revoking the token the
session was begun with; on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from groundswell.access.sessions import SqlSessions, hash_session
from groundswell.settings import Settings
from groundswell.web.session import COOKIE
from tests.e2e.test_web_pages import OURS
from tests.http_support import Org, served_org, signed_in


def sessions(org: Org) -> SqlSessions:
    found: SqlSessions = org.client.app.state.sessions  # type: ignore[attr-defined]
    return found


def reads_home(org: Org, session: str) -> bool:
    answer = org.client.get("/web/me", headers={"Cookie": f"{COOKIE}={session}"},
                            follow_redirects=False)  # fmt: skip
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/web/sign-in"), answer.headers
        return False
    assert answer.status_code == 200, answer.text
    return True


def test_the_store_keeps_the_sessions_hash_and_no_token(org: Org) -> None:
    org.client.base_url = org.client.base_url.copy_with(host="localhost")
    session = signed_in(org.client, f"Bearer {org.tokens['cat']}")
    org.client.cookies.clear()
    rows = sessions(org)._run("SELECT * FROM web_sessions")
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert session not in stored and org.tokens["cat"] not in stored
    assert hash_session(session) in stored and "cat" in stored and "token" in stored
    assert reads_home(org, session)


def test_a_cookie_holding_a_token_or_anything_else_is_no_session(org: Org) -> None:
    """The cookie of old held the bearer token itself: it opens nothing now."""
    for cookie in (org.tokens["cat"], "", "x" * 43, hash_session(org.session("cat"))):
        assert not reads_home(org, cookie)
    assert reads_home(org, org.session("cat"))


def test_a_session_ends_after_its_idle_time_and_after_its_absolute_time(org: Org) -> None:
    store = sessions(org)
    assert (store.idle, store.absolute) == (timedelta(hours=8), timedelta(days=7))
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    moment = [start]
    store.now = lambda: moment[0]

    idle = store.start("cat", "token", token=org.tokens["cat"])
    moment[0] = start + timedelta(hours=7, minutes=59)
    assert reads_home(org, idle)  # used: its idle time starts again
    moment[0] += timedelta(hours=7, minutes=59)
    assert reads_home(org, idle)
    moment[0] += timedelta(hours=8, minutes=1)
    assert not reads_home(org, idle)
    moment[0] = start + timedelta(hours=1)
    assert not reads_home(org, idle)  # deleted, not merely out of date

    moment[0] = start
    busy = store.start("cat", "token", token=org.tokens["cat"])
    while moment[0] < start + timedelta(days=7) - timedelta(hours=6):
        moment[0] += timedelta(hours=6)
        assert reads_home(org, busy), moment[0]
    moment[0] = start + timedelta(days=7, minutes=1)
    assert not reads_home(org, busy)


def test_sign_out_ends_only_that_session_and_a_replayed_cookie_is_refused(org: Org) -> None:
    laptop, phone = org.session("cat"), sessions(org).start("cat", "token", token=org.tokens["cat"])
    before = org.engine.last_position
    out = org.client.post("/web/sign-out", headers={"Cookie": f"{COOKIE}={laptop}", **OURS},
                          follow_redirects=False)  # fmt: skip
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in"
    assert f'{COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert not reads_home(org, laptop)
    assert reads_home(org, phone)
    assert sessions(org)._run(
        f"SELECT count(*) FROM web_sessions WHERE session_hash = {sessions(org).mark}",
        (hash_session(laptop),),
    ) == [(0,)]
    assert org.engine.last_position == before


def test_signing_in_again_ends_the_session_the_browser_had(org: Org) -> None:
    earlier = org.session("cat")
    again = org.client.post(
        "/web/sign-in",
        data={"token": org.tokens["dan"]},
        headers={"Cookie": f"{COOKIE}={earlier}", **OURS},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert not reads_home(org, earlier)
    assert reads_home(org, again.cookies[COOKIE])


def test_sign_out_from_another_site_ends_nothing(org: Org) -> None:
    session = org.session("cat")
    out = org.client.post(
        "/web/sign-out",
        headers={"Cookie": f"{COOKIE}={session}", "Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert out.status_code == 403
    assert reads_home(org, session)


@pytest.mark.parametrize(
    ("variable", "text"),
    [("GROUNDSWELL_SESSION_IDLE_HOURS", "0"), ("GROUNDSWELL_SESSION_ABSOLUTE_HOURS", "soon"),
     ("GROUNDSWELL_SESSION_ABSOLUTE_HOURS", "9999")],
)  # fmt: skip
def test_session_timeouts_are_read_from_the_environment(variable: str, text: str) -> None:
    with pytest.raises(ValueError, match=variable):
        Settings.from_environment({variable: text})
    read = Settings.from_environment(
        {"GROUNDSWELL_SESSION_IDLE_HOURS": "0.5", "GROUNDSWELL_SESSION_ABSOLUTE_HOURS": "48"}
    )
    assert (read.session_idle_hours, read.session_absolute_hours) == (0.5, 48.0)


@pytest.mark.timeout(60)
def test_a_live_stream_ends_soon_after_its_session_is_signed_out(tmp_path: Path) -> None:
    org = served_org(Settings(data_dir=tmp_path, live_recheck_seconds=0.5))
    session = org.session("cat")
    cookie = {"Cookie": f"{COOKIE}={session}"}
    try:
        with org.client.stream("GET", "/web/live?since=0", headers=cookie) as stream:
            assert stream.status_code == 200
            lines = stream.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: position"
            sessions(org).end(session)  # as the sign-out form does, in another tab
            rest = list(lines)  # ends when the server ends the stream
        assert "event: signed-out" in rest, rest
    finally:
        org.client.close()
        org.engine.close()
