"""The pages' forms: each runs the same engine command as the API, under an idempotency
key the form carries, so a form sent twice (a double click, a reload) acts once.

On success the browser is sent back to the page, reading at least the position written
(read-your-writes). A refusal shows the same page again, with the sentence that says why,
the status the API would answer, and nothing written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from domain.errors import DomainError
from domain.reward_policy import RewardReason
from domain.validation import TEXT_MAX, TITLE_MAX
from domain.words import reward_reason
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.eventstore.idempotency import CommandKey, KeyReused, fingerprint, keyed
from groundswell.http.auth import Caller
from groundswell.web import pages
from groundswell.web.confirm import Confirm, Confirmed, confirmation
from groundswell.web.render import PageRoute, done, refusal
from groundswell.web.session import Poster

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Command = Callable[[Engine], Receipt]
Again = Callable[..., HTMLResponse]

Key = Annotated[str, Form(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")]
Short = Annotated[str, Form(max_length=TITLE_MAX)]
Long = Annotated[str, Form(max_length=TEXT_MAX)]
Check = Annotated[bool, Form()]


def act(
    request: Request,
    caller: Caller,
    key: str,
    fields: dict[str, Any],
    commands: Sequence[Command],
    success: Callable[[list[Receipt]], str],
    again: Again,
    confirm: Confirm | None = None,
    confirmed: str = "",
) -> Response:
    """Run ``commands`` in turn, each under its own key derived from the form's key; an
    irreversible action (``confirm``) first asks, unless the form says it was confirmed."""
    if confirm is not None and confirmed != "yes":
        return confirmation(request, caller, key, confirm)
    engine = request.app.state.api.engine
    print_ = fingerprint("POST", request.url.path, sorted(fields.items()))
    receipts: list[Receipt] = []
    try:
        for n, command in enumerate(commands):
            with keyed(CommandKey(caller.handle, f"web:{key}:{n}", print_)):
                receipts.append(command(engine))
    except (DomainError, ValidationError) as error:
        status, message, _ = refusal(error)
        if isinstance(error, KeyReused):
            message = "this form was sent before with other values; reload the page to send it."
        if receipts:
            message = f"Done as far as it went, then refused: {message}"
        position = max((r.position or 0 for r in receipts), default=0)
        typed = {"action": request.url.path, **fields}
        return again(request, caller, at_least=position, status=status, problem=message, form=typed)
    position = max((r.position or 0 for r in receipts), default=0)
    return done(success(receipts), position)


def listed(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def numbers(text: str, field: str) -> list[int]:
    try:
        return [int(part) for part in listed(text)]
    except ValueError:
        raise ValidationError.from_exception_data(
            field, [{"type": "int_parsing", "loc": (field,), "input": text}]
        ) from None


# -- challenges and ideas --------------------------------------------------------------


def on_challenge(challenge_id: UUID) -> Again:
    return lambda request, caller, **context: pages.challenge_page(
        request, caller, challenge_id, **context
    )


def on_idea(idea_id: UUID) -> Again:
    return lambda request, caller, **context: pages.idea_page(request, caller, idea_id, **context)


def idea_action(
    request: Request,
    caller: Caller,
    idea_id: UUID,
    form_key: str,
    fields: dict[str, Any],
    commands: Sequence[Command],
    confirm: Confirm | None = None,
    confirmed: str = "",
) -> Response:
    return act(
        request, caller, form_key, fields, commands,
        lambda _: f"/web/ideas/{idea_id}", on_idea(idea_id), confirm, confirmed,
    )  # fmt: skip


def asked_idea_action(
    request: Request,
    caller: Caller,
    idea_id: UUID,
    form_key: str,
    confirmed: str,
    question: str,
    button: str,
    command: Command,
) -> Response:
    """An idea's one-click action that cannot be undone: ``question`` first, then ``command``."""
    asked = Confirm(question, button, f"/web/ideas/{idea_id}")
    return idea_action(request, caller, idea_id, form_key, {}, [command], asked, confirmed)


@router.post("/web/ideas/{idea_id}/comment")
def comment(request: Request, idea_id: UUID, caller: Poster, form_key: Key, body: Long) -> Response:
    return idea_action(
        request, caller, idea_id, form_key, {"body": body},
        [lambda e: e.comment(caller.handle, idea_id, body)],
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/build-on")
def build_on(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    body: Long,
    linked_idea_id: Annotated[UUID, Form()],
) -> Response:
    return idea_action(
        request, caller, idea_id, form_key, {"body": body, "linked_idea_id": str(linked_idea_id)},
        [lambda e: e.build_on(caller.handle, idea_id, body, linked_idea_id)],
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/endorse")
def endorse(request: Request, idea_id: UUID, caller: Poster, form_key: Key) -> Response:
    return idea_action(
        request, caller, idea_id, form_key, {}, [lambda e: e.endorse(caller.handle, idea_id)]
    )


@router.post("/web/ideas/{idea_id}/review")
def start_review(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, confirmed: Confirmed = ""
) -> Response:
    return asked_idea_action(
        request, caller, idea_id, form_key, confirmed,
        "Start the review of this idea? Its team can no longer edit it, and it cannot go "
        "back to being only submitted.",
        "Start review",
        lambda e: e.start_review(caller.handle, idea_id),
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/decide")
def decide(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    decision: Annotated[str, Form(pattern="^(accept|reject)$")],
    words: Long = "",
    reward: Check = False,
    confirmed: Confirmed = "",
) -> Response:
    """Accept (with a note, and the accepted-idea reward when asked) or reject (with the
    reason, which everyone involved is told); a decision is final, so it is confirmed."""
    accept = decision == "accept"
    commands: list[Command] = [
        lambda e: e.decide_idea(caller.handle, idea_id, accept=accept, words=words)
    ]
    if accept and reward:
        reason = RewardReason.IDEA_ACCEPTED.value
        commands.append(lambda e: e.grant_reward(caller.handle, reason, idea_id))
    fields = {"decision": decision, "words": words, "reward": reward}
    if accept:
        question = "Accept this idea" + (
            " and grant the points for an accepted idea?" if reward else "?"
        )
    else:
        question = "Decide not to take this idea forward, with the reason you wrote?"
    asked: Confirm | None = Confirm(
        question + " Everyone involved is told, and a decision cannot be undone.",
        "Accept it" if accept else "Do not take it forward",
        f"/web/ideas/{idea_id}",
        {"decision": decision, "words": words, "reward": "true" if reward else ""},
        [("Note" if accept else "Reason", words)] if words.strip() else [],
    )
    if not accept and not words.strip():
        asked = None  # refused for want of a reason: said at once, nothing to confirm
    return idea_action(request, caller, idea_id, form_key, fields, commands, asked, confirmed)


@router.post("/web/ideas/{idea_id}/hand-over")
def hand_over(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    core_process: Short = "",  # empty: the core process the owner gave when they asked
    owner: Short = "",
    external_ref: Short = "",
) -> Response:
    fields = {"core_process": core_process, "owner": owner, "external_ref": external_ref}
    return idea_action(
        request, caller, idea_id, form_key, fields,
        [lambda e: e.take_over_idea(
            caller.handle, idea_id, core_process=core_process, external_ref=external_ref,
            owner=owner.strip() or None,
        )],
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/reassign")
def reassign(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, owner: Short
) -> Response:
    return idea_action(
        request, caller, idea_id, form_key, {"owner": owner},
        [lambda e: e.reassign_owner(caller.handle, idea_id, owner.strip())],
    )  # fmt: skip


Back = Annotated[str, Form(pattern="^(idea|owner)$")]


def owner_action(
    request: Request,
    caller: Caller,
    idea_id: UUID,
    form_key: str,
    back: str,
    fields: dict[str, Any],
    command: Command,
    confirm: tuple[str, str, str] | None = None,
    confirmed: str = "",
) -> Response:
    """An owner's report, sent from the idea page or from the owner's list, and answered
    on the page it came from; ``confirm`` (question, button, the text to check) asks first."""
    if back == "owner":
        target, again = "/web/owner", pages.owner_page
    else:
        target, again = f"/web/ideas/{idea_id}", on_idea(idea_id)
    asked = None
    if confirm is not None:
        question, button, said = confirm
        asked = Confirm(question, button, target, {**fields, "back": back}, [("Impact", said)])
    return act(
        request, caller, form_key, fields, [command], lambda _: target, again, asked, confirmed
    )


@router.post("/web/ideas/{idea_id}/progress")
def report_progress(
    request: Request, idea_id: UUID, caller: Poster, form_key: Key, note: Long, back: Back = "idea"
) -> Response:
    return owner_action(
        request, caller, idea_id, form_key, back, {"note": note},
        lambda e: e.report_progress(caller.handle, idea_id, note),
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/implemented")
def implemented(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    impact: Long,
    back: Back = "idea",
    confirmed: Confirmed = "",
) -> Response:
    asked = (
        "Mark this idea implemented, with the impact below? Its implementation is then "
        "finished for good.",
        "Mark implemented",
        impact,
    )
    return owner_action(
        request, caller, idea_id, form_key, back, {"impact": impact},
        lambda e: e.mark_implemented(caller.handle, idea_id, impact), asked, confirmed,
    )  # fmt: skip


@router.post("/web/ideas/{idea_id}/reward")
def grant(
    request: Request,
    idea_id: UUID,
    caller: Poster,
    form_key: Key,
    reason: Annotated[str, Form(pattern=r"^(idea-accepted|idea-implemented|prize-[1-9][0-9]?)$")],
    confirmed: Confirmed = "",
) -> Response:
    asked = Confirm(
        f"Grant the reward for the {reward_reason(reason)} to this idea's team? The points "
        "leave the challenge's pot for good.",
        "Grant it",
        f"/web/ideas/{idea_id}",
        {"reason": reason},
    )
    return idea_action(
        request, caller, idea_id, form_key, {"reason": reason},
        [lambda e: e.grant_reward(caller.handle, reason, idea_id)], asked, confirmed,
    )  # fmt: skip


@router.post("/web/contributions/{contribution_id}/helpful")
def helpful(
    request: Request,
    contribution_id: UUID,
    caller: Poster,
    form_key: Key,
    idea_id: Annotated[UUID, Form()],
    reward: Check = False,
    confirmed: Confirmed = "",
) -> Response:
    commands: list[Command] = [lambda e: e.mark_helpful(caller.handle, contribution_id)]
    if reward:
        reason = RewardReason.HELPFUL_CONTRIBUTION.value
        commands.append(lambda e: e.grant_reward(caller.handle, reason, contribution_id))
    fields = {"contribution_id": str(contribution_id), "reward": reward}
    asked = Confirm(
        "Mark this contribution helpful"
        + (" and grant its author the points for a helpful contribution" if reward else "")
        + "? It cannot be unmarked.",
        "Mark helpful",
        f"/web/ideas/{idea_id}",
        {"idea_id": idea_id, "reward": "true" if reward else ""},
    )
    return idea_action(request, caller, idea_id, form_key, fields, commands, asked, confirmed)
