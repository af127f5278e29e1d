"""The HTTP protocol's guarantees: idempotency keys, If-Match, read-your-writes, refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from groundswell.bootstrap import build_tokens
from groundswell.http.app import MAX_BODY
from tests.http_support import Org, challenge_terms
from tests.support import store_item

PROBLEM = "application/problem+json"
IDEA = {"title": "Tool carts per line", "description": "Pre-stage the tools."}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The refusal as problem details: its status, a sentence, a code and the field at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["detail"] and problem["code"]
    assert problem.get("field") == field, problem
    return problem


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def open_challenge(org: Org) -> str:
    challenge = ok(org.post("mia", "/v1/challenges", challenge_terms()), 201)["id"]
    ok(org.post("mia", f"/v1/challenges/{challenge}/open"))
    return challenge


def submit(org: Org, challenge: str, handle: str = "cat", **headers: str) -> Any:
    return org.post(handle, f"/v1/challenges/{challenge}/ideas", IDEA, **headers)


def ideas_by(org: Org, challenge: str, author: str) -> list[str]:
    found = ok(org.get("mia", "/v1/ideas", challenge=challenge, author=author))
    return [i["idea_id"] for i in found["items"]]


def patch(org: Org, handle: str, path: str, body: Any, version: str | None = None) -> Any:
    headers = org.auth(handle, **({"If-Match": version} if version is not None else {}))
    return org.client.patch(path, json=body, headers=headers)


def unchanged(org: Org, position: int) -> None:
    assert org.engine.last_position == position, "a refused request wrote events"


def all_at_once(count: int, request: Any) -> list[Any]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: request(), range(count)))


# -- Idempotency-Key ---------------------------------------------------------------------


def test_a_retry_with_the_same_key_answers_the_first_receipt_and_writes_nothing(
    org: Org,
) -> None:
    challenge = open_challenge(org)
    first = submit(org, challenge, **keyed("submit-1"))
    receipt = ok(first, 201)
    position = org.engine.last_position
    assert receipt["position"] == position and receipt["events"] == 1

    again = submit(org, challenge, **keyed("submit-1"))
    assert ok(again, 201) == receipt
    assert again.headers["Groundswell-Position"] == first.headers["Groundswell-Position"]
    unchanged(org, position)
    assert ideas_by(org, challenge, "cat") == [receipt["id"]]

    # A retry of a once-per-person command answers its receipt, not "already done".
    endorse = f"/v1/ideas/{receipt['id']}/endorsements"
    endorsed = ok(org.post("dan", endorse, None, **keyed("endorse-1")), 201)
    position = org.engine.last_position
    assert ok(org.post("dan", endorse, None, **keyed("endorse-1")), 201) == endorsed
    unchanged(org, position)
    refused(org.post("dan", endorse, None, **keyed("endorse-2")), 409)
    unchanged(org, position)


def test_the_same_key_with_another_request_is_refused_and_writes_nothing(org: Org) -> None:
    challenge = open_challenge(org)
    receipt = ok(submit(org, challenge, **keyed("k")), 201)
    position = org.engine.last_position
    other = {**IDEA, "title": "Something else"}
    response = org.post("cat", f"/v1/challenges/{challenge}/ideas", other, **keyed("k"))
    assert refused(response, 422, "Idempotency-Key")["code"] == "idempotency-key-reused"
    response = org.post("cat", f"/v1/ideas/{receipt['id']}/comments", {"body": "x"}, **keyed("k"))
    refused(response, 422, "Idempotency-Key")
    for bad in ("has space", "x" * 201, ""):
        refused(submit(org, challenge, **keyed(bad)), 422, "Idempotency-Key")
    unchanged(org, position)
    assert ideas_by(org, challenge, "cat") == [receipt["id"]]


def test_keys_belong_to_their_caller(org: Org) -> None:
    challenge = open_challenge(org)
    cats = ok(submit(org, challenge, "cat", **keyed("my-first-idea")), 201)
    dans = ok(submit(org, challenge, "dan", **keyed("my-first-idea")), 201)
    assert cats["id"] != dans["id"] and dans["position"] > cats["position"]
    assert ideas_by(org, challenge, "cat") == [cats["id"]]
    assert ideas_by(org, challenge, "dan") == [dans["id"]]


def test_concurrent_requests_with_one_key_write_once_and_answer_alike(org: Org) -> None:
    challenge = open_challenge(org)
    path, headers = f"/v1/challenges/{challenge}/ideas", org.auth("cat", **keyed("racing"))

    def from_its_own_client() -> Any:  # several clients of one app, as after a timeout
        with TestClient(org.client.app, raise_server_exceptions=False) as client:
            return client.post(path, json=IDEA, headers=headers)

    answers = all_at_once(8, from_its_own_client)
    receipts = [ok(answer, 201) for answer in answers]
    assert all(receipt == receipts[0] for receipt in receipts)
    assert ideas_by(org, challenge, "cat") == [receipts[0]["id"]]
    assert org.engine.last_position == receipts[0]["position"]


def test_concurrent_retries_of_a_once_per_person_command_answer_its_receipt(org: Org) -> None:
    challenge = open_challenge(org)
    for attempt in range(20):  # the race is narrow: give it several chances to show
        idea = ok(submit(org, challenge), 201)["id"]
        path = f"/v1/ideas/{idea}/endorsements"
        answers = all_at_once(
            8, lambda p=path, k=f"e{attempt}": org.post("dan", p, None, **keyed(k))
        )
        assert sorted({a.status_code for a in answers}) == [201], [a.text for a in answers]
        assert len({a.text for a in answers}) == 1
        found = ok(org.get("cat", f"/v1/ideas/{idea}/contributions", kind="endorsement"))
        assert found["total"] == 1


# -- If-Match ----------------------------------------------------------------------------


def test_edits_need_if_match(org: Org) -> None:
    draft = ok(org.post("mia", "/v1/challenges", challenge_terms()), 201)["id"]
    challenge = open_challenge(org)
    idea = ok(submit(org, challenge), 201)["id"]
    position = org.engine.last_position
    refused(patch(org, "cat", f"/v1/ideas/{idea}", IDEA), 428, "If-Match")
    refused(patch(org, "mia", f"/v1/challenges/{draft}", {"title": "New"}), 428, "If-Match")
    refused(patch(org, "cat", f"/v1/ideas/{idea}", IDEA, "yesterday"), 422, "If-Match")
    unchanged(org, position)


def test_an_edit_on_a_stale_version_is_refused_with_the_current_one(org: Org) -> None:
    challenge = open_challenge(org)
    idea = ok(submit(org, challenge), 201)["id"]
    seen = org.get("cat", f"/v1/ideas/{idea}")
    assert seen.headers["ETag"] == f'"{ok(seen)["version"]}"'
    edit = {**IDEA, "title": "Tool carts on every line"}
    ok(patch(org, "cat", f"/v1/ideas/{idea}", edit, seen.headers["ETag"]))
    now = org.get("cat", f"/v1/ideas/{idea}")
    assert ok(now)["title"] == "Tool carts on every line"
    assert now.headers["ETag"] == f'"{ok(now)["version"]}"' != seen.headers["ETag"]

    position = org.engine.last_position
    late = {**IDEA, "title": "Tool carts, late edit"}
    stale = patch(org, "cat", f"/v1/ideas/{idea}", late, seen.headers["ETag"])
    problem = refused(stale, 409, "If-Match")
    assert problem["current_version"] == ok(now)["version"]
    assert stale.headers["ETag"] == now.headers["ETag"]
    unchanged(org, position)
    assert ok(org.get("cat", f"/v1/ideas/{idea}"))["title"] == "Tool carts on every line"
    ok(patch(org, "cat", f"/v1/ideas/{idea}", late, stale.headers["ETag"]))
    assert ok(org.get("cat", f"/v1/ideas/{idea}"))["title"] == "Tool carts, late edit"


def test_a_draft_challenge_is_edited_on_its_current_version_only(org: Org) -> None:
    draft = ok(org.post("mia", "/v1/challenges", challenge_terms()), 201)["id"]
    path = f"/v1/challenges/{draft}"
    seen = org.get("mia", path)
    ok(patch(org, "mia", path, {"title": "Even faster changeovers"}, seen.headers["ETag"]))
    position = org.engine.last_position
    stale = patch(org, "mia", path, {"sponsor": "COO"}, seen.headers["ETag"])
    problem = refused(stale, 409, "If-Match")
    now = org.get("mia", path)
    assert stale.headers["ETag"] == now.headers["ETag"] == f'"{problem["current_version"]}"'
    unchanged(org, position)
    assert (ok(now)["title"], ok(now)["sponsor"]) == ("Even faster changeovers", "Plant manager")
    ok(patch(org, "mia", path, {"sponsor": "COO"}, now.headers["ETag"]))
    assert ok(org.get("mia", path))["sponsor"] == "COO"


# -- read your writes --------------------------------------------------------------------


def test_a_read_at_a_commands_position_includes_its_write(org: Org) -> None:
    challenge = open_challenge(org)
    response = submit(org, challenge)
    receipt = ok(response, 201)
    assert int(response.headers["Groundswell-Position"]) == receipt["position"]
    assert receipt["position"] == org.engine.last_position
    mine = ok(org.get("cat", "/v1/me/ideas", at_least=receipt["position"]))
    assert mine["position"] >= receipt["position"]
    assert [i["idea_id"] for i in mine["items"]] == [receipt["id"]]
    comment = ok(org.post("dan", f"/v1/ideas/{receipt['id']}/comments", {"body": "Yes"}), 201)
    found = ok(org.get("cat", f"/v1/contributions/{comment['id']}", at_least=comment["position"]))
    assert (found["author"], found["body"]) == ("dan", "Yes")


def test_a_position_beyond_the_stored_log_is_refused_at_once(org: Org) -> None:
    open_challenge(org)
    before = org.engine.last_position
    response = org.get("cat", "/v1/ideas", at_least=before + 1000)
    refused(response, 422, "at_least")
    assert str(before) in response.json()["detail"]


# -- refusals ----------------------------------------------------------------------------


def test_malformed_requests_are_refused_naming_the_field_and_write_nothing(org: Org) -> None:
    challenge = open_challenge(org)
    idea = ok(submit(org, challenge), 201)["id"]
    position = org.engine.last_position
    path = f"/v1/challenges/{challenge}/ideas"
    refused(org.post("cat", path, {**IDEA, "colour": "red"}), 422, "colour")
    refused(org.post("cat", path, {"description": "No title"}), 422, "title")
    refused(org.post("cat", path, {**IDEA, "title": "x" * 201}), 422, "title")
    refused(org.post("cat", "/v1/ideas/not-a-uuid/comments", {"body": "x"}), 422, "idea_id")
    refused(org.get("cat", "/v1/challenges/42"), 422, "challenge_id")
    refused(org.get("cat", "/v1/ideas", limit=0), 422, "limit")
    huge = {"body": "x" * (MAX_BODY + 1)}
    assert refused(org.post("cat", f"/v1/ideas/{idea}/comments", huge), 413)["code"] == "too-large"
    refused(org.get("cat", "/v1/nowhere"), 404)
    refused(org.client.delete(f"/v1/ideas/{idea}", headers=org.auth("cat")), 405)
    unchanged(org, position)


def test_a_streamed_body_over_the_limit_is_refused_as_too_large(org: Org) -> None:
    challenge = open_challenge(org)
    position = org.engine.last_position

    def chunks() -> Any:  # no Content-Length: the body arrives in pieces
        yield b'{"title": "Long", "description": "'
        for _ in range(MAX_BODY // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    headers = org.auth("cat", **{"Content-Type": "application/json"})
    response = org.client.post(
        f"/v1/challenges/{challenge}/ideas", content=chunks(), headers=headers
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert refused(response, 413)["code"] == "too-large"
    unchanged(org, position)


def test_callers_without_a_live_token_are_asked_to_sign_in(org: Org) -> None:
    challenge = open_challenge(org)
    store = build_tokens(org.settings)
    try:
        token, info = store.issue("cat", "laptop")
        bearer = {"Authorization": f"Bearer {token}"}
        assert ok(org.client.get("/v1/me", headers=bearer))["handle"] == "cat"
        assert store.revoke(info.token_id)
    finally:
        store.close()
    position = org.engine.last_position
    path = f"/v1/challenges/{challenge}/ideas"
    for headers in (
        {},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer gs_not-a-token"},
        bearer,  # revoked
    ):
        for response in (
            org.client.get("/v1/me", headers=headers),
            org.client.post(path, json=IDEA, headers=headers),
        ):
            refused(response, 401, "Authorization")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    unchanged(org, position)


def test_a_token_of_someone_not_registered_is_refused_like_any_unknown_token(org: Org) -> None:
    store = build_tokens(org.settings)
    try:
        token = store.issue("ghost", "typo")[0]
    finally:
        store.close()
    response = org.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused(response, 401, "Authorization")["code"] == "token-unknown"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_auditors_read_everything_and_write_nothing(org: Org) -> None:
    challenge = open_challenge(org)
    idea = ok(submit(org, challenge), 201)["id"]
    pen = str(store_item(org.engine, "Pen", 1))
    position = org.engine.last_position
    for response in (
        org.post("aud", "/v1/challenges", challenge_terms()),
        org.post("aud", f"/v1/challenges/{challenge}/ideas", IDEA),
        org.post("aud", f"/v1/ideas/{idea}/comments", {"body": "Noted."}),
        org.post("aud", f"/v1/ideas/{idea}/endorsements"),
        org.post("aud", "/v1/me/redemptions", {"item_id": pen, "points": 1}),
        org.client.put("/v1/me/pseudonym", json={"pseudonym": "A"}, headers=org.auth("aud")),
        patch(org, "aud", f"/v1/ideas/{idea}", IDEA, '"1"'),
    ):
        assert refused(response, 403)["code"] == "not-permitted"
    unchanged(org, position)
    assert ok(org.get("aud", "/v1/ideas", challenge=challenge))["total"] == 1
    assert ok(org.get("aud", "/v1/treasury"))["pots"][0]["funded"] == 2000
    assert ok(org.get("aud", "/v1/people/cat/balance"))["balance"] == 0


def test_commands_the_domain_refuses_write_nothing(org: Org) -> None:
    challenge = open_challenge(org)
    draft = ok(org.post("mia", "/v1/challenges", challenge_terms()), 201)["id"]
    idea = ok(submit(org, challenge), 201)["id"]
    reward = {"reason": "idea-accepted", "subject_id": idea}
    pen = str(org.engine.offer_item("Pen", price=1).id)
    position = org.engine.last_position
    for response, status, field in (
        (submit(org, draft), 409, None),  # a draft takes no ideas
        (org.post("cat", f"/v1/ideas/{idea}/endorsements"), 403, None),  # one's own idea
        (org.post("cat", f"/v1/ideas/{idea}/accept", {"note": ""}), 403, None),  # not a manager
        (org.post("mia", f"/v1/ideas/{idea}/accept", {"note": ""}), 409, None),  # not reviewed
        (org.post("mia", f"/v1/ideas/{idea}/reject", {"reason": ""}), 422, "reason"),
        (org.post("mia", "/v1/rewards", reward), 409, "reason"),  # not accepted
        (org.post("mia", "/v1/rewards", {**reward, "reason": "luck"}), 422, "reason"),
        (org.post("cat", "/v1/me/redemptions", {"item_id": pen, "points": 1}), 409, "points"),
        (org.post("mia", f"/v1/challenges/{challenge}/close"), 409, None),
        (org.post("cat", f"/v1/challenges/{challenge}/review"), 403, None),
    ):
        refused(response, status, field)
    unchanged(org, position)
    assert ok(org.get("cat", f"/v1/ideas/{idea}"))["status"] == "submitted"
