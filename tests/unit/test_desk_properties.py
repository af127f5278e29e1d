"""The desk over random histories (tests/histories.py): it agrees with the follow-up
projection on every decision, answer and progress report waiting (two folds written apart),
and with a recomputation straight from the events on reviews and invitations. Rebuild
equals live, and any interleaving, is shown for every projection in
test_projection_properties.py (the desk is in the catalogue)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings

from domain.contribution import Contribution
from domain.idea import Idea
from projections import desk
from projections.follow_up import FollowUpProjection
from projections.follow_up_due import desk_of
from projections.projection import fold
from projections.rows import key_of
from tests.histories import Positioned, histories

KINDS = {"idea": "decision", "contribution": "answer", "progress": "progress"}


def recomputed_reviews_and_invitations(events: list[Any]) -> set[tuple[str, str, str]]:
    """(handle, kind, idea id) of every review asked and not given, every invitation not
    taken up, on ideas neither withdrawn nor merged, in challenges not archived."""
    waiting: dict[tuple[str, str, str], str] = {}
    ideas_in: dict[str, Any] = {}
    for event in events:
        if isinstance(event, Idea.ReviewerAsked):
            waiting[(event.reviewer, "review", key_of(event.originator_id))] = "open"
        elif isinstance(event, Idea.TeamMemberInvited):
            waiting[(event.invitee, "invitation", key_of(event.originator_id))] = "open"
        elif isinstance(event, Idea.TeamMemberJoined):
            waiting.pop((event.member, "invitation", key_of(event.originator_id)), None)
        elif isinstance(event, Contribution.Added) and event.kind == "review-score":
            waiting.pop((event.author, "review", key_of(event.idea_id)), None)
        elif isinstance(event, (Idea.Withdrawn, Idea.MergedInto)):
            idea = key_of(event.originator_id)
            waiting = {k: v for k, v in waiting.items() if k[2] != idea}
        elif type(event).__qualname__ == "Challenge.Archived":
            scope = event.challenge_id
            gone = {k for k in waiting if ideas_in.get(k[2]) == scope}
            waiting = {k: v for k, v in waiting.items() if k not in gone}
        if isinstance(event, Idea.Submitted):
            ideas_in[key_of(event.originator_id)] = event.challenge_id
    return set(waiting)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(histories())
def test_the_desk_equals_a_recomputation_from_the_events(history: list[Positioned]) -> None:
    events = [event for _, event in history]
    desk_rows = fold(desk.DeskProjection(), events)
    follow_rows = fold(FollowUpProjection(), events)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    handles = set(desk_rows.table("desks")) | {
        person
        for item in follow_rows.table("items").values()
        if item["answered_at"] is None
        for person in desk_of(
            follow_rows, item, follow_rows.get("challenges", item["challenge_id"]) or {}
        )
    }
    expected_other = recomputed_reviews_and_invitations(events)
    for handle in handles:
        shown = desk.desk(desk_rows, handle, now)
        ours = {
            (item["kind"], item["id"].split("/")[0] if item["kind"] == "progress" else item["id"])
            for item in shown
            if item["kind"] in KINDS.values()
        }
        theirs = {
            (KINDS[item["kind"]], item.get("idea_id", key) if item["kind"] == "progress" else key)
            for key, item in follow_rows.table("items").items()
            if item["answered_at"] is None
            and handle
            in desk_of(follow_rows, item, follow_rows.get("challenges", item["challenge_id"]) or {})
        }
        assert ours == theirs, handle
        other = {
            (handle, i["kind"], i["idea_id"])
            for i in shown
            if i["kind"] in ("review", "invitation")
        }
        assert other == {w for w in expected_other if w[0] == handle}, handle
        for item in shown:
            assert item["overdue_days"] >= 0
            assert item["since"] <= item["due"]
