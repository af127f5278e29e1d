"""Company sign-in over HTTP (issue 21, items 1 and 2), without a browser: the start of the
flow (PKCE S256, state, nonce), callbacks with a wrong, foreign or reused state, the
identity provider down, and just-in-time provisioning from claims, hostile ones included.
The flow through a real Keycloak is tests/browser/test_company_sign_in_chromium.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from domain.person import Person, person_id
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_http_app
from groundswell.identity.keys import ProviderKeys
from groundswell.identity.settings import OidcSettings
from groundswell.loopback import free_port
from groundswell.settings import Settings
from groundswell.web.company import STATE_COOKIE
from groundswell.web.provisioning import Refused, provision
from groundswell.web.render import company_headers
from tests.http_support import Org

ISSUER = "http://127.0.0.1:{port}/realms/acme"


class StaticProvider:
    """A provider that answers its discovery document from memory; its endpoints are on a
    port nobody listens on (a code exchange meets a provider that is down)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/protocol/openid-connect/auth",
            "token_endpoint": f"{self.issuer}/protocol/openid-connect/token",
            "end_session_endpoint": f"{self.issuer}/protocol/openid-connect/logout",
        }

    def keys(self, kid: str | None = None) -> Any:
        raise AssertionError("no test here gets as far as an ID token")


def company(org: Org, provider: Any = None, **settings: Any) -> OidcSettings:
    issuer = ISSUER.format(port=free_port())
    oidc = OidcSettings(issuer=issuer, client_id="groundswell", client_secret="s3cret",
                        roles={"innovation-managers": ("manager",)}, **settings)  # fmt: skip
    state = org.client.app.state  # type: ignore[attr-defined]
    state.oidc = oidc
    state.oidc_provider = provider or StaticProvider(issuer)
    state.page_headers = company_headers(issuer)
    return oidc


def test_the_settings_set_company_sign_in_up(tmp_path: Path) -> None:
    env = {"GROUNDSWELL_OIDC_ISSUER": "https://login.example.com/acme",
           "GROUNDSWELL_OIDC_CLIENT_ID": "groundswell"}  # fmt: skip
    settings = replace(Settings.from_environment(env), data_dir=tmp_path)
    engine = build_engine(settings)
    try:
        state = build_http_app(settings, engine).state
        assert state.oidc.issuer == "https://login.example.com/acme"
        assert isinstance(state.oidc_provider, ProviderKeys)
        assert state.oidc_provider is state.api.identity.keys  # one fetch for API and pages
        policy = state.page_headers["Content-Security-Policy"]
        assert "form-action 'self' https://login.example.com;" in policy
        state.sessions.close()
    finally:
        engine.close()


@pytest.fixture
def local(org: Org) -> Iterator[Org]:
    """The org on a loopback Host (http://localhost), as `make run` serves it."""
    org.client.base_url = org.client.base_url.copy_with(host="localhost")
    yield org


def jar(state: str) -> dict[str, str]:
    return {"Cookie": f"{STATE_COOKIE}={state}"}


def start(org: Org) -> tuple[str, dict[str, list[str]]]:
    answer = org.client.get("/web/sign-in/company?next=/web/me", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    target = urlsplit(answer.headers["location"])
    return answer.cookies[STATE_COOKIE], parse_qs(target.query)


def test_without_oidc_the_sign_in_page_offers_tokens_only(local: Org) -> None:
    page = local.client.get("/web/sign-in").text
    assert "company account" not in page and 'name="token"' in page
    assert local.client.get("/web/sign-in/company").status_code == 404


def test_the_company_sign_in_starts_with_pkce_state_and_nonce(local: Org) -> None:
    oidc = company(local)
    page = local.client.get("/web/sign-in?next=/web/me").text
    assert "Sign in with your company account" in page and 'name="token"' in page
    assert "/web/sign-in/company?next=/web/me" in page
    cookie, query = start(local)
    assert query["response_type"] == ["code"] and query["client_id"] == ["groundswell"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"] == [cookie] and len(query["nonce"][0]) >= 32
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"] == ["http://localhost/web/sign-in/callback"]
    # The verifier stays on the server: the browser sees only its S256 challenge.
    rows = local.client.app.state.sessions._run("SELECT verifier FROM web_sign_ins")  # type: ignore[attr-defined]
    assert len(rows) == 1 and rows[0][0] not in str(query)
    # The pages let the sign-out form go on to the provider's sign-out page, nowhere else.
    policy = local.client.get("/web/sign-in").headers["content-security-policy"]
    assert f"form-action 'self' http://{urlsplit(oidc.issuer).netloc};" in policy


def test_a_callback_with_a_wrong_foreign_or_reused_state_is_refused(local: Org) -> None:
    company(local)
    before = local.engine.last_position
    cookie, query = start(local)
    state = query["state"][0]
    callback = "/web/sign-in/callback"
    for params, cookies in (
        ({"state": "forged", "code": "c"}, jar(cookie)),  # wrong state
        ({"state": state, "code": "c"}, {}),  # another browser (login CSRF)
        ({"code": "c"}, jar(cookie)),  # no state
    ):
        local.client.cookies.clear()
        refused = local.client.get(callback, params=params, headers=cookies)
        assert refused.status_code == 400, refused.text
        assert "out of date, was used already, or was started in another browser" in refused.text
    # The right state once: the code exchange meets a provider that is down (a clear page) ...
    local.client.cookies.clear()
    down = local.client.get(callback, params={"state": state, "code": "c"},
                            headers=jar(cookie))  # fmt: skip
    assert down.status_code == 503 and "does not answer just now" in down.text
    # ... and the same state again finds nothing: single use.
    local.client.cookies.clear()
    again = local.client.get(callback, params={"state": state, "code": "c"},
                             headers=jar(cookie))  # fmt: skip
    assert again.status_code == 400 and "was used already" in again.text
    assert local.engine.last_position == before
    assert local.client.app.state.sessions._run("SELECT * FROM web_sessions") == []  # type: ignore[attr-defined]


def test_the_provider_saying_no_is_told_as_it_said_it(local: Org) -> None:
    company(local)
    cookie, query = start(local)
    local.client.cookies.clear()
    said = local.client.get(
        "/web/sign-in/callback",
        params={"state": query["state"][0], "error": "access_denied",
                "error_description": "<script>alert(1)</script>"},
        headers=jar(cookie),
    )  # fmt: skip
    assert said.status_code == 401 and "access_denied" in said.text
    assert "<script>alert(1)" not in said.text and "&lt;script&gt;" in said.text


def test_an_identity_provider_that_is_down_gets_a_clear_page(local: Org) -> None:
    down = OidcSettings(issuer=ISSUER.format(port=free_port()), client_id="groundswell",
                        timeout_seconds=2)  # fmt: skip
    company(local, ProviderKeys(down))
    local.client.app.state.oidc = down  # type: ignore[attr-defined]
    answer = local.client.get("/web/sign-in/company", follow_redirects=False)
    assert answer.status_code == 503
    assert "does not answer just now" in answer.text and "token" in answer.text
    assert local.client.get("/web/sign-in").status_code == 200  # token sign-in still there


# -- just-in-time provisioning ---------------------------------------------------------------


def oidc_settings(**changed: Any) -> OidcSettings:
    return OidcSettings(
        issuer="https://idp.example/realms/acme", client_id="groundswell",
        roles={"innovation-managers": ("manager",), "admins": ("admin",)}, **changed,
    )  # fmt: skip


def claims(**changed: Any) -> dict[str, Any]:
    found = {"preferred_username": "carl", "name": "Carl Engineer",
             "email": "carl@example.com", "department": "Engineering", "groups": []}  # fmt: skip
    return {**found, **changed}


def events_of(engine: Engine, handle: str) -> list[str]:
    return [type(e).__qualname__ for e in engine.events.get(person_id(handle))]


def test_a_first_sign_in_registers_the_person_and_later_ones_record_only_changes(
    engine: Engine,
) -> None:
    oidc = oidc_settings()
    assert provision(engine, oidc, claims()) == "carl"
    carl = engine.person("carl")
    assert (carl.name, carl.department, carl.roles, carl.email) == (
        "Carl Engineer", "Engineering", ["contributor"], "carl@example.com",
    )  # fmt: skip
    first = events_of(engine, "carl")
    assert first[0] == "Person.Registered"
    provision(engine, oidc, claims())
    assert events_of(engine, "carl") == first  # nothing changed, nothing recorded
    provision(engine, oidc, claims(department="Research", groups=["innovation-managers"]))
    assert events_of(engine, "carl") == [*first, "Person.DepartmentChanged",
                                         "Person.RolesChanged"]  # fmt: skip
    carl = engine.person("carl")
    assert (carl.department, carl.roles) == ("Research", ["manager"])


def test_a_person_without_a_department_is_refused_or_given_the_default(engine: Engine) -> None:
    before = engine.last_position
    with pytest.raises(Refused, match=r"no department .*'department' claim.*administrator"):
        provision(engine, oidc_settings(), claims(department=None, preferred_username="nora"))
    assert engine.last_position == before
    placed = oidc_settings(default_department="Unassigned")
    provision(engine, placed, claims(department="  ", preferred_username="nora"))
    assert engine.person("nora").department == "Unassigned"


@pytest.mark.parametrize(
    ("changed", "said"),
    [
        ({"preferred_username": "<@>"}, "makes no groundswell handle"),
        ({"preferred_username": None}, "makes no groundswell handle"),
        ({"preferred_username": "system"}, "reserved"),
        ({"name": "Carl \u202eliaM"}, "name"),
        ({"department": "R&D" + "x" * 500}, "department"),
        ({"department": ["Engineering"]}, "no department"),
        ({"email": "carl@@example"}, "e-mail"),
    ],
    ids=["handle-markup", "no-handle", "reserved-handle", "name-direction-control",
         "department-too-long", "department-not-text", "bad-email"],
)  # fmt: skip
def test_hostile_claims_are_refused_and_write_nothing(
    memory: Engine, changed: dict[str, Any], said: str
) -> None:
    before = memory.last_position
    with pytest.raises(Refused) as refused:
        provision(memory, oidc_settings(), claims(**changed))
    assert said in str(refused.value), refused.value
    assert memory.last_position == before


def test_markup_in_a_department_is_kept_as_text_and_shown_escaped(local: Org) -> None:
    markup = claims(department="R&D <b>bold</b>", preferred_username="<b>Carl@Example.com")
    assert provision(local.engine, oidc_settings(), markup) == "b-carl"  # as the API maps it
    assert isinstance(local.engine.person("b-carl"), Person)
    session = local.client.app.state.sessions.start("b-carl", "oidc")  # type: ignore[attr-defined]
    home = local.client.get("/web/me", headers={"Cookie": f"groundswell_session={session}"})
    assert home.status_code == 200
    assert "<b>bold</b>" not in home.text and "R&amp;D &lt;b&gt;bold&lt;/b&gt;" in home.text
