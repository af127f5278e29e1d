"""Each read model on one hand-built story, with the expected numbers written out.

The story (day 0 is Monday 2 March 2026, 09:00 UTC):
- "Less paper in the warehouse" (C1), managed by mia and max, pot 100, decision deadline
  14 days, policy: accepted 11, implemented 30, helpful 11, prizes 20 and 7.
  ann (Sales, shown as "Lightbulb") submits A1 with bob (Operations) on her team; dan
  (Operations) submits D1; cat (Finance) K1; bob the duplicate B2; rex (Legal) S1; ann
  withdraws her W1. cat comments on A1 and endorses it, dan endorses it, rex reviews it.
  Day 1 ann answers cat, rex asks about D1. Day 2 A1 and D1 go under review, K1 is rejected.
  Day 5 A1 is accepted and B2 merged into it. Day 6 D1 is accepted, olo takes A1 over,
  cat's comment is marked helpful, rewards are granted. Day 10 A1 is implemented and
  rewarded, C1 moves to review, A1 wins prize 1. Day 12 ann redeems 25 points.
- "Greener commute" (C2), max's, pot 40 + 10, decision deadline 7 days, targets Finance:
  day 3 cat submits E2 and comments on it four times; dan endorses it.
- "Quiet office" (C3), max's, pot 25, opened and archived on day 0: the pot goes back.
Now is day 20.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from domain.challenge import Challenge
from domain.idea import Idea
from domain.person import Person
from groundswell.app.engine import Engine
from projections import balances, breadth, follow_up, implementation, leaderboard, notifications
from projections.catalog import all_projections
from projections.projection import fold
from projections.rows import Rows
from tests.support import SteppingClock, redeem

PEOPLE = {
    "mia": ("Mia Manager", "Innovation", ["manager"], None),
    "max": ("Max Manager", "Innovation", ["manager"], None),
    "ann": ("Ann Author", "Sales", ["contributor"], "Lightbulb"),
    "bob": ("Bob Builder", "Operations", ["contributor"], None),
    "cat": ("Cat Critic", "Finance", ["contributor"], None),
    "dan": ("Dan Doer", "Operations", ["contributor"], None),
    "rex": ("Rex Reviewer", "Legal", ["contributor"], None),
    "olo": ("Olo Owner", "Logistics", ["owner"], None),
}


def terms(title: str, targets: list[str], decision_days: int, **policy: Any) -> dict[str, Any]:
    return {
        "title": title,
        "question": f"{title}: how?",
        "sponsor": "Chief Operations Officer",
        "target_departments": targets,
        "submission_deadline": "2026-04-30",
        "decision_deadline_days": decision_days,
        **policy,
    }


@dataclass
class Story:
    engine: Engine
    clock: SteppingClock
    ids: dict[str, UUID]

    def rows(self, name: str) -> Rows:
        projection = next(p for p in all_projections() if p.name == name)
        return fold(projection, self.events())

    def events(self) -> list[Any]:
        notifications = self.engine.recorder.select_notifications(start=1, limit=10**6)
        return [self.engine.mapper.to_domain_event(n) for n in notifications]

    def event(self, kind: type, **fields: Any) -> Any:
        """The one stored event of ``kind`` whose fields match."""
        (found,) = [
            e
            for e in self.events()
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())
        ]
        return found

    def __getitem__(self, name: str) -> str:
        return str(self.ids[name])


def created(receipt: Any) -> UUID:
    assert receipt.id is not None
    return UUID(str(receipt.id))


@pytest.fixture
def story(memory: Engine, clock: SteppingClock) -> Story:
    e, ids = memory, {}
    for handle, (name, department, roles, pseudonym) in PEOPLE.items():
        e.register_person(
            handle, name=name, department=department, roles=roles, pseudonym=pseudonym
        )
    # day 0
    c1 = ids["C1"] = created(
        e.draft_challenge(
            "mia",
            pot=100,
            **terms(
                "Less paper in the warehouse",
                ["Operations", "Logistics"],
                14,
                accepted_idea_points=11,
                implemented_idea_points=30,
                helpful_contribution_points=11,
                prize_points=[20, 7],
            ),
        )
    )
    e.add_manager("mia", c1, "max")
    e.open_challenge("mia", c1)
    c3 = ids["C3"] = created(
        e.draft_challenge("max", pot=25, **terms("Quiet office", ["Sales"], 30))
    )
    for move in (e.open_challenge, e.move_challenge_to_review, e.close_challenge):
        move("max", c3)
    e.archive_challenge("max", c3)
    a1 = ids["A1"] = created(
        e.submit_idea("ann", c1, title="Scan delivery notes", description="At the dock.")
    )
    e.invite_to_team("ann", a1, "bob")
    e.join_team("bob", a1)
    d1 = ids["D1"] = created(
        e.submit_idea("dan", c1, title="Reuse pallet labels", description="Twice.")
    )
    k1 = ids["K1"] = created(e.submit_idea("cat", c1, title="Print less", description="Less."))
    b2 = ids["B2"] = created(
        e.submit_idea("bob", c1, title="Scan notes at the dock", description="Same.")
    )
    ids["S1"] = created(e.submit_idea("rex", c1, title="Digital signatures", description="."))
    w1 = ids["W1"] = created(
        e.submit_idea("ann", c1, title="Paperless Fridays", description="Fridays.")
    )
    e.withdraw_idea("ann", w1)
    comment = ids["comment"] = created(e.comment("cat", a1, "Ask the carriers to send PDFs."))
    e.endorse("cat", a1)
    e.endorse("dan", a1)
    e.ask_reviewer("mia", a1, "rex")
    e.give_review_score("rex", a1, 4, "Solid.")
    clock.advance(days=1)
    e.comment("ann", a1, "Good point, we will ask them.")
    ids["question"] = created(e.comment("rex", d1, "What do the labels cost?"))
    clock.advance(days=1)  # day 2
    e.start_review("mia", a1)
    e.start_review("mia", d1)
    e.reject_idea("mia", k1, "Printing is already minimal")
    clock.advance(days=1)  # day 3
    c2 = ids["C2"] = created(
        e.draft_challenge("max", pot=40, **terms("Greener commute", ["Finance"], 7))
    )
    e.top_up_pot("max", c2, 10)
    e.open_challenge("max", c2)
    e2 = ids["E2"] = created(e.submit_idea("cat", c2, title="Bike leasing", description="."))
    for n in range(1, 5):
        e.comment("cat", e2, f"Detail {n}.")
    e.endorse("dan", e2)
    clock.advance(days=2)  # day 5
    e.accept_idea("mia", a1, "Worth a pilot.")
    e.merge_idea("mia", b2, a1)
    clock.advance(days=1)  # day 6
    e.accept_idea("mia", d1)
    e.take_over_idea("mia", a1, core_process="Inbound logistics", external_ref="LOG-7", owner="olo")
    e.mark_helpful("mia", comment)
    e.grant_reward("max", "idea-accepted", a1)
    e.grant_reward("mia", "helpful-contribution", comment)
    e.grant_reward("max", "idea-accepted", d1)
    clock.advance(days=4)  # day 10
    e.mark_implemented("olo", a1, "40% less paper at the dock")
    e.grant_reward("mia", "idea-implemented", a1)
    e.move_challenge_to_review("mia", c1)
    e.award_prize("max", a1, 1)
    clock.advance(days=2)  # day 12
    redeem(e, "ann", 25, "Team lunch")
    clock.advance(days=8)  # day 20
    return Story(e, clock, ids)


# -- leaderboard ----------------------------------------------------------------------------


def test_standings_rank_by_points_show_pseudonyms_and_break_ties_by_handle(story: Story) -> None:
    rows = story.rows("leaderboard")

    assert leaderboard.standings(rows) == [
        leaderboard.Standing(1, "Lightbulb", "ann", "Sales", 31),
        leaderboard.Standing(2, "Bob Builder", "bob", "Operations", 30),
        leaderboard.Standing(3, "Cat Critic", "cat", "Finance", 11),
        leaderboard.Standing(4, "Dan Doer", "dan", "Operations", 11),
    ]
    assert leaderboard.standings(rows, story["C1"], limit=2) == leaderboard.standings(rows)[:2]
    assert leaderboard.standings(rows, story["C2"]) == []


def test_standings_follow_a_changed_pseudonym(story: Story) -> None:
    story.engine.choose_pseudonym("ann", None)
    story.engine.choose_pseudonym("bob", "Pallet Pal")

    shown = [s.shown_as for s in leaderboard.standings(story.rows("leaderboard"))]

    assert shown == ["Ann Author", "Pallet Pal", "Cat Critic", "Dan Doer"]


def test_department_board_counts_points_ideas_and_contributors(story: Story) -> None:
    rows = story.rows("leaderboard")
    board = leaderboard.DepartmentStanding

    assert leaderboard.department_board(rows, story["C1"]) == [
        board("Operations", 41, 2, 2),
        board("Sales", 31, 2, 1),
        board("Finance", 11, 1, 1),
        board("Legal", 0, 1, 1),
    ]
    assert leaderboard.department_board(rows) == [
        board("Operations", 41, 2, 2),
        board("Sales", 31, 2, 1),
        board("Finance", 11, 2, 1),
        board("Legal", 0, 1, 1),
    ]


# -- balances -------------------------------------------------------------------------------


def test_a_team_members_ledger_shows_split_shares_and_a_redemption(story: Story) -> None:
    rows = story.rows("balances")
    a1 = story.ids["A1"]
    granted = {
        reason: str(story.event(Challenge.RewardGranted, reason=reason, subject_id=a1).event_id)
        for reason in ("idea-accepted", "idea-implemented", "prize-1")
    }
    redeemed = str(story.event(Person.PointsRedeemed).event_id)

    entries = balances.ledger(rows, "person:ann")

    assert [(e["kind"], e["points"], e["reason"], e["event_id"]) for e in entries] == [
        ("redemption", -25, "Team lunch", redeemed),
        ("split share", 10, "prize-1", granted["prize-1"]),
        ("split share", 15, "idea-implemented", granted["idea-implemented"]),
        ("split share", 6, "idea-accepted", granted["idea-accepted"]),
    ]
    assert [e["event_type"] for e in entries] == ["Person.PointsRedeemed"] + [
        "Challenge.RewardGranted"
    ] * 3
    assert {e["subject_id"] for e in entries[1:]} == {story["A1"]}
    assert balances.balance(rows, "person:ann") == 6
    assert balances.balance(rows, "person:bob") == 30
    assert balances.redeemed(rows) == 25


def test_a_single_beneficiary_gets_a_grant_entry(story: Story) -> None:
    rows = story.rows("balances")
    grant = story.event(Challenge.RewardGranted, reason="helpful-contribution")

    assert balances.ledger(rows, "person:cat") == [
        {
            "account": "person:cat",
            "at": grant.timestamp.isoformat(),
            "kind": "grant",
            "points": 11,
            "reason": "helpful-contribution",
            "subject_id": story["comment"],
            "challenge_id": story["C1"],
            "event_id": str(grant.event_id),
            "event_type": "Challenge.RewardGranted",
        }
    ]


def test_pots_show_funded_granted_returned_and_remaining(story: Story) -> None:
    rows = story.rows("balances")

    assert balances.pot(rows, story["C1"]) == {
        "title": "Less paper in the warehouse",
        "funded": 100,
        "granted": 83,
        "returned": 0,
        "remaining": 17,
    }
    assert balances.pot(rows, story["C2"]) == {
        "title": "Greener commute",
        "funded": 50,
        "granted": 0,
        "returned": 0,
        "remaining": 50,
    }
    assert balances.pot(rows, story["C3"]) == {
        "title": "Quiet office",
        "funded": 25,
        "granted": 0,
        "returned": 25,
        "remaining": 0,
    }


def test_the_treasury_issues_what_pots_hold_and_gets_back_what_archives_return(
    story: Story,
) -> None:
    rows = story.rows("balances")

    assert balances.treasury(rows) == -150
    entries = balances.ledger(rows, "treasury")
    assert [(e["kind"], e["points"], e["challenge_id"]) for e in entries] == [
        ("funding", -10, story["C2"]),
        ("funding", -40, story["C2"]),
        ("return", 25, story["C3"]),
        ("funding", -25, story["C3"]),
        ("funding", -100, story["C1"]),
    ]


# -- implementation -------------------------------------------------------------------------


def test_the_funnel_counts_ideas_per_step_and_the_conversion_from_the_step_before(
    story: Story,
) -> None:
    rows = story.rows("implementation")

    # B2 (merged) and W1 (withdrawn) are left out; K1's rejection counts as reviewed.
    assert implementation.funnel(rows, story["C1"]) == [
        {"step": "submitted", "ideas": 4, "conversion": None},
        {"step": "reviewed", "ideas": 3, "conversion": 0.75},
        {"step": "accepted", "ideas": 2, "conversion": pytest.approx(2 / 3)},
        {"step": "in implementation", "ideas": 1, "conversion": 0.5},
        {"step": "implemented", "ideas": 1, "conversion": 1.0},
    ]
    assert [s["ideas"] for s in implementation.funnel(rows)] == [5, 3, 2, 1, 1]


def test_time_in_stages_counts_days_per_stage_up_to_now(story: Story) -> None:
    rows = story.rows("implementation")
    idea = rows.get("ideas", story["A1"])

    spent = implementation.time_in_stages(idea, story.clock.now)

    assert spent == {
        "submitted": pytest.approx(2.0, abs=1e-3),
        "under review": pytest.approx(3.0, abs=1e-3),
        "accepted": pytest.approx(1.0, abs=1e-3),
        "in implementation": pytest.approx(4.0, abs=1e-3),
        "implemented": pytest.approx(10.0, abs=1e-3),
    }
    assert (idea["owner"], idea["core_process"], idea["external_ref"]) == (
        "olo",
        "Inbound logistics",
        "LOG-7",
    )
    assert idea["impact"] == "40% less paper at the dock"


def test_ideas_in_a_stage(story: Story) -> None:
    rows = story.rows("implementation")

    assert [i["title"] for i in implementation.ideas_in(rows, story["C1"])] == [
        "Scan delivery notes",
        "Reuse pallet labels",
        "Print less",
        "Scan notes at the dock",
        "Digital signatures",
        "Paperless Fridays",
    ]
    assert [i["idea_id"] for i in implementation.ideas_in(rows, stage="accepted")] == [story["D1"]]
    (rejected,) = implementation.ideas_in(rows, stage="rejected")
    assert rejected["decision_reason"] == "Printing is already minimal"


# -- follow-up ------------------------------------------------------------------------------


def test_follow_up_debt_lists_what_waits_past_the_decision_deadline_and_on_whose_desk(
    story: Story,
) -> None:
    rows = story.rows("follow_up")

    debt = follow_up.follow_up_debt(rows, story.clock.now)

    assert [(d["id"], d["kind"], d["author"]) for d in debt] == [
        (story["S1"], "idea", "rex"),
        (story["question"], "contribution", "rex"),
        (story["E2"], "idea", "cat"),
    ]
    assert [(d["waited_days"], d["overdue_days"]) for d in debt] == [
        (20.0, 6.0),
        (19.0, 5.0),
        (17.0, 10.0),
    ]
    assert [d["desk"] for d in debt] == [["mia", "max"], ["mia", "max"], ["max"]]
    # Each item names the idea it waits on (a comment: the idea it was said on).
    assert [d["idea_id"] for d in debt] == [story["S1"], story["D1"], story["E2"]]
    assert debt[1]["idea_title"] == story.rows("follow_up").get("items", story["D1"])["title"]
    assert [d["challenge"] for d in debt] == ["Less paper in the warehouse"] * 2 + [
        "Greener commute"
    ]
    assert [d["id"] for d in follow_up.follow_up_debt(rows, story.clock.now, story["C2"])] == [
        story["E2"]
    ]
    assert len(follow_up.follow_up_debt(rows, story.clock.now, manager="mia")) == 2
    assert follow_up.debt_by_manager(rows, story.clock.now) == {"max": 3, "mia": 2}


def test_nothing_is_debt_before_its_deadline(story: Story) -> None:
    rows = story.rows("follow_up")
    day_9 = story.clock.now.replace(day=11)  # day 9: every deadline is still ahead

    assert follow_up.follow_up_debt(rows, day_9) == []
    assert follow_up.debt_by_manager(rows, day_9) == {}


def test_answered_items_record_who_answered(story: Story) -> None:
    rows = story.rows("follow_up")

    def answer(key: str) -> tuple[Any, ...]:
        item = rows.get("items", story[key])
        return item["answered_by"], item["answered_at"] is not None

    assert answer("A1") == ("mia", True)
    assert answer("comment") == ("ann", True)  # ann's reply, before mia marked it helpful
    assert answer("B2") == (None, True)  # merged: left the queue, nobody decided
    assert answer("W1") == (None, True)
    assert answer("S1") == (None, False)


def test_median_days_to_decision(story: Story) -> None:
    rows = story.rows("follow_up")

    # K1 rejected after 2 days, A1 accepted after 5, D1 after 6.
    assert follow_up.median_days_to_decision(rows, story["C1"]) == 5.0
    assert follow_up.median_days_to_decision(rows) == 5.0
    assert follow_up.median_days_to_decision(rows, story["C2"]) is None


def test_a_managers_endorsement_is_no_answer_to_a_waiting_question(story: Story) -> None:
    story.engine.endorse("mia", story.ids["D1"])

    question = story.rows("follow_up").get("items", story["question"])

    assert (question["answered_at"], question["answered_by"]) == (None, None)


def test_a_commenter_who_joins_the_team_still_gets_an_answer(story: Story) -> None:
    e, e2 = story.engine, story.ids["E2"]
    question = created(e.comment("rex", e2, "Who pays for the bikes?"))
    e.invite_to_team("cat", e2, "rex")
    e.join_team("rex", e2)
    e.comment("rex", e2, "Now on the team, still wondering.")
    e.comment("max", e2, "The company pays.")

    item = story.rows("follow_up").get("items", str(question))

    assert item["answered_by"] == "max"


def test_archiving_closes_what_still_waited_as_left_unanswered(story: Story) -> None:
    for move in ("move_challenge_to_review", "close_challenge", "archive_challenge"):
        getattr(story.engine, move)("max", story.ids["C2"])

    rows = story.rows("follow_up")

    assert [i["id"] for i in follow_up.left_unanswered(rows)] == [story["E2"]]
    assert [d["id"] for d in follow_up.follow_up_debt(rows, story.clock.now)] == [
        story["S1"],
        story["question"],
    ]
    assert follow_up.debt_by_manager(rows, story.clock.now) == {"max": 2, "mia": 2}


# -- notifications --------------------------------------------------------------------------


def test_everyone_who_took_part_hears_of_the_idea_not_only_the_author(story: Story) -> None:
    rows = story.rows("notifications")
    implemented = "“Scan delivery notes” was implemented: 40% less paper at the dock."

    told = {h for h in PEOPLE if implemented in [n["text"] for n in notifications.inbox(rows, h)]}

    # author, team member, commenter + endorser, endorser, reviewer; not olo who did it.
    assert told == {"ann", "bob", "cat", "dan", "rex"}


def test_an_inbox_is_newest_first(story: Story) -> None:
    rows = story.rows("notifications")

    assert [n["text"] for n in notifications.inbox(rows, "bob")] == [
        "You received 10 points for the 1st prize.",
        "The challenge “Less paper in the warehouse” moved to review.",
        "You received 15 points for the implemented idea.",
        "“Scan delivery notes” was implemented: 40% less paper at the dock.",
        "You received 5 points for the accepted idea.",
        "“Scan delivery notes” was taken over for implementation.",
        "“Scan notes at the dock” was merged into another idea.",
        "“Scan delivery notes” was accepted: Worth a pilot.",
        "“Scan delivery notes” is now under review.",
    ]
    assert [n["text"] for n in notifications.inbox(rows, "bob", limit=2)] == [
        "You received 10 points for the 1st prize.",
        "The challenge “Less paper in the warehouse” moved to review.",
    ]


def test_commenters_reviewers_and_endorsers_hear_what_concerns_them(story: Story) -> None:
    rows = story.rows("notifications")

    cat = [n["text"] for n in notifications.inbox(rows, "cat")]
    assert cat == [
        "The challenge “Less paper in the warehouse” moved to review.",
        "“Scan delivery notes” was implemented: 40% less paper at the dock.",
        "You received 11 points for the helpful contribution.",
        "Your comment was marked helpful.",
        "“Scan delivery notes” was taken over for implementation.",
        "“Scan delivery notes” was accepted: Worth a pilot.",
        "“Print less” was rejected: Printing is already minimal.",
        "“Scan delivery notes” is now under review.",
    ]
    rex = [n["text"] for n in notifications.inbox(rows, "rex")]
    assert rex[-1] == "You were asked to review “Scan delivery notes”."
    dan = [n["text"] for n in notifications.inbox(rows, "dan")]
    assert "“Reuse pallet labels” was accepted." in dan
    assert "You received 11 points for the accepted idea." in dan


def test_a_reason_ending_in_a_full_stop_is_not_given_a_second_one(story: Story) -> None:
    story.engine.reject_idea("mia", story.ids["S1"], "Tried in 2019.")

    (notice,) = notifications.inbox(story.rows("notifications"), "rex", limit=1)

    assert notice["text"] == "“Digital signatures” was rejected: Tried in 2019."


def test_nobody_is_told_they_received_zero_points(story: Story) -> None:
    e = story.engine
    c4 = created(
        e.draft_challenge("mia", pot=5, **terms("Tiny", ["Sales"], 7, accepted_idea_points=1))
    )
    e.open_challenge("mia", c4)
    idea = created(e.submit_idea("ann", c4, title="Small thing", description="."))
    e.invite_to_team("ann", idea, "bob")
    e.join_team("bob", idea)
    e.start_review("mia", idea)
    e.accept_idea("mia", idea)
    e.grant_reward("mia", "idea-accepted", idea)
    assert story.event(Challenge.RewardGranted, subject_id=idea).shares == {"ann": 1}  # bob: 0

    texts = [n["text"] for n in notifications.inbox(story.rows("notifications"), "bob")]

    assert "You received 0 points for the accepted idea." not in texts


def test_nobody_is_told_what_they_did_themselves(story: Story) -> None:
    rows = story.rows("notifications")

    ann = [n["text"] for n in notifications.inbox(rows, "ann")]
    assert not [t for t in ann if "Paperless Fridays" in t]  # she withdrew it herself
    assert "You redeemed 25 points for Team lunch." not in ann
    # mia handed A1 to olo, who implemented it himself: he hears of the hand-over only.
    assert [n["text"] for n in notifications.inbox(rows, "olo")] == [
        "“Scan delivery notes” was taken over for implementation."
    ]
    assert notifications.inbox(rows, "mia") == []


def test_a_notice_points_at_its_subject_and_event(story: Story) -> None:
    rows = story.rows("notifications")
    merged = story.event(Idea.MergedInto)

    (notice,) = [n for n in notifications.inbox(rows, "bob") if "merged" in n["text"]]

    assert notice["event_id"] == str(merged.event_id)
    assert (notice["subject_kind"], notice["subject_id"]) == ("idea", story["B2"])
    assert notice["challenge_id"] == story["C1"]


# -- breadth --------------------------------------------------------------------------------


def test_breadth_shows_targeted_departments_against_those_taking_part(story: Story) -> None:
    rows = story.rows("breadth")

    assert breadth.breadth(rows, story["C1"]) == {
        "challenge_id": story["C1"],
        "title": "Less paper in the warehouse",
        "targeted": ["Operations", "Logistics"],
        "taking_part": ["Finance", "Legal", "Operations", "Sales"],
        "targeted_taking_part": ["Operations"],
        "contributors_per_department": {"Finance": 1, "Legal": 1, "Operations": 2, "Sales": 1},
        "contributors": 5,
        # actions per person: ann 3, bob 2, cat 3, dan 2, rex 3
        "gini": 0.092,
        "top_10_percent_share": 0.231,
        "small_circle_warning": False,
    }


def test_breadth_raises_no_warning_for_a_crowd_too_small_to_judge(story: Story) -> None:
    rows = story.rows("breadth")

    found = breadth.breadth(rows, story["C2"])

    # cat: her idea and four comments; dan: one endorsement.
    assert (found["targeted"], found["taking_part"], found["targeted_taking_part"]) == (
        ["Finance"],
        ["Finance", "Operations"],
        ["Finance"],
    )
    assert (found["gini"], found["top_10_percent_share"]) == (0.333, 0.833)
    assert found["small_circle_warning"] is False  # two people are no crowd
    assert breadth.breadth(rows, story["C3"])["contributors"] == 0


def test_breadth_warns_when_a_small_circle_carries_the_challenge(story: Story) -> None:
    e, e2 = story.engine, story.ids["E2"]
    for n in range(1, 9):
        e.register_person(f"op{n}", name=f"Operator {n}", department="Operations")
        e.endorse(f"op{n}", e2)
    for n in range(5, 20):
        e.comment("cat", e2, f"Detail {n}.")

    found = breadth.breadth(story.rows("breadth"), story["C2"])

    # ten contributors: cat with her idea and 19 comments, nine endorsers with one each.
    assert found["contributors_per_department"] == {"Finance": 1, "Operations": 9}
    assert (found["gini"], found["top_10_percent_share"]) == (0.59, 0.69)
    assert found["small_circle_warning"] is True


def test_gini_and_top_share_on_plain_numbers() -> None:
    assert breadth.gini([4, 4, 4, 4]) == 0.0
    assert breadth.gini([0, 0, 0, 10]) == 0.75
    assert breadth.gini([]) == 0.0
    assert breadth.top_share([10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]) == pytest.approx(10 / 20)
    assert breadth.top_share([]) == 0.0
