"""An organisation served over HTTP for the API tests: people of every role, with tokens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fastapi.testclient import TestClient

from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_http_app, build_tokens
from groundswell.settings import Settings
from tests.support import SteppingClock

# handle → (name, department, roles): one person per role, and a second contributor.
PEOPLE = {
    "ada": ("Ada Admin", "IT", ["admin"]),
    "mia": ("Mia Manager", "R&D", ["manager"]),
    "cat": ("Cat Contributor", "Sales", ["contributor"]),
    "dan": ("Dan Contributor", "Finance", ["contributor"]),
    "owen": ("Owen Owner", "Production", ["contributor", "owner"]),
    "aud": ("Aud Auditor", "Audit", ["auditor"]),
}
ROLE_HOLDER = {
    "admin": "ada",
    "manager": "mia",
    "contributor": "cat",
    "owner": "owen",
    "auditor": "aud",
}


@dataclass
class Org:
    """The served engine, a client, and each person's ``Authorization`` header."""

    client: TestClient
    engine: Engine
    settings: Settings
    clock: SteppingClock
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def session(self, handle: str) -> str:
        """A page session for ``handle``, begun with their token as the sign-in form does
        (tests/e2e/test_sign_in_pasted.py signs in through the form itself)."""
        if handle not in self.sessions:
            started = self.client.app.state.sessions.start  # type: ignore[attr-defined]
            self.sessions[handle] = started(handle, "token", token=self.tokens[handle])
        return self.sessions[handle]

    def auth(self, handle: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[handle]}", **headers}

    def post(self, handle: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.auth(handle, **headers))

    def get(self, handle: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.auth(handle))


def signed_in(client: TestClient, token: str) -> str:
    """Sign in through the pages' form with ``token``; returns the session cookie's value
    (and leaves it in the client's cookies)."""
    from groundswell.web.session import COOKIE

    ours = str(client.base_url).rstrip("/")
    answer = client.post(
        "/web/sign-in", data={"token": token}, headers={"Origin": ours}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    session: str = answer.cookies[COOKIE]
    return session


def served_org(
    settings: Settings, clock: SteppingClock | None = None, throttled: bool = False
) -> Org:
    """Register ``PEOPLE``, issue each a token, and serve the engine to a test client.

    The test client's Host is ``testserver``; tests write and fail sign-ins far faster
    than people, so the rate limits are off unless ``throttled`` (then ``settings``'s)."""
    limits = {} if throttled else {"write_limit": None, "sign_in_failure_limit": None}
    settings = replace(settings, allowed_hosts=(*settings.allowed_hosts, "testserver"), **limits)
    clock = clock or SteppingClock()
    engine = build_engine(settings, clock=clock)
    for handle, (name, department, roles) in PEOPLE.items():
        engine.register_person(handle, name=name, department=department, roles=roles)
    store = build_tokens(settings)
    try:
        tokens = {handle: store.issue(handle, "test")[0] for handle in PEOPLE}
    finally:
        store.close()
    client = TestClient(build_http_app(settings, engine), raise_server_exceptions=False)
    return Org(client, engine, settings, clock, tokens)


def challenge_terms(**overrides: Any) -> dict[str, Any]:
    """A challenge worth taking part in: points for accepted, implemented, helpful, prizes."""
    return {
        "title": "Faster changeovers",
        "question": "How do we halve changeover time on line 3?",
        "sponsor": "Plant manager",
        "target_departments": ["Production", "Sales"],
        "submission_deadline": "2026-06-30",
        "decision_deadline_days": 14,
        "accepted_idea_points": 50,
        "implemented_idea_points": 100,
        "helpful_contribution_points": 10,
        "prize_points": [200, 100],
        "pot": 2000,
        **overrides,
    }
