"""The challenges' forms: launch one, submit an idea to it, and for its managers move its
stage, top up its pot, edit a draft's terms (against the version the form was read at, as
the API's If-Match), add a manager, set the follow-up policy, and award the prizes once the
challenge is in review or closed.

Same engine commands and body models as the API's routes, through ``actions.act``.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request, Response
from pydantic import ValidationError

from domain.reward_policy import prize_reason
from domain.words import reward_reason
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from groundswell.http import models
from groundswell.http.challenges import STAGE_COMMANDS
from groundswell.http.follow_up import FollowUpPolicyIn
from groundswell.web import pages
from groundswell.web.actions import (
    Check,
    Command,
    Key,
    Long,
    Short,
    act,
    listed,
    numbers,
    on_challenge,
)
from groundswell.web.confirm import Confirm, Confirmed, quoted
from groundswell.web.render import PageRoute, refusal
from groundswell.web.session import Poster

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/web/challenges/{challenge_id}/edit")
def edit_challenge(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    version: Annotated[int, Form(ge=0, le=1_000_000_000)],
    title: Short,
    question: Long,
    sponsor: Short,
    target_departments: Long,
    submission_deadline: Short,
    decision_deadline_days: Annotated[str, Form(max_length=12)] = "",
    accepted_idea_points: Annotated[str, Form(max_length=12)] = "",
    implemented_idea_points: Annotated[str, Form(max_length=12)] = "",
    helpful_contribution_points: Annotated[str, Form(max_length=12)] = "",
    prize_points: Short = "",
) -> Response:
    """A draft's terms, all sent as the form shows them; a draft changed since the form
    was read is refused (the page then shows its terms as they are now)."""
    fields = {k: v for k, v in locals().items() if k not in ("request", "caller", "form_key")}

    def whole(text: str, field: str) -> int:
        found = numbers(text, field)
        return found[0] if found else 0

    def edit(engine: Engine) -> Receipt:
        terms = models.ChallengeEdit(
            title=title, question=question, sponsor=sponsor,
            target_departments=listed(target_departments),
            submission_deadline=submission_deadline,
            decision_deadline_days=whole(decision_deadline_days, "decision_deadline_days"),
            accepted_idea_points=whole(accepted_idea_points, "accepted_idea_points"),
            implemented_idea_points=whole(implemented_idea_points, "implemented_idea_points"),
            helpful_contribution_points=whole(
                helpful_contribution_points, "helpful_contribution_points"
            ),
            prize_points=numbers(prize_points, "prize_points"),
        )  # fmt: skip
        return engine.edit_challenge(
            caller.handle, challenge_id, expected_version=version,
            **terms.model_dump(exclude_none=True),
        )  # fmt: skip

    return act(
        request, caller, form_key, fields, [edit],
        lambda _: f"/web/challenges/{challenge_id}", on_challenge(challenge_id),
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/managers")
def add_manager(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    handle: Annotated[str, Form(max_length=40)],
) -> Response:
    def added(engine: Engine) -> Receipt:
        return engine.add_manager(
            caller.handle, challenge_id, models.HandleIn(handle=handle).handle
        )

    return act(
        request, caller, form_key, {"handle": handle}, [added],
        lambda _: f"/web/challenges/{challenge_id}", on_challenge(challenge_id),
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/prizes")
def award_prize(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    rank: Annotated[int, Form(ge=1, le=10)],
    idea_id: Annotated[UUID, Form()],
    confirmed: Confirmed = "",
) -> Response:
    """One prize to one idea's team, paid from the pot (the engine says which may win)."""
    reason = prize_reason(rank)
    title = quoted(lambda: request.app.state.api.engine.idea(idea_id).title, "this idea")
    asked = Confirm(
        f"Award the {reward_reason(reason)} to {title}? Its points leave the pot for good and "
        "each prize goes to one idea only.",
        "Award it",
        f"/web/challenges/{challenge_id}",
        {"rank": rank, "idea_id": str(idea_id)},
    )
    return act(
        request, caller, form_key, {"rank": rank, "idea_id": str(idea_id)},
        [lambda e: e.grant_reward(caller.handle, reason, idea_id)],
        lambda _: f"/web/challenges/{challenge_id}", on_challenge(challenge_id), asked, confirmed,
    )  # fmt: skip


Days = Annotated[str, Form(max_length=12)]


@router.post("/web/challenges/{challenge_id}/follow-up-policy")
def set_follow_up_policy(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    answer_days: Days,
    progress_days: Days,
    remind_every_days: Days,
    escalate_to_managers_after_days: Days,
    escalate_to_sponsor_after_days: Days,
    sponsor_handle: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """When answers are due and how waiting climbs (the API's PUT, every term sent)."""
    fields = {k: v for k, v in locals().items() if k not in ("request", "caller", "form_key")}

    def whole(text: str, field: str) -> int:
        found = numbers(text, field)
        return found[0] if found else 0

    def changed(engine: Engine) -> Receipt:
        policy = FollowUpPolicyIn(
            answer_days=whole(answer_days, "answer_days"),
            progress_days=whole(progress_days, "progress_days"),
            remind_every_days=whole(remind_every_days, "remind_every_days"),
            escalate_to_managers_after_days=whole(
                escalate_to_managers_after_days, "escalate_to_managers_after_days"
            ),
            escalate_to_sponsor_after_days=whole(
                escalate_to_sponsor_after_days, "escalate_to_sponsor_after_days"
            ),
            sponsor_handle=sponsor_handle.strip(),
        )
        return engine.set_follow_up_policy(
            caller.handle, challenge_id, **policy.model_dump(exclude_none=True)
        )

    return act(
        request, caller, form_key, fields, [changed],
        lambda _: f"/web/challenges/{challenge_id}", on_challenge(challenge_id),
    )  # fmt: skip


# Each stage change is for good: what the confirmation asks, and its button.
STAGE_QUESTIONS = {
    "open": ("Open this challenge for ideas? It cannot go back to being a draft.", "Open it"),
    "review": (
        "Stop submissions and move this challenge to review? Nobody can submit an idea "
        "after this, and it cannot be reopened.",
        "Stop submissions",
    ),
    "close": ("Close this challenge? Its review ends and it cannot be reopened.", "Close it"),
    "archive": (
        "Archive this challenge? What is left in its pot returns to the treasury, nothing "
        "more can be granted from it, and it cannot be undone.",
        "Archive it",
    ),
}


@router.post("/web/challenges")
def launch_challenge(
    request: Request,
    caller: Poster,
    form_key: Key,
    title: Short,
    question: Long,
    sponsor: Short,
    target_departments: Long,
    submission_deadline: Short,
    decision_deadline_days: Annotated[int, Form(ge=1, le=365)] = 30,
    accepted_idea_points: Annotated[int, Form(ge=0)] = 0,
    implemented_idea_points: Annotated[int, Form(ge=0)] = 0,
    helpful_contribution_points: Annotated[int, Form(ge=0)] = 0,
    prize_points: Short = "",
    pot: Annotated[int, Form(ge=0)] = 0,
    open_now: Check = False,
) -> Response:
    """Draft a challenge and, when asked, open it at once."""
    fields = {k: v for k, v in locals().items() if k not in ("request", "caller", "form_key")}
    again = pages.challenge_list_page

    def checked() -> models.ChallengeIn:
        return models.ChallengeIn(
            title=title, question=question, sponsor=sponsor,
            target_departments=listed(target_departments),
            submission_deadline=submission_deadline,
            decision_deadline_days=decision_deadline_days,
            accepted_idea_points=accepted_idea_points,
            implemented_idea_points=implemented_idea_points,
            helpful_contribution_points=helpful_contribution_points,
            prize_points=numbers(prize_points, "prize_points"), pot=pot,
        )  # fmt: skip

    try:
        terms = checked()
    except ValidationError as error:
        status, message, _ = refusal(error)
        typed = {"action": request.url.path, **fields}
        return again(request, caller, status=status, problem=message, form=typed)
    created: list[UUID] = []

    def draft(engine: Engine) -> Receipt:
        receipt = engine.draft_challenge(
            caller.handle, pot=terms.pot, **terms.model_dump(exclude={"pot"})
        )
        created.append(receipt.id)  # type: ignore[arg-type]
        return receipt

    commands: list[Command] = [draft]
    if open_now:
        commands.append(lambda e: e.open_challenge(caller.handle, created[0]))
    return act(
        request, caller, form_key, fields, commands,
        lambda _: f"/web/challenges/{created[0]}", again,
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/stage")
def change_stage(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    to: Annotated[str, Form(pattern="^(open|review|close|archive)$")],
    confirmed: Confirmed = "",
) -> Response:
    back = f"/web/challenges/{challenge_id}"
    question, button = STAGE_QUESTIONS[to]
    return act(
        request, caller, form_key, {"to": to},
        [lambda e: STAGE_COMMANDS[to](e, caller.handle, challenge_id)],
        lambda _: back, on_challenge(challenge_id),
        Confirm(question, button, back, {"to": to}), confirmed,
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/pot")
def top_up(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    points: Annotated[int, Form(gt=0, le=1_000_000_000)],
) -> Response:
    return act(
        request, caller, form_key, {"points": points},
        [lambda e: e.top_up_pot(caller.handle, challenge_id, points)],
        lambda _: f"/web/challenges/{challenge_id}", on_challenge(challenge_id),
    )  # fmt: skip


@router.post("/web/challenges/{challenge_id}/ideas")
def submit_idea(
    request: Request,
    challenge_id: UUID,
    caller: Poster,
    form_key: Key,
    title: Short,
    description: Long,
) -> Response:
    fields = {"title": title, "description": description}

    def submit(engine: Engine) -> Receipt:
        return engine.submit_idea(caller.handle, challenge_id, title=title, description=description)

    return act(
        request, caller, form_key, fields, [submit],
        lambda done: f"/web/ideas/{done[0].id}", on_challenge(challenge_id),
    )  # fmt: skip
