"""What disabling someone does (issue 21): their API tokens answer 401 saying so, their
page sessions end with the sign-in page telling them why, their company sign-in and the
identity provider's access tokens for them are refused; enabling gives back access, and
the tokens disabling left alone work again. One served app for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from groundswell.app.engine import Engine
from groundswell.http.auth import caller_of_provider_token
from groundswell.http.problems import ApiProblem
from groundswell.settings import Settings
from groundswell.web.provisioning import Refused, provision
from groundswell.web.session import COOKIE
from tests.e2e.test_company_sign_in import claims, events_of, oidc_settings
from tests.http_support import Org, served_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    data: Path = tmp_path_factory.mktemp("disabled")
    served = served_org(Settings(data_dir=data))
    yield served
    served.client.close()
    served.engine.close()


def test_a_disabled_persons_token_answers_401_and_works_again_once_enabled(org: Org) -> None:
    assert org.get("dan", "/v1/me").status_code == 200
    org.engine.disable_person("dan", "Left the company.")

    refused = org.get("dan", "/v1/me")
    assert refused.status_code == 401, refused.text
    assert "dan is disabled" in refused.json()["detail"]
    assert "Left the company." not in refused.text  # the reason is for administrators
    assert org.post("dan", "/v1/me/pseudonym", {"pseudonym": "Ghost"}).status_code == 401

    org.engine.enable_person("dan")
    assert org.get("dan", "/v1/me").status_code == 200


def test_administrators_disable_and_enable_over_http(org: Org) -> None:
    said = org.post("ada", "/v1/people/owen/disable", {"reason": "On leave."},
                    **{"Idempotency-Key": "disable-owen-1"})  # fmt: skip
    assert said.status_code == 200, said.text
    assert org.get("ada", "/v1/people/owen", at_least=said.json()["position"]).json()["disabled"]
    assert org.get("owen", "/v1/me").status_code == 401
    again = org.post("ada", "/v1/people/owen/disable", {"reason": "Twice."})
    assert again.status_code == 409 and "already disabled" in again.text, again.text

    enabled = org.post("ada", "/v1/people/owen/enable")
    assert enabled.status_code == 200, enabled.text
    assert not org.get("ada", "/v1/people/owen", at_least=enabled.json()["position"]).json()[
        "disabled"
    ]
    assert org.get("owen", "/v1/me").status_code == 200

    before = org.engine.last_position
    myself = org.post("ada", "/v1/people/ada/disable", {"reason": "Holiday."})
    assert myself.status_code == 403 and "cannot disable themselves" in myself.text
    empty = org.post("ada", "/v1/people/owen/disable", {"reason": "  "})
    assert empty.status_code in (400, 422) and "reason" in empty.text, empty.text
    assert org.engine.last_position == before


def test_a_disabled_persons_page_session_ends_and_the_sign_in_page_says_why(org: Org) -> None:
    session = org.session("aud")
    cookie = {"Cookie": f"{COOKIE}={session}"}
    assert org.client.get("/web/me", headers=cookie, follow_redirects=False).status_code == 200
    org.engine.disable_person("aud", "Audit finished.")

    ended = org.client.get("/web/me", headers=cookie, follow_redirects=False)
    assert ended.status_code == 303
    assert ended.headers["location"] == "/web/sign-in?next=%2Fweb%2Fme&why=disabled"
    told = org.client.get(ended.headers["location"]).text
    assert "your account is disabled, so you were signed out" in told

    org.engine.enable_person("aud")
    # The session ended for good: enabling opens the API again, not the old session.
    again = org.client.get("/web/me", headers=cookie, follow_redirects=False)
    assert again.status_code == 303 and "why=" not in again.headers["location"]


def test_signing_in_to_the_pages_with_a_disabled_persons_token_is_refused(org: Org) -> None:
    org.engine.disable_person("cat", "On leave.")
    ours = str(org.client.base_url).rstrip("/")
    try:
        answer = org.client.post("/web/sign-in", data={"token": org.tokens["cat"]},
                                 headers={"Origin": ours}, follow_redirects=False)  # fmt: skip
        assert answer.status_code == 401
        assert "cat is disabled" in answer.text
        assert COOKIE not in answer.cookies
    finally:
        org.engine.enable_person("cat")


def test_a_disabled_persons_company_sign_in_is_refused_and_records_nothing(
    memory: Engine,
) -> None:
    oidc = oidc_settings()
    provision(memory, oidc, claims())
    memory.disable_person("carl", "Left the company.")
    history = events_of(memory, "carl")

    with pytest.raises(Refused, match=r"account \(carl\) is disabled.*administrator"):
        provision(memory, oidc, claims(department="Research"))
    assert events_of(memory, "carl") == history

    memory.enable_person("carl")
    assert provision(memory, oidc, claims()) == "carl"


class OneHandle:
    """An identity provider's checked access token, as groundswell/identity maps it."""

    def __init__(self, handle: str) -> None:
        self.handle_of = handle

    def handle(self, token: str) -> str:
        return self.handle_of


def test_an_identity_providers_access_token_for_a_disabled_person_is_refused(
    memory: Engine,
) -> None:
    memory.register_person("carl", name="Carl", department="Engineering")
    api = SimpleNamespace(engine=memory)
    identity = OneHandle("carl")
    assert caller_of_provider_token(api, identity, "a.b.c").handle == "carl"  # type: ignore[arg-type]
    memory.disable_person("carl", "Left the company.")

    with pytest.raises(ApiProblem) as refused:
        caller_of_provider_token(api, identity, "a.b.c")  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (401, "person-disabled")
    assert "carl is disabled" in refused.value.detail
