"""Accountability per challenge and per manager, with the dates written out."""

from __future__ import annotations

from projections.accountability import accountability
from tests.follow_up_world import World, day, organisation


def test_on_time_late_waiting_reminders_and_the_times_to_answer() -> None:
    world = World("2027-01-01 09:00")
    challenge = organisation(world)
    engine = world.engine
    ideas = [engine.submit_idea("ann", challenge, title=t, description="d").id for t in "ABC"]
    assert all(ideas)
    a, b, _ = ideas  # decisions due 2027-01-31 09:00; the third is never decided
    world.at("2027-01-11 09:00")
    engine.start_review("kai", a)
    engine.accept_idea("kai", a)  # on time, 10 days, kai's desk
    world.at("2027-02-10 09:00")
    world.process.run_once()  # b and c: reminders to mia (01-31, 02-07), kai told 02-07
    engine.start_review("mia", b)
    engine.reject_idea("mia", b, "No.")  # late, 40 days
    found = accountability(world.rows(), day("2027-02-10 10:00"))
    assert found["challenges"][str(challenge)] == {
        "on_time": 1,
        "late": 1,
        "waiting": 1,
        "overdue": 1,
        "reminders": 4,
        "escalations": 2,
        "median_days_to_answer": 10.0,
        "p90_days_to_answer": 40.0,
    }
    mia, kai = found["managers"]["mia"], found["managers"]["kai"]
    assert (mia["on_time"], mia["late"], mia["waiting"], mia["overdue"]) == (0, 1, 1, 1)
    assert (mia["reminders"], mia["escalations"]) == (4, 0)
    assert (kai["on_time"], kai["late"], kai["waiting"]) == (1, 0, 0)
    assert (kai["reminders"], kai["escalations"]) == (0, 2)
    assert kai["median_days_to_answer"] == 10.0
