"""Challenge 3: still open for ideas, most of them waiting for a decision, many overdue.

Its managers are mia, the demo manager whose token `make run` prints, who launched it, and
grace; its sponsor is ines. Signed in, mia finds the follow-up debt on her own desk, and the
follow-up process (run by `serve` at start) has reminded her and told grace and ines. Its
submission deadline lies after the day the demo is written, so a newcomer can submit an
idea to it at once.
"""

from __future__ import annotations

from typing import Any

from groundswell.demo.cast import SPAN_DAYS, Ref, Script, challenge_id, idea_id, members

KEY = "onboarding"
# Submissions close at the end of this simulated day: four weeks after the demo is written
# (the story ends the day before), so the open challenge takes ideas on the day it is shown.
DEADLINE_DAY = SPAN_DAYS + 28
TERMS: dict[str, Any] = {
    "title": "First 30 days: onboarding that sticks",
    "question": "One in five new colleagues leaves within a year. "
    "What would have made your first 30 days better?",
    "sponsor": "Ines Brandt, Head of HR",
    "target_departments": ["Production", "Sales", "R&D", "Finance", "HR", "Logistics"],
    "decision_deadline_days": 21,
    "accepted_idea_points": 60,
    "implemented_idea_points": 150,
    "helpful_contribution_points": 10,
    "prize_points": [200, 100],
}
# fmt: off
IDEAS = [  # key, author, day, title, description
    ("buddy", "emma.johansson", 73.4, "A buddy from another department",
     "Every newcomer gets a buddy outside their own team, to learn how the company works."),
    ("safety-walk", "jana.novak", 74.5, "Safety walk with the shift lead on day one",
     "Before touching a machine, walk the line with the shift lead and the safety officer."),
    ("customer-visit", "oscar.nilsson", 77.4, "Join a customer visit in the first month",
     "Seeing a customer use our products explains more than any slide deck."),
    ("tours", "umar.farouk", 80.4, "A calendar of lab and line tours",
     "Monthly tours of the lab and the lines, open to every newcomer."),
    ("ppe", "leila.karimi", 83.5, "Right-sized safety gear ready on day one",
     "Ask for sizes with the contract, so boots and gloves are there on the first morning."),
    ("payslip", "bjorn.larsen", 86.4, "Explain the payslip in week one",
     "Half of the questions to Payroll in the first months are about the payslip."),
    ("checkin", "georg.weber", 88.4, "A 30-day check-in with HR and the manager",
     "A short conversation after 30 days: what works, what does not."),
    ("glossary", "xenia.papadopoulos", 91.4, "A glossary of our acronyms",
     "S&OP, OEE, SMED, O2C... a one-page glossary in the welcome pack."),
    ("lunch", "fatima.benali", 95.4, "Lunch roulette across departments",
     "Once a week, lunch with three random colleagues from other departments."),
    # Recent ones, still within the 21 days to decide: waiting, not yet overdue.
    ("laptop", "kaito.tanaka", 126.4, "A working laptop and accounts on day one",
     "IT prepares the laptop and every account before the first morning, not in week two."),
    ("map", "olu.bankole", 133.4, "A site map with the places nobody tells you about",
     "Where the canteen, the first-aid room and the quiet rooms are, on one page."),
]
# fmt: on
LINES = [
    "I would have loved this when I started.",
    "We could run this together with the works council.",
    "Production newcomers start at 6 am; please think of the shifts.",
    "Easy to start small: one department first.",
    "Any news on this?",
    "+1 from Logistics.",
]
VOICES = members()


def write(s: Script) -> None:
    """Schedule the onboarding challenge up to the end of the simulation (the day before today)."""
    cid = challenge_id(KEY)
    terms = {**TERMS, "submission_deadline": s.date_of(DEADLINE_DAY)}
    s.at(70.4, "draft_challenge", "mia", pot=800, challenge_id=cid, **terms)
    s.at(71.5, "top_up_pot", "mia", cid, 400)
    s.at(71.6, "add_manager", "mia", cid, "grace")
    s.at(71.7, "set_follow_up_policy", "mia", cid, sponsor_handle="ines")
    s.at(72.4, "open_challenge", "mia", cid)
    for key, author, day, title, text in IDEAS:
        s.submit(day, key, KEY, author, title, text)
    s.team(76.0, "buddy", "emma.johansson", "isabel.moreno")
    s.at(
        91.5,
        "build_on",
        "xenia.papadopoulos",
        idea_id("buddy"),
        "The buddy could hand over the glossary on day one.",
        idea_id("glossary"),
    )
    s.at(
        76.2,
        "edit_idea",
        "emma.johansson",
        idea_id("buddy"),
        title="A buddy from another department",
        description="Every newcomer gets a buddy outside their own team for the first 30 "
        "days, to learn how the company works and whom to ask.",
    )

    s.at(
        84.3,
        "comment",
        "olu.bankole",
        idea_id("ppe"),
        "Logistics can order the gear when HR sends the start date; we need the sizes two "
        "weeks ahead.",
        keep="tip-sizes",
    )
    s.at(
        84.2,
        "comment",
        "ivan.petrov",
        idea_id("tours"),
        "Call Tomasz on 0176 5550 1234, he knows everything about the lab tours.",
        keep="phone-number",
    )
    s.at(
        84.6,
        "hide_contribution",
        "grace",
        Ref("phone-number"),
        "Contains a colleague's private phone number.",
    )
    s.at(
        87.3,
        "comment",
        "quentin.dubois",
        idea_id("customer-visit"),
        "Key accounts are happy to host newcomers if we ask a month ahead.",
        keep="tip-hosts",
    )
    for key, _, day, _, _ in IDEAS:
        end = max(120, day + 5)  # the recent ideas are talked about after they arrive
        s.chatter(key, day + 0.3, end, VOICES, LINES, s.rng.randint(1, 3), s.rng.randint(3, 8))

    # The only decisions: one quick acceptance, one rejection. Then silence.
    s.at(92.4, "start_review", "grace", idea_id("safety-walk"))
    s.at(94.4, "accept_idea", "grace", idea_id("safety-walk"), "Start in January at Line 3.")
    s.at(95.4, "grant_reward", "grace", "idea-accepted", idea_id("safety-walk"))
    s.at(
        96.4,
        "reject_idea",
        "grace",
        idea_id("checkin"),
        f"Already mandatory since {s.start.year - 2}; we will make it visible in the "
        "onboarding plan.",
    )
    for n, tip in enumerate(("tip-sizes", "tip-hosts")):
        s.at(97.4 + n * 0.01, "mark_helpful", "grace", Ref(tip))
        s.at(97.5 + n * 0.01, "grant_reward", "grace", "helpful-contribution", Ref(tip))
    for n, key in enumerate(("buddy", "customer-visit")):
        s.at(102.4 + n * 0.01, "start_review", "grace", idea_id(key))
        for reviewer in s.reviewers(key, members("HR", "Production"), 2):
            s.at(102.5 + n * 0.01, "ask_reviewer", "grace", idea_id(key), reviewer)
            s.at(
                s.rng.uniform(104, 112),
                "give_review_score",
                reviewer,
                idea_id(key),
                s.rng.randint(3, 5),
                "Cheap to try and newcomers would notice.",
            )

    s.at(30.5, "choose_pseudonym", "nora.eriksen", "Pallet Poet")
    s.at(65.4, "change_department", "helena.costa", "Finance")
    item = Ref("item:Noise-cancelling headphones")
    s.at(100.4, "redeem_item", "anna.kowalski", item, 150, keep="redeemed:headphones")
    s.at(103.2, "fulfil_redemption", "anna.kowalski", Ref("redeemed:headphones"))
    s.at(
        135.4,
        "comment",
        "emma.johansson",
        idea_id("buddy"),
        "It is weeks past the decision date. Is anyone still looking at these ideas?",
    )
    s.at(139.6, "comment", "leila.karimi", idea_id("ppe"), "Any news on this?")
