"""Challenge 1: broad participation, decided on time, implemented, rewarded, archived."""

from __future__ import annotations

from typing import Any

from groundswell.demo.cast import Ref, Script, challenge_id, idea_id, members

KEY = "changeover"
DEADLINE_DAY = 28  # submissions close at the end of this simulated day
TERMS: dict[str, Any] = {
    "title": "Cut changeover time on Line 3",
    "question": "Changeovers on Line 3 take 95 minutes on average. How do we get below 45?",
    "sponsor": "Katrin Vogel, COO",
    "target_departments": ["Production", "Logistics", "R&D"],
    "decision_deadline_days": 30,
    "accepted_idea_points": 100,
    "implemented_idea_points": 250,
    "helpful_contribution_points": 20,
    "prize_points": [500, 300],
}
# fmt: off
IDEAS = [  # key, author, day, title, description
    ("carts", "anna.kowalski", 3.4, "Pre-staged changeover carts",
     "Logistics prepares a cart with the next die set, clamps and tools while the current "
     "order runs, so the line only swaps carts instead of searching the store."),
    ("clamps", "carlos.ruiz", 4.6, "Quick-release clamps on the die holders",
     "Replace the 16 bolts per die holder with hydraulic quick-release clamps. A supplier "
     "quoted six weeks; we estimate 25 minutes saved per changeover."),
    ("smed", "hannah.schmidt", 6.4, "SMED workshop for every shift",
     "Two-day SMED workshop per shift to split internal from external tasks, so every shift "
     "owns its changeover standard."),
    ("boards", "elif.yilmaz", 8.4, "Shadow boards and tool kits per product family",
     "One shadow board per product family beside Line 3, with a kit checked at shift start."),
    ("boards-dup", "ivan.petrov", 9.5, "Shadow boards at Line 3",
     "Shadow boards for the changeover tools so nobody hunts for the 19 mm spanner again."),
    ("erp", "wei.zhang", 10.4, "Let the ERP sequence orders by die family",
     "Group orders by die family in the weekly plan to halve the number of changeovers."),
    ("forklift", "mateo.fernandez", 11.5, "A second forklift at shift change",
     "The dies wait for the only forklift during shift change; a second one would end that."),
    ("music", "dmitri.volkov", 12.5, "A changeover playlist",
     "A fixed 45-minute playlist: when it ends, the line should be running again."),
    ("tablets", "rania.aziz", 13.4, "Video work instructions on tablets",
     "Short videos of each changeover step on a tablet at the station."),
    ("bolts", "samuel.cohen", 15.4, "One bolt size across all die sets",
     "Standardise fasteners so one tool fits every die set."),
    ("checklist", "yusuf.demir", 16.5, "Changeover checklist in the shift handover",
     "Add the changeover checklist to the shift handover form."),
    ("shift-buddy", "emma.johansson", 18.4, "A changeover buddy for new operators",
     "New operators do their first ten changeovers with an experienced buddy."),
    ("warmup", "vera.ivanova", 20.4, "Pre-heat the next die while the line runs",
     "A heating station next to the press would bring the next die to temperature in advance."),
    ("calendar", "paula.silva", 21.5, "Tell Sales which days Line 3 changes over",
     "If Sales knew the changeover days, we could promise delivery dates that hold."),
]
# fmt: on

# Years are said relative to the year the story starts (filled in by write), so the text
# stays true whenever the demo is written.
REJECTIONS = {
    "erp": "The ERP cannot sequence by die family before the {in_two_years} upgrade; "
    "please resubmit then.",
    "forklift": "Forklift use at shift change is 41 %; the wait is for staging, which the "
    "accepted cart idea solves.",
    "music": "Shop-floor noise rules do not allow music at Line 3.",
    "tablets": "Tablets are not approved for the wet area; the shadow boards cover most of it.",
    "bolts": "Die sets come from three suppliers; passed to Purchasing for the next tender.",
    "shift-buddy": "A good onboarding idea: please bring it to the onboarding challenge.",
    "warmup": "Needs a second heating station; passed to the {next_year} capital expenditure "
    "review.",
    "calendar": "Already in the S&OP calendar; we will show Sales where to find it.",
}
LINES = [
    "Could we pilot this on the night shift first?",
    "What would this cost per line? Happy to help with the numbers.",
    "+1. We lose most of the time looking for the right tools.",
    "Logistics would need the order sequence two days ahead for this.",
    "Has anyone checked this with Quality? The first-part approval still takes 20 minutes.",
    "We tried something similar in 2019; the blocker was spare parts, not the idea.",
    "This also closes one of the findings from the spring audit.",
    "Line 2 would benefit just as much.",
]
VOICES = members("Production") * 3 + members("Logistics") * 2 + members("R&D") + members()


def write(s: Script) -> None:
    """Schedule the whole life of the changeover challenge."""
    cid = challenge_id(KEY)
    terms = {**TERMS, "submission_deadline": s.date_of(DEADLINE_DAY)}
    s.at(0.4, "draft_challenge", "mia", pot=3000, challenge_id=cid, **terms)
    clearer = {**terms, "question": TERMS["question"] + " No new machines are needed to take part."}
    s.at(1.3, "edit_challenge", "mia", cid, **clearer)
    s.at(1.5, "change_roles", "omar", ["contributor", "manager"])
    s.at(1.6, "add_manager", "mia", cid, "omar")
    s.at(2.4, "open_challenge", "mia", cid)

    for key, author, day, title, text in IDEAS:
        s.submit(day, key, KEY, author, title, text)
    s.team(3.6, "carts", "anna.kowalski", "ben.adeyemi")
    s.team(4.5, "carts", "anna.kowalski", "jakub.dvorak")
    s.team(5.2, "clamps", "carlos.ruiz", "tara.singh")
    s.at(
        20.9,
        "build_on",
        "vera.ivanova",
        idea_id("carts"),
        "The heating station could sit on the same cart route.",
        idea_id("warmup"),
    )
    s.at(19.4, "withdraw_idea", "yusuf.demir", idea_id("checklist"))

    # Helpful tips, marked and rewarded later.
    s.at(
        5.3,
        "comment",
        "leila.karimi",
        idea_id("carts"),
        "At the Hamburg site the carts are labelled by die number and parked in the order of "
        "the weekly plan; that alone saved ten minutes.",
        keep="tip-hamburg",
    )
    s.at(
        7.8,
        "comment",
        "frank.mueller",
        idea_id("clamps"),
        "The clamps need 200 bar; our press hydraulics give 160. Ask the supplier for the "
        "low-pressure model.",
        keep="tip-pressure",
    )
    s.at(
        14.2,
        "comment",
        "kaito.tanaka",
        idea_id("boards"),
        "Put the kit check into the shift-start routine, otherwise the boards empty in a month.",
        keep="tip-kit-check",
    )
    for key, _, day, _, _ in IDEAS:
        if key not in ("checklist", "boards-dup", "tablets"):
            s.chatter(key, day + 0.5, 40, VOICES, LINES, s.rng.randint(1, 4), s.rng.randint(2, 9))
    s.chatter("boards-dup", 9.8, 21, VOICES, LINES, 1, 2)
    s.chatter("tablets", 13.8, 22, VOICES, LINES, 1, 3)

    # A merge by mistake, undone, and the real duplicate merged.
    s.at(22.4, "merge_idea", "omar", idea_id("tablets"), idea_id("boards"))
    s.at(22.6, "undo_merge", "mia", idea_id("tablets"))
    s.at(24.3, "merge_idea", "mia", idea_id("boards-dup"), idea_id("boards"))

    # Review: two reviewers per idea, scores, then decisions well within 30 days.
    s.at(29.4, "move_challenge_to_review", "mia", cid)
    pool = members("Production", "R&D", "Logistics")
    decided = [k for k, *_ in IDEAS if k not in ("checklist", "boards-dup")]
    for n, key in enumerate(decided):
        s.at(29.5 + n * 0.02, "start_review", "mia", idea_id(key))
        for reviewer in s.reviewers(key, pool, 2):
            s.at(29.6 + n * 0.02, "ask_reviewer", "mia", idea_id(key), reviewer)
            strong = key in ("carts", "clamps", "boards")
            score = s.rng.randint(4, 5) if strong else s.rng.randint(2, 4)
            s.at(
                s.rng.uniform(31, 38),
                "give_review_score",
                reviewer,
                idea_id(key),
                score,
                "Scored against time saved, cost and effort to roll out.",
            )
    s.at(40.4, "accept_idea", "mia", idea_id("carts"), "Pilot on Line 3 in October.")
    s.at(40.5, "accept_idea", "mia", idea_id("clamps"), "Order the low-pressure model.")
    s.at(41.4, "accept_idea", "omar", idea_id("smed"), "Start with the day shift.")
    s.at(41.5, "accept_idea", "mia", idea_id("boards"), "Merged with the duplicate.")
    years = {"next_year": s.start.year + 1, "in_two_years": s.start.year + 2}
    for n, (key, reason) in enumerate(REJECTIONS.items()):
        s.at(42.4 + n * 0.3, "reject_idea", "mia", idea_id(key), reason.format(**years))

    # Rewards per policy: accepted ideas (a team of three splits 100) and helpful tips.
    for n, tip in enumerate(("tip-hamburg", "tip-pressure", "tip-kit-check")):
        s.at(44.4 + n * 0.01, "mark_helpful", "mia", Ref(tip))
        s.at(46.5 + n * 0.01, "grant_reward", "mia", "helpful-contribution", Ref(tip))
    for n, key in enumerate(("carts", "clamps", "smed", "boards")):
        s.at(46.4 + n * 0.01, "grant_reward", "mia", "idea-accepted", idea_id(key))

    # Hand-over to the line organisation, follow-up, outcomes.
    s.at(
        47.4,
        "take_over_idea",
        "mia",
        idea_id("clamps"),
        core_process="Production – changeover standard",
        external_ref=f"CAPEX-{s.start.year}-117",
        owner="lars",
    )
    s.at(
        48.4,
        "take_over_idea",
        "sofia",
        idea_id("carts"),
        core_process="Internal logistics – line supply",
        external_ref="SAP PM 4711-0032",
    )
    # sofia asked to take it over; the challenge's managers hand it to them.
    s.at(48.45, "take_over_idea", "mia", idea_id("carts"), core_process="", owner="sofia")
    s.at(
        49.4,
        "take_over_idea",
        "lars",
        idea_id("smed"),
        core_process="Training – shift qualification",
        external_ref="HR-TRN-88",
    )
    # lars asked to take it over; the challenge's managers hand it to them.
    s.at(49.45, "take_over_idea", "mia", idea_id("smed"), core_process="", owner="lars")
    s.at(
        50.4,
        "take_over_idea",
        "lars",
        idea_id("boards"),
        core_process="5S – Line 3",
        external_ref="OPS-1432",
    )
    # lars asked to take it over; the challenge's managers hand it to them.
    s.at(50.45, "take_over_idea", "mia", idea_id("boards"), core_process="", owner="lars")
    s.at(60.4, "report_progress", "lars", idea_id("smed"), "Day shift workshop held; 11 people.")
    s.at(62.4, "report_progress", "sofia", idea_id("carts"), "Three carts built; pilot running.")
    s.at(65.4, "report_progress", "lars", idea_id("clamps"), "Clamps delivered for two holders.")
    s.at(70.4, "report_progress", "lars", idea_id("boards"), "Boards up for two families of five.")
    s.at(
        71.4,
        "abandon_idea",
        "lars",
        idea_id("smed"),
        "The new four-shift rota leaves no "
        "two-day window per shift; the content moves into the annual training plan.",
    )
    s.at(74.4, "report_progress", "sofia", idea_id("carts"), "Average changeover 63 minutes.")
    s.at(80.4, "report_progress", "lars", idea_id("clamps"), "All eight holders converted.")
    s.at(
        84.4,
        "mark_implemented",
        "sofia",
        idea_id("carts"),
        "Changeover on Line 3 down "
        "from 95 to 58 minutes over six weeks; carts are now standard on Lines 2 and 3.",
    )
    s.at(
        88.4,
        "mark_implemented",
        "lars",
        idea_id("clamps"),
        "Die swap down from 31 to 9 minutes; about 1,250 production hours a year freed.",
    )
    s.at(90.4, "report_progress", "lars", idea_id("boards"), "Boards for four families of five.")
    s.at(90.6, "grant_reward", "mia", "idea-implemented", idea_id("carts"))
    s.at(90.7, "grant_reward", "mia", "idea-implemented", idea_id("clamps"))

    # Close, prizes for the best ideas, archive: what is left goes back to the treasury.
    s.at(92.4, "close_challenge", "mia", cid)
    s.at(93.4, "award_prize", "mia", idea_id("carts"), 1)
    s.at(93.5, "award_prize", "omar", idea_id("clamps"), 2)
    s.at(96.4, "archive_challenge", "mia", cid)
