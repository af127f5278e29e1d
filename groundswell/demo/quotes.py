"""Challenge 2: a small circle of enthusiasts carries it; follow-up is still under way."""

from __future__ import annotations

from typing import Any

from groundswell.demo.cast import Ref, Script, challenge_id, idea_id, members

KEY = "quotes"
DEADLINE_DAY = 60  # submissions close at the end of this simulated day
TERMS: dict[str, Any] = {
    "title": "Quote-to-order in one day",
    "question": "Customers wait three days for a quote and two more for the order confirmation. "
    "How do we get to one day?",
    "sponsor": "Henrik Aalto, Sales Director",
    "target_departments": ["Sales", "Finance"],
    "decision_deadline_days": 30,
    "accepted_idea_points": 80,
    "implemented_idea_points": 200,
    "helpful_contribution_points": 15,
    "prize_points": [400],
}
CIRCLE = ["kevin.obrien", "laura.rossi", "marco.bianchi", "zoe.clarke"]
# fmt: off
IDEAS = [  # key, author, day, title, description
    ("template", "kevin.obrien", 23.4, "One-page quote template with price bands",
     "Most quotes are variations of twenty products. A one-page template with price bands "
     "lets Sales quote without waiting for Finance on every line."),
    ("matrix", "laura.rossi", 24.5, "A pre-approved discount matrix",
     "Discounts inside an agreed matrix need no approval; only exceptions go to Finance."),
    ("credit", "zoe.clarke", 27.4, "Automatic credit check when the quote is created",
     "Run the credit check when the quote is created, not when the order arrives."),
    ("reminder", "marco.bianchi", 29.4, "CRM reminder when a quote is 48 hours old",
     "A reminder to the account manager when a quote has had no answer for two days."),
    ("template-v2", "kevin.obrien", 33.5, "Quote template with delivery dates",
     "The template from my first idea, plus a delivery date taken from stock levels."),
    ("standup", "laura.rossi", 36.4, "Weekly quote-review stand-up",
     "Fifteen minutes every Monday to unblock the quotes that wait longest."),
    ("calendar-access", "kevin.obrien", 40.5, "Sales read access to the production calendar",
     "Let Sales see the production calendar to promise realistic dates."),
    ("esign", "zoe.clarke", 44.4, "E-signature for order confirmations",
     "Customers sign the order confirmation online instead of printing and scanning."),
    ("inbox", "marco.bianchi", 47.4, "A shared inbox for quote requests",
     "One inbox per region so requests do not wait while someone is on holiday."),
    ("configurator", "nadia.rahman", 52.4, "Customer self-service price configurator",
     "Customers configure standard products and see the price themselves."),
    ("terms", "chiara.conti", 57.5, "Standard payment terms for repeat customers",
     "Repeat customers get standard terms, so Finance does not review each order."),
]
# fmt: on
REJECTIONS = {
    "reminder": "Already on the CRM roadmap for the first quarter; we will announce the release.",
    "standup": "It adds a meeting; the discount matrix removes most of the approval waits.",
    "calendar-access": "Covered by the S&OP calendar work from the changeover challenge.",
    "esign": "Waiting for the group e-signature policy; please resubmit once Legal approves it.",
    "configurator": "Too big for this challenge; handed to the digital roadmap board.",
    "terms": "Payment terms are set per framework contract by Legal; we shared the idea there.",
}
LINES = [
    "Love this. Finance, can you live with it?",
    "We did the numbers: 60 % of quotes would fit.",
    "This plus the discount matrix would be a game changer.",
    "Who maintains the price bands when list prices change?",
    "+1, customers ask for this every week.",
    "Can we try it in the Nordics region first?",
]
# Four people do most of the talking here: the pattern the breadth numbers should reveal.
VOICES = CIRCLE * 6 + ["nadia.rahman", "oscar.nilsson", "yusuf.demir", "amelie.fournier"]
# Many more look in once, endorse one idea and are not heard from again.
ONLOOKERS = [
    "paula.silva",
    "quentin.dubois",
    "bjorn.larsen",
    "diego.herrera",
    "jakub.dvorak",
    "kaito.tanaka",
    "wei.zhang",
    "emma.johansson",
    "frank.mueller",
    "tara.singh",
]


def write(s: Script) -> None:
    """Schedule the quote-to-order challenge, closed but not archived at the end."""
    cid = challenge_id(KEY)
    terms = {**TERMS, "submission_deadline": s.date_of(DEADLINE_DAY)}
    s.at(20.4, "draft_challenge", "omar", pot=1500, challenge_id=cid, **terms)
    s.at(22.4, "open_challenge", "omar", cid)
    for key, author, day, title, text in IDEAS:
        s.submit(day, key, KEY, author, title, text)
    s.team(25.0, "matrix", "laura.rossi", "zoe.clarke")
    s.team(27.6, "credit", "zoe.clarke", "marco.bianchi")
    s.team(28.1, "credit", "zoe.clarke", "kevin.obrien")
    s.at(
        33.6,
        "build_on",
        "kevin.obrien",
        idea_id("template"),
        "My delivery-date version builds on this one.",
        idea_id("template-v2"),
    )
    s.at(50.5, "withdraw_idea", "marco.bianchi", idea_id("inbox"))

    s.at(
        26.2,
        "comment",
        "yusuf.demir",
        idea_id("matrix"),
        "Finance can pre-approve up to 8 % for customers rated A; above that we need to look.",
        keep="tip-eight",
    )
    s.at(
        31.3,
        "comment",
        "laura.rossi",
        idea_id("template"),
        "Price bands must follow the list-price update in January, or the template goes stale.",
        keep="tip-bands",
    )
    s.at(
        38.5,
        "comment",
        "zoe.clarke",
        idea_id("credit"),
        "The credit agency has an API; we pay per call, about 40 cents.",
        keep="tip-api",
    )
    for key, _, day, _, _ in IDEAS:
        if key == "inbox":
            s.chatter(key, day + 0.3, 50, VOICES, LINES, 2, 3)
        elif key == "template-v2":
            s.chatter(key, day + 0.3, 60, VOICES, LINES, 2, 2)
        else:
            s.chatter(key, day + 0.3, 68, VOICES, LINES, s.rng.randint(2, 5), s.rng.randint(2, 6))

    early = [key for key, *_ in IDEAS[:6]]
    for n, who in enumerate(ONLOOKERS):
        key = early[n % len(early)]
        if (key, who) not in s.endorsed:
            s.endorsed.add((key, who))
            s.at(40.3 + n * 1.7, "endorse", who, idea_id(key))

    s.at(61.4, "move_challenge_to_review", "omar", cid)
    s.at(62.4, "merge_idea", "omar", idea_id("template-v2"), idea_id("template"))
    pool = members("Finance", "Sales")
    decided = [k for k, *_ in IDEAS if k not in ("inbox", "template-v2")]
    for n, key in enumerate(decided):
        s.at(61.5 + n * 0.02, "start_review", "omar", idea_id(key))
        for reviewer in s.reviewers(key, pool, 1):
            s.at(61.6 + n * 0.02, "ask_reviewer", "omar", idea_id(key), reviewer)
            s.at(
                s.rng.uniform(63, 70),
                "give_review_score",
                reviewer,
                idea_id(key),
                s.rng.randint(2, 5),
                "Quick look: value for customers against effort.",
            )
    s.at(72.4, "accept_idea", "omar", idea_id("template"), "Pilot in the Nordics.")
    s.at(74.4, "accept_idea", "omar", idea_id("matrix"), "Finance agrees to 8 % for A-rated.")
    s.at(78.4, "accept_idea", "omar", idea_id("credit"), "Needs an owner in Finance.")
    for n, (key, reason) in enumerate(REJECTIONS.items()):
        s.at(75.4 + n * 0.5, "reject_idea", "omar", idea_id(key), reason)

    for n, tip in enumerate(("tip-eight", "tip-bands", "tip-api")):
        s.at(79.4 + n * 0.01, "mark_helpful", "omar", Ref(tip))
        s.at(81.5 + n * 0.01, "grant_reward", "omar", "helpful-contribution", Ref(tip))
    for n, key in enumerate(("template", "matrix", "credit")):
        s.at(81.4 + n * 0.01, "grant_reward", "omar", "idea-accepted", idea_id(key))

    s.at(
        82.4,
        "take_over_idea",
        "sofia",
        idea_id("template"),
        core_process="Order-to-cash",
        external_ref="O2C-214",
    )
    # sofia asked to take it over; the challenge's managers hand it to them.
    s.at(82.45, "take_over_idea", "omar", idea_id("template"), core_process="", owner="sofia")
    s.at(
        83.4,
        "take_over_idea",
        "omar",
        idea_id("matrix"),
        core_process="Pricing governance",
        external_ref="FIN-PRC-19",
        owner="sofia",
    )
    s.at(90.4, "report_progress", "sofia", idea_id("template"), "Template live in the Nordics.")
    s.at(100.4, "report_progress", "sofia", idea_id("matrix"), "Matrix agreed; CRM change next.")
    s.at(
        104.4,
        "mark_implemented",
        "sofia",
        idea_id("template"),
        "Median quote turnaround down from 3.1 to 1.2 days in the Nordics pilot.",
    )
    s.at(105.4, "grant_reward", "omar", "idea-implemented", idea_id("template"))
    s.at(108.4, "award_prize", "omar", idea_id("template"), 1)
    s.at(110.4, "close_challenge", "omar", cid)
    s.at(112.4, "redeem_item", "kevin.obrien", Ref("item:An extra day off"), 250)
