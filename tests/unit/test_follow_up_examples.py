"""The follow-up process, rule by rule, with the dates written out.

Policy unless a test says otherwise: a decision within 30 days, a first answer within 7,
a progress report every 30; reminders at due and then every 7 days; the other managers
told 7 days overdue, the sponsor (coo) 21 days overdue.
"""

from __future__ import annotations

from uuid import UUID

from tests.follow_up_world import World, organisation


def submit(world: World, title: str, author: str = "ann") -> UUID:
    challenge = world.challenge or organisation(world)
    found = world.engine.submit_idea(author, challenge, title=title, description="d").id
    assert found is not None
    return found


def test_an_idea_is_reminded_at_its_decision_date_then_weekly_and_climbs_the_ladder() -> None:
    world = World("2027-01-01 09:00")
    idea = submit(world, "Carts")  # decision due 2027-01-31 09:00
    assert world.run("2027-01-31 08:59").recorded == 0
    assert world.run("2027-01-31 09:30").recorded == 1
    assert world.steps() == [("Carts", "reminder-1", ["mia"], "2027-01-31")]
    world.run("2027-02-07 10:00")  # 7 days overdue: a reminder, and kai is told
    world.run("2027-02-21 10:00")  # 21 days overdue: two reminders caught up, coo is told
    assert world.steps()[1:] == [
        ("Carts", "reminder-2", ["mia"], "2027-02-07"),
        ("Carts", "escalation-managers", ["kai"], "2027-02-07"),
        ("Carts", "reminder-3", ["mia"], "2027-02-21"),
        ("Carts", "reminder-4", ["mia"], "2027-02-21"),
        ("Carts", "escalation-sponsor", ["coo"], "2027-02-21"),
    ]
    again = world.run("2027-02-21 11:00")
    assert (again.recorded, again.already) == (0, 0)
    world.engine.start_review("mia", idea)
    world.engine.reject_idea("mia", idea, "Tried in 2019.")
    assert world.run("2027-02-22 09:00").closed == 1
    assert world.closed() == [str(idea)]
    world.run("2027-04-01 09:00")
    assert len(world.steps()) == 6  # answered: nothing more, ever


def test_the_reviewing_manager_is_the_ideas_desk_and_the_others_are_escalated_to() -> None:
    world = World("2027-01-01 09:00")
    idea = submit(world, "Clamps")
    world.engine.start_review("kai", idea)
    world.run("2027-02-08 09:00")
    assert world.steps() == [
        ("Clamps", "reminder-1", ["kai"], "2027-02-08"),
        ("Clamps", "reminder-2", ["kai"], "2027-02-08"),
        ("Clamps", "escalation-managers", ["mia"], "2027-02-08"),
    ]


def test_a_comment_waits_for_the_ideas_team_and_a_reply_answers_it() -> None:
    world = World("2027-01-01 09:00")
    idea = submit(world, "Carts")
    world.at("2027-01-02 09:00")
    world.engine.comment("ben", idea, "Which carts?")  # first answer due 2027-01-09 09:00
    world.run("2027-01-09 09:00")
    assert world.steps() == [("Which carts?", "reminder-1", ["ann"], "2027-01-09")]
    world.run("2027-01-16 12:00")
    assert world.steps()[1:] == [
        ("Which carts?", "reminder-2", ["ann"], "2027-01-16"),
        ("Which carts?", "escalation-managers", ["kai", "mia"], "2027-01-16"),
    ]
    world.engine.comment("ann", idea, "The blue ones.")
    assert world.run("2027-01-17 09:00").closed == 1
    world.run("2027-01-25 09:00")
    assert [s[1] for s in world.steps() if s[0] == "Which carts?"] == [
        "reminder-1",
        "reminder-2",
        "escalation-managers",
    ]


def test_an_owner_is_reminded_of_each_progress_report_period() -> None:
    world = World("2027-01-01 09:00")
    idea = submit(world, "Carts")
    world.at("2027-01-03 09:00")
    world.engine.start_review("mia", idea)
    world.engine.accept_idea("mia", idea)
    world.at("2027-01-05 09:00")
    world.engine.take_over_idea(
        "mia", idea, core_process="Changeover", external_ref="", owner="otto"
    )
    world.run("2027-02-04 09:00")  # 30 days after the take-over
    assert world.steps() == [("Carts", "reminder-1", ["otto"], "2027-02-04")]
    world.at("2027-02-10 09:00")
    world.engine.report_progress("otto", idea, "Pilot running.")
    world.run("2027-03-12 08:00")  # the next report is due 2027-03-12 09:00
    assert world.closed() == [f"{idea}/progress/1"]
    assert len(world.steps()) == 1
    world.run("2027-03-12 09:00")
    assert world.steps()[1:] == [("Carts", "reminder-1", ["otto"], "2027-03-12")]


def test_a_changed_cadence_and_ladder_apply_from_the_next_pass() -> None:
    world = World("2027-01-01 09:00")
    submit(world, "Carts")
    world.engine.set_follow_up_policy(
        "mia",
        world.challenge_id(),
        remind_every_days=2,
        escalate_to_managers_after_days=0,
        escalate_to_sponsor_after_days=3,
    )
    world.run("2027-02-03 10:00")  # due 01-31: reminders 01-31, 02-02; coo on 02-03
    assert [s[1:3] for s in world.steps()] == [
        ("reminder-1", ["mia"]),
        ("reminder-2", ["mia"]),
        ("escalation-sponsor", ["coo"]),
    ]


def test_without_a_registered_sponsor_or_other_managers_nobody_is_escalated_to() -> None:
    world = World("2027-01-01 09:00")
    submit(world, "Carts")
    challenge = world.challenge_id()
    world.engine.set_follow_up_policy("mia", challenge, sponsor_handle="")
    world.engine.start_review("mia", world.engine.submit_idea(
        "ben", challenge, title="Solo", description="d"
    ).id)  # fmt: skip
    world.run("2027-03-15 09:00")
    names = {s[1] for s in world.steps()}
    assert "escalation-sponsor" not in names
    assert "escalation-managers" in names  # kai is the other manager


def test_withdrawn_and_archived_items_are_closed_not_reminded() -> None:
    world = World("2027-01-01 09:00")
    idea = submit(world, "Carts")
    world.run("2027-01-31 10:00")
    world.engine.withdraw_idea("ann", idea)
    assert world.run("2027-02-01 09:00").closed == 1
    assert world.run("2027-03-01 09:00").recorded == 0
