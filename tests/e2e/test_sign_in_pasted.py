"""Signing in with what people actually paste: the line `make run` prints, or part of it."""

from __future__ import annotations

import pytest

from groundswell.http.auth import pasted_token
from groundswell.web.session import COOKIE
from tests.e2e.test_web_pages import OURS
from tests.http_support import Org


@pytest.mark.parametrize(
    "pasted",
    [
        "{t}",
        "  {t}\n",
        "Bearer {t}",
        "bearer   {t} ",
        "Authorization: Bearer {t}",
        "\tauthorization:bearer {t}\r\n",
        "AUTHORIZATION: {t}",
    ],
)
def test_the_token_is_found_in_what_was_pasted(pasted: str) -> None:
    token = "gs_" + "a" * 43
    assert pasted_token(pasted.format(t=token)) == token


def test_a_token_that_happens_to_start_with_bearer_is_kept() -> None:
    assert pasted_token("Bearerish") == "Bearerish"


def test_the_sign_in_page_takes_the_whole_printed_line(org: Org) -> None:
    token = org.tokens["cat"]
    for pasted in (f"Authorization: Bearer {token}", f"  Bearer {token}  ", f"\n{token}\n"):
        signed = org.client.post(
            "/web/sign-in",
            data={"token": pasted, "next": "/web/me"},
            headers=OURS,
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        session = signed.cookies[COOKIE]
        assert token not in session  # the cookie names a session, never the token
        org.client.cookies.clear()
        home = org.client.get("/web/me", headers={"Cookie": f"{COOKIE}={session}"})
        assert home.status_code == 200 and "Cat Contributor" in home.text


def test_a_wrong_token_is_told_what_a_token_looks_like(org: Org) -> None:
    before = org.engine.last_position
    wrong = org.client.post(
        "/web/sign-in", data={"token": "Bearer mia", "next": "/web"}, headers=OURS
    )
    assert wrong.status_code == 401
    assert "unknown or was revoked" in wrong.text
    assert "a token starts with gs_" in wrong.text
    assert COOKIE not in org.client.cookies
    assert org.engine.last_position == before


def test_the_api_accepts_extra_whitespace_and_explains_a_wrong_token(org: Org) -> None:
    token = org.tokens["cat"]
    me = org.client.get("/v1/me", headers={"Authorization": f"  Bearer   {token}  "})
    assert me.status_code == 200 and me.json()["handle"] == "cat"

    wrong = org.client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401
    assert "a token starts with gs_" in wrong.json()["detail"]
    missing = org.client.get("/v1/me", headers={"Authorization": token})
    assert missing.status_code == 401
    assert "a token starts with gs_" in missing.json()["detail"]
