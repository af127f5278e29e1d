"""Random sequences of valid and invalid commands against the engine, checked step by step.

Managers, contributors from several departments and implementation owners drive several
challenges through the Engine on the in-memory store. A small model, written apart from
the domain, predicts whether each command is accepted and what it changes; after every
step the whole stored history must hold the ledger invariants (tests/invariants.py) and
agree with the model. A refused command must leave the store untouched.

Random commands seldom walk an idea all the way from submission to its rewards, so a few
"push" rules take the next step on the happy path with fitting choices only; everything
else is drawn mostly fitting, sometimes wrong (actor, stage, id, input).

GROUNDSWELL_STATEFUL_EXAMPLES sets how many sequences run (150 by default).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from domain.errors import DomainError
from domain.person import person_id
from groundswell.app.application import Receipt
from groundswell.app.services.people import SYSTEM
from tests import invariants
from tests.support import START, SteppingClock, memory_engine

EXAMPLES = int(os.environ.get("GROUNDSWELL_STATEFUL_EXAMPLES", "150"))
STEPS = 40

MANAGERS = {"mia": "Innovation", "max": "Finance", "mo": "Innovation"}
CONTRIBUTORS = {"ann": "Sales", "bob": "R&D", "cat": "Operations", "dan": "HR"}
OWNERS = {"ola": "Operations", "oz": "IT"}
AUDITORS = {"aud": "Audit"}  # reads everything, takes part in nothing
PEOPLE = {**MANAGERS, **CONTRIBUTORS, **OWNERS, **AUDITORS}
ROLES = {
    **{h: ["manager"] for h in MANAGERS},
    **{h: ["owner"] for h in OWNERS},
    **{h: ["auditor"] for h in AUDITORS},
}
TAKE_PART = set(PEOPLE) - set(AUDITORS)
GHOST = "ghost"  # never registered
EVERYONE = [*sorted(PEOPLE), GHOST]

UNDECIDED = {"submitted", "under review"}
TEAM_CAN_GROW = UNDECIDED | {"accepted"}
TAKES_INPUT = {
    "submitted",
    "under review",
    "accepted",
    "rejected",
    "in implementation",
    "implemented",
    "abandoned",
}
ACTIVE = {"open", "review", "closed"}
PRIZES = [f"prize-{rank}" for rank in range(1, 11)]
CANONICAL_REASONS = {"idea-accepted", "idea-implemented", "helpful-contribution", *PRIZES}
ODD_REASONS = ["", "bonus", "Idea-Accepted", "prize-0", "prize-11", "prize-x", "prize-01"]
# Digits str.isdigit() knows but the ASCII ranks are not written in: Arabic-Indic one and
# superscript two (on which int() raised ValueError before prize_rank() was fixed).
ODD_REASONS += ["prize-\u0661", "prize-\u00b2"]
# The engine may accept or refuse; the model does not judge (a questionable case, see its use).
EITHER = "either way"

# Counts for the CI log: how much the machine ran and how much of it the engine took.
RUN = Counter[str]()

TEXTS = st.sampled_from(["Reuse pallets", " Shared bikes ", "Night shift canteen"])
BAD_TEXTS = st.sampled_from(["", "   ", "t" * 10_001, None])
POINTS = st.sampled_from([-5, 0, 1, 2, 10, 100, 10**9 + 1])
NOTES = st.sampled_from(["Saved 3 hours a week", " "])
SCORES = st.sampled_from([0, 1, 3, 5, 6, True])
DEADLINES = st.integers(-2, 45).map(lambda d: (START.date() + timedelta(days=d)).isoformat())
DROP = object()  # a term left out
TERM_NAMES = [
    "title",
    "question",
    "sponsor",
    "target_departments",
    "submission_deadline",
    "decision_deadline_days",
    "accepted_idea_points",
    "implemented_idea_points",
    "helpful_contribution_points",
    "prize_points",
]
BAD_TERMS: list[tuple[str, Any]] = [
    ("title", ""),
    ("title", "   "),
    ("title", "t" * 201),
    ("title", None),
    ("question", ""),
    ("sponsor", "s" * 101),
    ("target_departments", []),
    ("target_departments", "Sales"),
    ("target_departments", [" "]),
    ("submission_deadline", "2026-02-30"),
    ("submission_deadline", "soon"),
    ("decision_deadline_days", 0),
    ("decision_deadline_days", 366),
    ("decision_deadline_days", True),
    ("accepted_idea_points", -1),
    ("implemented_idea_points", 1.5),
    ("helpful_contribution_points", "3"),
    ("prize_points", [0]),
    ("prize_points", [-5]),
    ("prize_points", [1] * 11),
    ("prize_points", 5),
    ("title", DROP),
    ("submission_deadline", DROP),
    ("budget", 100),
]


@st.composite
def valid_terms(draw: st.DrawFn, generous: bool = False) -> dict[str, Any]:
    """Valid terms of a challenge, its reward policy included (all of it above 0 if generous)."""
    low = 1 if generous else 0
    return {
        "title": draw(st.sampled_from(["Cut waste", " Greener offices ", "Faster onboarding"])),
        "question": "How could we do better?",
        "sponsor": draw(st.sampled_from(["CFO", "Head of Operations"])),
        "target_departments": draw(
            st.lists(st.sampled_from(sorted(set(PEOPLE.values()))), min_size=1, max_size=3)
        ),
        "submission_deadline": draw(DEADLINES),
        "decision_deadline_days": draw(st.integers(1, 365)),
        "accepted_idea_points": draw(st.sampled_from([0, 1, 5, 10, 40][low:])),
        "implemented_idea_points": draw(st.sampled_from([0, 7, 20][low:])),
        "helpful_contribution_points": draw(st.sampled_from([0, 1, 3][low:])),
        "prize_points": draw(st.lists(st.sampled_from([5, 25, 100]), min_size=low, max_size=3)),
    }


@st.composite
def challenge_terms(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    """Terms of a challenge, and which term is spoiled (at most one; None when valid)."""
    terms = draw(valid_terms())
    spoil = draw(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(BAD_TERMS)))
    if spoil is None:
        return terms, None
    name, value = spoil
    if value is DROP:
        del terms[name]
    else:
        terms[name] = value
    return terms, name


def equal_split(amount: int, team: list[str]) -> dict[str, int]:
    """Equal shares in whole points; the left-over points go to the first names; a member
    whose share is 0 points (fewer points than members) is not in the award at all."""
    names = sorted(set(team))
    base, extra = divmod(amount, len(names))
    shares = {name: base + (i < extra) for i, name in enumerate(names)}
    return {name: points for name, points in shares.items() if points}


@dataclass
class ChallengeModel:
    managers: list[str]
    terms: dict[str, Any]
    stage: str = "draft"
    pot: int = 0
    prizes_awarded: set[int] = field(default_factory=set)
    prize_winners: set[UUID] = field(default_factory=set)
    rewarded: set[tuple[str, UUID, str]] = field(default_factory=set)

    def points_for(self, reason: str) -> int:
        if reason in PRIZES:
            rank = int(reason.removeprefix("prize-"))
            prizes = self.terms["prize_points"]
            return prizes[rank - 1] if rank <= len(prizes) else 0
        key = {
            "idea-accepted": "accepted_idea_points",
            "idea-implemented": "implemented_idea_points",
            "helpful-contribution": "helpful_contribution_points",
        }[reason]
        return int(self.terms[key])


@dataclass
class IdeaModel:
    challenge_id: UUID
    author: str
    status: str = "submitted"
    team: list[str] = field(default_factory=list)
    invited: set[str] = field(default_factory=set)
    reviewers: list[str] = field(default_factory=list)
    was_accepted: bool = False
    owner: str | None = None
    asked: dict[str, str] = field(default_factory=dict)  # owner → core process they gave
    merged_into: UUID | None = None
    status_before_merge: str | None = None
    duplicates: list[UUID] = field(default_factory=list)


@dataclass
class ItemModel:
    price: int
    stock: int | None
    active: bool = True


@dataclass
class RedemptionModel:
    handle: str
    points: int
    item_id: UUID
    status: str = "requested"


@dataclass
class ContributionModel:
    idea_id: UUID
    challenge_id: UUID
    author: str
    helpful: bool = False
    hidden: bool = False


def in_order(choices: Any) -> list[Any]:
    """A stable order to draw from: ids come in creation order (uuid4s differ per run)."""
    return sorted(choices, key=str) if isinstance(choices, (set, frozenset)) else list(choices)


def valid_text(value: object, *, required: bool = True, max_len: int = 10_000) -> bool:
    if not isinstance(value, str):
        return False
    cleaned = value.strip()
    return (bool(cleaned) or not required) and len(cleaned) <= max_len


class EngineMachine(RuleBasedStateMachine):
    """The engine under random commands; the model says what each one should do."""

    challenges = Bundle("challenges")
    ideas = Bundle("ideas")
    contributions = Bundle("contributions")

    def __init__(self) -> None:
        super().__init__()
        self.clock = SteppingClock()
        self.engine = memory_engine(self.clock)
        self.events: list[Any] = []
        self.challenge_models: dict[UUID, ChallengeModel] = {}
        self.idea_models: dict[UUID, IdeaModel] = {}
        self.contribution_models: dict[UUID, ContributionModel] = {}
        self.given_once: set[tuple[str, UUID, str]] = set()
        self.item_models: dict[UUID, ItemModel] = {}
        self.redemption_models: dict[UUID, RedemptionModel] = {}
        self.eager = False  # True while a push_* rule makes only fitting choices
        self.balances: dict[str, int] = dict.fromkeys(PEOPLE, 0)
        self.demoted: set[str] = set()  # managers whose manager role was taken away
        for handle, department in PEOPLE.items():
            self.engine.register_person(
                handle, name=handle.title(), department=department, roles=ROLES.get(handle)
            )
        RUN["examples"] += 1

    # -- helpers -------------------------------------------------------------------------

    def attempt(
        self, refusal: str | None, events: int, command: Any, *args: Any, **kwargs: Any
    ) -> Receipt | None:
        """Run a command the model expects refused (``refusal`` says why) or accepted.

        A refused command must raise a DomainError and write nothing; an accepted one
        must write exactly ``events`` events and say where the last one landed.
        """
        RUN["commands"] += 1
        name = command.__name__
        before = self.engine.last_position
        try:
            receipt = command(*args, **kwargs)
        except DomainError as error:
            assert self.engine.last_position == before, f"refused {name} wrote events"
            assert refusal is not None, f"{name} refused ({error!r}); the model accepts it"
            RUN[f"refused {name}: {refusal}"] += 1
            RUN["refused"] += 1
            return None
        assert refusal in (None, EITHER), f"{name} accepted; the model refuses it: {refusal}"
        RUN["accepted"] += 1
        RUN[f"ok {name}"] += 1
        assert receipt.events == events, f"{name} wrote {receipt.events}, expected {events}"
        assert receipt.position == self.engine.last_position == before + events
        return receipt

    def pick(self, data: st.DataObject, label: str, fitting: Any, everything: Any) -> Any:
        """Mostly something that fits the command; sometimes anything at all."""
        fitting = in_order(fitting)
        if fitting and (self.eager or data.draw(st.integers(0, 3), label=f"{label} fits?")):
            return data.draw(st.sampled_from(fitting), label=label)
        return data.draw(st.sampled_from(in_order(everything)), label=label)

    def target(self, data: st.DataObject, drawn: UUID, fitting: Any) -> UUID:
        """The bundle's pick, one that fits the command, or an id of the wrong kind."""
        if self.eager:
            return drawn
        modes = ["fit", "fit", "fit", "bundle", "bundle", "stranger"]
        mode = data.draw(st.sampled_from(modes), label="target")
        fitting = in_order(fitting)
        if mode == "fit" and fitting:
            return data.draw(st.sampled_from(fitting), label="fitting target")
        if mode == "stranger":
            known = [*self.challenge_models, *self.idea_models, *self.contribution_models]
            return data.draw(
                st.one_of(st.uuids(), st.sampled_from([*known, person_id("ann")])),
                label="stranger id",
            )
        return drawn

    def manages(self, actor: str, managers: list[str]) -> bool:
        """One of the challenge's managers, who holds the manager role now."""
        return actor in managers and actor not in self.demoted

    def managers_of(self, challenge_id: UUID | None) -> list[str]:
        model = self.challenge_models.get(challenge_id) if challenge_id else None
        return model.managers if model else list(MANAGERS)

    def today(self) -> str:
        return self.clock.now.date().isoformat()

    def ideas_where(self, *statuses: str) -> list[UUID]:
        return [i for i, m in self.idea_models.items() if m.status in statuses]

    def challenges_where(self, *stages: str) -> list[UUID]:
        return [c for c, m in self.challenge_models.items() if m.stage in stages]

    # -- people and the clock -------------------------------------------------------------

    @initialize(target=challenges, terms=valid_terms(generous=True), pot=st.integers(50, 300))
    def first_challenge(self, terms: dict[str, Any], pot: int) -> UUID:
        return self.open_first_challenge(terms, pot)

    @initialize(
        target=ideas,
        terms=valid_terms(generous=True),
        pot=st.integers(50, 300),
        authors=st.lists(st.sampled_from(sorted(CONTRIBUTORS)), min_size=1, max_size=3),
    )
    def first_ideas(self, terms: dict[str, Any], pot: int, authors: list[str]) -> Any:
        challenge = self.open_first_challenge(terms, pot)
        submitted = []
        for author in authors:
            receipt = self.attempt(
                None, 1, self.engine.submit_idea, author, challenge, title="A", description="B"
            )
            assert receipt is not None and receipt.id is not None
            self.idea_models[receipt.id] = IdeaModel(challenge, author, team=[author])
            submitted.append(receipt.id)
        return multiple(*submitted)

    def open_first_challenge(self, terms: dict[str, Any], pot: int) -> UUID:
        """Every run starts with one open challenge (and some ideas), so runs get deep fast.

        Both initializers ask for it, in whichever order they run; the first drafts it.
        """
        if self.challenge_models:
            return next(iter(self.challenge_models))
        terms = {**terms, "submission_deadline": (START.date() + timedelta(days=30)).isoformat()}
        receipt = self.attempt(
            None, 1 + (pot > 0), self.engine.draft_challenge, "mia", pot=pot, **terms
        )
        assert receipt is not None and receipt.id is not None
        self.challenge_models[receipt.id] = ChallengeModel(["mia"], terms, pot=pot)
        self.attempt(None, 1, self.engine.open_challenge, "mia", receipt.id)
        self.challenge_models[receipt.id].stage = "open"
        return receipt.id

    @rule(handle=st.sampled_from([*sorted(PEOPLE), "newbie"]), actor=st.sampled_from(EVERYONE))
    def register_person(self, handle: str, actor: str) -> None:
        """Only an administrator registers people (nobody here is one), and only once."""
        command = self.engine.register_person
        self.attempt("not an admin", 0, command, handle, name="X", department="Y", actor=actor)
        if handle in PEOPLE:
            self.attempt("registered", 0, command, handle, name="X", department="Y")

    @rule(days=st.integers(1, 5))
    def advance_clock(self, days: int) -> None:
        self.clock.advance(days=days)

    @rule(handle=st.sampled_from(["max", "mo"]))
    def take_the_manager_role_away_or_give_it_back(self, handle: str) -> None:
        """The operator changes a manager's roles; they stay among their challenges'
        managers, but manage nothing without the role (mia keeps hers, so runs go on)."""
        roles = ["manager"] if handle in self.demoted else ["contributor"]
        self.attempt(None, 1, self.engine.change_roles, handle, roles)
        self.demoted ^= {handle}

    # -- the reward store ------------------------------------------------------------------

    def admin(self, data: st.DataObject) -> str:
        """The local operator (an administrator), mostly; sometimes someone who is not."""
        return self.pick(data, "admin", [SYSTEM], [SYSTEM, "mia", "ann", "aud", GHOST])

    def store_refusal(self, actor: str) -> str | None:
        return None if actor == SYSTEM else "not an admin"

    @rule(data=st.data(), price=POINTS, stock=st.sampled_from([None, None, 0, 1, 2, -1]))
    def offer_item(self, data: st.DataObject, price: int, stock: int | None) -> None:
        actor = self.admin(data)
        refusal = self.store_refusal(actor)
        if not 0 < price <= 10**9 or (stock is not None and stock < 0):
            refusal = refusal or "bad input"
        command = self.engine.offer_item
        receipt = self.attempt(refusal, 1, command, "Mug", price=price, stock=stock, actor=actor)
        if receipt is not None:
            assert receipt.id is not None
            self.item_models[receipt.id] = ItemModel(price, stock)

    def item(self, data: st.DataObject) -> UUID:
        """A listed item, mostly; sometimes an id that is none."""
        if self.item_models and (self.eager or data.draw(st.integers(0, 5), label="known item")):
            return data.draw(st.sampled_from(in_order(self.item_models)), label="item")
        return data.draw(st.sampled_from([person_id("ann"), UUID(int=7)]), label="no item")

    @rule(data=st.data(), price=POINTS, stock=st.sampled_from([None, 0, 1, 3, -1]))
    def change_item(self, data: st.DataObject, price: int, stock: int | None) -> None:
        """Reprice, restock, retire or reactivate an item (administrators)."""
        actor, item = self.admin(data), self.item(data)
        model = self.item_models.get(item)
        what = data.draw(st.sampled_from(["price", "stock", "retire", "reactivate"]), label="do")
        refusal = self.store_refusal(actor) or (None if model else "no such item")
        if what == "price":
            if not 0 < price <= 10**9:
                refusal = refusal or "bad price"
            if self.attempt(refusal, 1, self.engine.reprice_item, item, price, actor=actor):
                assert model is not None
                model.price = price
        elif what == "stock":
            if stock is not None and stock < 0:
                refusal = refusal or "bad stock"
            if self.attempt(refusal, 1, self.engine.restock_item, item, stock, actor=actor):
                assert model is not None
                model.stock = stock
        else:
            retiring = what == "retire"
            if model is not None and model.active != retiring:
                refusal = refusal or "already so"
            command = self.engine.retire_item if retiring else self.engine.reactivate_item
            if self.attempt(refusal, 1, command, item, actor=actor):
                assert model is not None
                model.active = not retiring

    @rule(data=st.data(), offer=st.sampled_from(["none", "price", "price", "other"]))
    def redeem_item(self, data: st.DataObject, offer: str) -> None:
        """Redeem an item at its price: never another price, a retired item, one out of
        stock, or more than one's balance."""
        rich = [h for h, b in self.balances.items() if b > 0]
        actor = self.pick(data, "actor", rich, EVERYONE)
        affordable = [
            i
            for i, m in self.item_models.items()
            if m.active and m.stock != 0 and m.price <= self.balances.get(actor, 0)
        ]
        if self.eager and affordable:
            item = data.draw(st.sampled_from(in_order(affordable)), label="affordable item")
        else:
            item = self.item(data)
        model = self.item_models.get(item)
        offered = None
        if model is not None and offer != "none":
            offered = model.price if offer == "price" else model.price + 1
        refusal = None
        if actor not in PEOPLE:
            refusal = "unknown person"
        elif model is None:
            refusal = "no such item"
        elif offered is not None and offered != model.price:
            refusal = "another price"
        elif not model.active:
            refusal = "retired"
        elif model.stock == 0:
            refusal = "out of stock"
        elif model.price > self.balances[actor]:
            refusal = "overdraw"
        receipt = self.attempt(refusal, 2, self.engine.redeem_item, actor, item, offered)
        if receipt is not None:
            assert receipt.id is not None and model is not None
            self.balances[actor] -= model.price
            if model.stock is not None:
                model.stock -= 1
            self.redemption_models[receipt.id] = RedemptionModel(actor, model.price, item)

    @rule(data=st.data(), cancel=st.booleans())
    def settle_redemption(self, data: st.DataObject, cancel: bool) -> None:
        """Fulfil a redemption, or cancel it with the points (and the item) given back."""
        actor = self.admin(data)
        pending = [r for r, m in self.redemption_models.items() if m.status == "requested"]
        fitting = pending if self.eager else in_order(self.redemption_models)
        redemption = self.pick(data, "redemption", fitting, [*fitting, UUID(int=9)])
        model = self.redemption_models.get(redemption)
        handle = model.handle if model else "ann"
        refusal = self.store_refusal(actor)
        if model is None:
            refusal = refusal or "no such redemption"
        elif model.status != "requested":
            refusal = refusal or f"already {model.status}"
        if cancel:
            command = self.engine.cancel_redemption
            if self.attempt(refusal, 2, command, handle, redemption, "Gone", actor=actor):
                assert model is not None
                model.status = "cancelled"
                self.balances[handle] += model.points
                item = self.item_models[model.item_id]
                if item.stock is not None:
                    item.stock += 1
        elif self.attempt(
            refusal, 1, self.engine.fulfil_redemption, handle, redemption, actor=actor
        ):
            assert model is not None
            model.status = "fulfilled"

    @rule(data=st.data(), cancel=st.booleans(), stock=st.sampled_from([0, 1, None]))
    def push_the_store_forward(self, data: st.DataObject, cancel: bool, stock: int | None) -> None:
        """Settle a requested redemption; or else change an item (its stock, price or state)."""
        if any(m.status == "requested" for m in self.redemption_models.values()):
            self.eagerly(self.settle_redemption, data, cancel)
        elif self.item_models:
            self.eagerly(self.change_item, data, 1, stock)

    # -- challenges -------------------------------------------------------------------------

    @rule(target=challenges, data=st.data(), drafted=challenge_terms(), pot=POINTS)
    def draft_challenge(
        self, data: st.DataObject, drafted: tuple[dict[str, Any], str | None], pot: int
    ) -> Any:
        terms, spoiled = drafted
        actor = self.pick(data, "actor", MANAGERS, EVERYONE)
        refusal = None
        if actor not in MANAGERS or actor in self.demoted:
            refusal = "only managers draft"
        elif spoiled or not 0 <= pot <= 10**9:
            refusal = "bad terms"
        receipt = self.attempt(
            refusal, 1 + (pot > 0), self.engine.draft_challenge, actor, pot=pot, **terms
        )
        if receipt is None:
            return multiple()
        assert receipt.id is not None
        self.challenge_models[receipt.id] = ChallengeModel([actor], terms, pot=pot)
        return receipt.id

    @rule(
        data=st.data(),
        challenge=challenges,
        drafted=challenge_terms(),
        names=st.lists(st.sampled_from(TERM_NAMES), unique=True, max_size=4),
    )
    def edit_challenge(
        self,
        data: st.DataObject,
        challenge: UUID,
        drafted: tuple[dict[str, Any], str | None],
        names: list[str],
    ) -> None:
        """Change some terms (the rest stay); an unknown term name or no change is refused."""
        challenge = self.target(data, challenge, self.challenges_where("draft"))
        terms, spoiled = drafted
        changes = {name: terms[name] for name in names if name in terms}
        if spoiled and spoiled not in TERM_NAMES:
            changes[spoiled] = terms[spoiled]
        actor = self.pick(data, "actor", self.managers_of(challenge), EVERYONE)
        model = self.challenge_models.get(challenge)
        refusal = None
        if model is None:
            refusal = "unknown challenge"
        elif not self.manages(actor, model.managers):
            refusal = "not a manager"
        elif model.stage != "draft":
            refusal = f"challenge is {model.stage}"
        elif not changes or spoiled in changes:
            refusal = "bad or no changes"
        if self.attempt(refusal, 1, self.engine.edit_challenge, actor, challenge, **changes):
            assert model is not None
            model.terms = {**model.terms, **changes}

    @rule(data=st.data(), challenge=challenges)
    def add_manager(self, data: st.DataObject, challenge: UUID) -> None:
        challenge = self.target(data, challenge, self.challenges_where(*ACTIVE, "draft"))
        actor = self.pick(data, "actor", self.managers_of(challenge), EVERYONE)
        manager = self.pick(data, "manager", MANAGERS, EVERYONE)
        model = self.challenge_models.get(challenge)
        refusal = None
        if model is None:
            refusal = "unknown challenge"
        elif manager not in MANAGERS or manager in self.demoted:
            refusal = "not a registered manager"
        elif not self.manages(actor, model.managers):
            refusal = "actor is not a manager"
        elif model.stage == "archived":
            refusal = "archived"
        elif manager in model.managers:
            refusal = "already a manager"
        if self.attempt(refusal, 1, self.engine.add_manager, actor, challenge, manager):
            assert model is not None
            model.managers.append(manager)

    @rule(data=st.data(), challenge=challenges, points=POINTS)
    def top_up_pot(self, data: st.DataObject, challenge: UUID, points: int) -> None:
        challenge = self.target(data, challenge, self.challenges_where(*ACTIVE, "draft"))
        actor = self.pick(data, "actor", self.managers_of(challenge), EVERYONE)
        model = self.challenge_models.get(challenge)
        refusal = None
        if model is None:
            refusal = "unknown challenge"
        elif not self.manages(actor, model.managers):
            refusal = "not a manager"
        elif model.stage == "archived":
            refusal = "archived"
        elif not 0 < points <= 10**9:
            refusal = "bad points"
        if self.attempt(refusal, 1, self.engine.top_up_pot, actor, challenge, points):
            assert model is not None
            model.pot += points

    @rule(data=st.data(), challenge=challenges)
    def open_challenge(self, data: st.DataObject, challenge: UUID) -> None:
        self.move_challenge(data, challenge, "draft", "open", self.engine.open_challenge)

    @rule(data=st.data(), challenge=challenges)
    def move_challenge_to_review(self, data: st.DataObject, challenge: UUID) -> None:
        command = self.engine.move_challenge_to_review
        self.move_challenge(data, challenge, "open", "review", command)

    @rule(data=st.data(), challenge=challenges)
    def close_challenge(self, data: st.DataObject, challenge: UUID) -> None:
        self.move_challenge(data, challenge, "review", "closed", self.engine.close_challenge)

    @rule(data=st.data(), challenge=challenges)
    def archive_challenge(self, data: st.DataObject, challenge: UUID) -> None:
        """A closed challenge is put away; a draft that will never open is discarded; either
        way its pot returns to the treasury."""
        command = self.engine.archive_challenge
        self.move_challenge(data, challenge, ("closed", "draft"), "archived", command)

    def move_challenge(
        self,
        data: st.DataObject,
        challenge: UUID,
        before: str | tuple[str, ...],
        after: str,
        command: Any,
    ) -> None:
        befores = (before,) if isinstance(before, str) else before
        challenge = self.target(data, challenge, self.challenges_where(*befores))
        actor = self.pick(data, "actor", self.managers_of(challenge), EVERYONE)
        model = self.challenge_models.get(challenge)
        refusal = None
        if model is None:
            refusal = "unknown challenge"
        elif not self.manages(actor, model.managers):
            refusal = "not a manager"
        elif model.stage not in befores:
            refusal = f"challenge is {model.stage}"
        elif after == "open" and self.today() > model.terms["submission_deadline"].strip():
            refusal = "deadline passed"
        if self.attempt(refusal, 1, command, actor, challenge):
            assert model is not None
            model.stage = after
            if after == "archived":
                model.pot = 0

    # -- ideas: contributors --------------------------------------------------------------

    @rule(target=ideas, data=st.data(), challenge=challenges, title=TEXTS, description=TEXTS)
    def submit_idea(
        self, data: st.DataObject, challenge: UUID, title: Any, description: Any
    ) -> Any:
        challenge = self.target(data, challenge, self.challenges_where("open"))
        actor = self.pick(data, "actor", CONTRIBUTORS, EVERYONE)
        if data.draw(st.integers(0, 7), label="spoil text?") == 0:
            title = data.draw(BAD_TEXTS, label="title")
        model = self.challenge_models.get(challenge)
        refusal = None
        if model is None:
            refusal = "unknown challenge"
        elif actor not in TAKE_PART:
            refusal = "unknown person or auditor"
        elif model.stage != "open" or self.today() > model.terms["submission_deadline"].strip():
            refusal = "not open for submissions"
        elif not valid_text(title, max_len=200) or not valid_text(description):
            refusal = "bad text"
        receipt = self.attempt(
            refusal,
            1,
            self.engine.submit_idea,
            actor,
            challenge,
            title=title,
            description=description,
        )
        if receipt is None:
            return multiple()
        assert receipt.id is not None
        self.idea_models[receipt.id] = IdeaModel(challenge, actor, team=[actor])
        return receipt.id

    def inactive(self, model: IdeaModel) -> str | None:
        """Why nothing may change the idea's challenge now (None when active)."""
        stage = self.challenge_models[model.challenge_id].stage
        return None if stage in ACTIVE else f"challenge is {stage}"

    def idea_and_actor(
        self, data: st.DataObject, idea: UUID, fitting: Any, actors: Any
    ) -> tuple[UUID, IdeaModel | None, str]:
        idea = self.target(data, idea, fitting)
        model = self.idea_models.get(idea)
        actor = self.pick(data, "actor", actors(model) if model else [], EVERYONE)
        return idea, model, actor

    @rule(data=st.data(), idea=ideas, title=TEXTS)
    def edit_idea(self, data: st.DataObject, idea: UUID, title: Any) -> None:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where("submitted"), lambda m: m.team
        )
        if data.draw(st.integers(0, 3), label="spoil title?") == 0:
            title = data.draw(BAD_TEXTS, label="title")
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif self.inactive(model):
            refusal = self.inactive(model)
        elif actor not in model.team:
            refusal = "not on the team"
        elif model.status != "submitted":
            refusal = f"idea is {model.status}"
        elif not valid_text(title, max_len=200):
            refusal = "bad title"
        self.attempt(
            refusal, 1, self.engine.edit_idea, actor, idea, title=title, description="Better."
        )

    @rule(data=st.data(), idea=ideas)
    def withdraw_idea(self, data: st.DataObject, idea: UUID) -> None:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where(*UNDECIDED), lambda m: [m.author]
        )
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif self.inactive(model):
            refusal = self.inactive(model)
        elif actor != model.author:
            refusal = "only the author withdraws"
        elif model.status not in UNDECIDED:
            refusal = f"idea is {model.status}"
        if self.attempt(refusal, 1, self.engine.withdraw_idea, actor, idea):
            assert model is not None
            model.status = "withdrawn"

    @rule(data=st.data(), idea=ideas)
    def invite_to_team(self, data: st.DataObject, idea: UUID) -> None:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where(*TEAM_CAN_GROW), lambda m: m.team
        )
        invitee = self.pick(data, "invitee", CONTRIBUTORS, EVERYONE)
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif invitee not in TAKE_PART:
            refusal = "unknown invitee or auditor"
        elif self.inactive(model):
            refusal = self.inactive(model)
        elif actor not in model.team:
            refusal = "not on the team"
        elif ("endorsement", idea, invitee) in self.given_once or invitee in model.reviewers:
            refusal = "endorsers and reviewers stay off the team"
        elif model.status not in TEAM_CAN_GROW:
            refusal = f"idea is {model.status}"
        elif invitee in model.team or invitee in model.invited:
            refusal = "already on the team or invited"
        if self.attempt(refusal, 1, self.engine.invite_to_team, actor, idea, invitee):
            assert model is not None
            model.invited.add(invitee)

    @rule(data=st.data(), idea=ideas)
    def join_team(self, data: st.DataObject, idea: UUID) -> None:
        invited = [i for i, m in self.idea_models.items() if m.invited]
        idea, model, actor = self.idea_and_actor(data, idea, invited, lambda m: m.invited)
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif actor not in PEOPLE:
            refusal = "unknown person"
        elif self.inactive(model):
            refusal = self.inactive(model)
        elif actor not in model.invited:
            refusal = "not invited"
        elif model.status not in TEAM_CAN_GROW:
            refusal = f"idea is {model.status}"
        elif ("endorsement", idea, actor) in self.given_once:
            refusal = "endorsers stay off the team"
        if self.attempt(refusal, 1, self.engine.join_team, actor, idea):
            assert model is not None
            model.invited.discard(actor)
            model.team.append(actor)

    # -- contributions ----------------------------------------------------------------------

    def contribution_refusal(self, actor: str, model: IdeaModel | None) -> str | None:
        if model is None:
            return "unknown idea"
        if actor not in TAKE_PART:
            return "unknown person or auditor"
        stage = self.challenge_models[model.challenge_id].stage
        if stage not in ACTIVE:
            return f"challenge is {stage}"
        if model.status not in TAKES_INPUT:
            return f"idea is {model.status}"
        return None

    def contributed(self, receipt: Receipt | None, idea: UUID, actor: str) -> Any:
        if receipt is None:
            return multiple()
        assert receipt.id is not None
        challenge_id = self.idea_models[idea].challenge_id
        self.contribution_models[receipt.id] = ContributionModel(idea, challenge_id, actor)
        return receipt.id

    @rule(target=contributions, data=st.data(), idea=ideas, body=TEXTS | BAD_TEXTS)
    def comment(self, data: st.DataObject, idea: UUID, body: Any) -> Any:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where(*TAKES_INPUT), lambda m: CONTRIBUTORS
        )
        refusal = self.contribution_refusal(actor, model)
        if refusal is None and not valid_text(body):
            refusal = "bad body"
        return self.contributed(
            self.attempt(refusal, 1, self.engine.comment, actor, idea, body), idea, actor
        )

    @rule(target=contributions, data=st.data(), idea=ideas, linked=ideas, body=TEXTS)
    def build_on(self, data: st.DataObject, idea: UUID, linked: UUID, body: Any) -> Any:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where(*TAKES_INPUT), lambda m: CONTRIBUTORS
        )
        linked = self.target(data, linked, self.idea_models)
        refusal = self.contribution_refusal(actor, model)
        if refusal is None and linked not in self.idea_models:
            refusal = "unknown linked idea"
        elif refusal is None and linked == idea:
            refusal = "builds on itself"
        receipt = self.attempt(refusal, 1, self.engine.build_on, actor, idea, body, linked)
        return self.contributed(receipt, idea, actor)

    @rule(target=contributions, data=st.data(), idea=ideas)
    def endorse(self, data: st.DataObject, idea: UUID) -> Any:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where(*TAKES_INPUT), lambda m: set(PEOPLE) - set(m.team)
        )
        refusal = self.contribution_refusal(actor, model)
        if refusal is None and ("endorsement", idea, actor) in self.given_once:
            refusal = "already endorsed"
        elif refusal is None and model is not None and actor in model.team:
            refusal = "own team endorses"
        receipt = self.attempt(refusal, 1, self.engine.endorse, actor, idea)
        if receipt is not None:
            self.given_once.add(("endorsement", idea, actor))
        return self.contributed(receipt, idea, actor)

    @rule(target=contributions, data=st.data(), idea=ideas, score=SCORES)
    def give_review_score(self, data: st.DataObject, idea: UUID, score: Any) -> Any:
        asked = [i for i, m in self.idea_models.items() if m.reviewers]
        idea, model, actor = self.idea_and_actor(data, idea, asked, lambda m: m.reviewers)
        refusal = self.contribution_refusal(actor, model)
        if refusal is None and ("review-score", idea, actor) in self.given_once:
            refusal = "already scored"
        elif refusal is None and model is not None and actor not in model.reviewers:
            refusal = "not asked to review"
        elif refusal is None and (type(score) is not int or not 1 <= score <= 5):
            refusal = "bad score"
        receipt = self.attempt(refusal, 1, self.engine.give_review_score, actor, idea, score)
        if receipt is not None:
            self.given_once.add(("review-score", idea, actor))
        return self.contributed(receipt, idea, actor)

    @rule(data=st.data(), contribution=contributions, hide=st.booleans())
    def moderate(self, data: st.DataObject, contribution: UUID, hide: bool) -> None:
        fitting = [c for c, m in self.contribution_models.items() if not m.hidden and not m.helpful]
        contribution = self.target(data, contribution, fitting)
        model = self.contribution_models.get(contribution)
        challenge = self.challenge_models[model.challenge_id] if model else None
        actor = self.pick(data, "actor", challenge.managers if challenge else [], EVERYONE)
        reason = data.draw(st.sampled_from(["Off topic", " "]), label="reason") if hide else ""
        refusal = None
        if model is None or challenge is None:
            refusal = "unknown contribution"
        elif not self.manages(actor, challenge.managers):
            refusal = "not a manager"
        elif model.hidden:
            refusal = "hidden"
        elif hide and not reason.strip():
            refusal = "no reason"
        elif not hide and challenge.stage not in ACTIVE:
            refusal = f"challenge is {challenge.stage}"
        elif not hide and actor == model.author:
            refusal = "own contribution"
        elif not hide and model.helpful:
            refusal = "already helpful"
        if hide:
            done = self.attempt(
                refusal, 1, self.engine.hide_contribution, actor, contribution, reason
            )
        else:
            done = self.attempt(refusal, 1, self.engine.mark_helpful, actor, contribution)
        if done:
            assert model is not None
            model.hidden = model.hidden or hide
            model.helpful = model.helpful or not hide

    # -- ideas: managers ----------------------------------------------------------------

    def manager_refusal(self, model: IdeaModel | None, actor: str, active: bool) -> str | None:
        if model is None:
            return "unknown idea"
        challenge = self.challenge_models[model.challenge_id]
        if not self.manages(actor, challenge.managers):
            return "not a manager"
        if active and challenge.stage not in ACTIVE:
            return f"challenge is {challenge.stage}"
        return None

    def managed_idea(
        self, data: st.DataObject, idea: UUID, fitting: Any
    ) -> tuple[UUID, IdeaModel | None, str]:
        return self.idea_and_actor(data, idea, fitting, lambda m: self.managers_of(m.challenge_id))

    @rule(data=st.data(), idea=ideas)
    def ask_reviewer(self, data: st.DataObject, idea: UUID) -> None:
        idea, model, actor = self.managed_idea(data, idea, self.ideas_where(*UNDECIDED))
        reviewer = self.pick(data, "reviewer", PEOPLE, EVERYONE)
        refusal = self.manager_refusal(model, actor, active=True)
        if reviewer not in PEOPLE:
            refusal = "unknown reviewer"
        elif refusal is None and model is not None:
            if reviewer not in TAKE_PART:
                refusal = "auditors do not review"
            elif model.status not in UNDECIDED:
                refusal = f"idea is {model.status}"
            elif reviewer in {*model.team, *model.invited, *model.reviewers}:
                refusal = "on or invited to the team, or already asked"
        if self.attempt(refusal, 1, self.engine.ask_reviewer, actor, idea, reviewer):
            assert model is not None
            model.reviewers.append(reviewer)

    @rule(data=st.data(), idea=ideas)
    def start_review(self, data: st.DataObject, idea: UUID) -> None:
        self.decide(data, idea, {"submitted"}, "under review", "", self.engine.start_review)

    @rule(data=st.data(), idea=ideas, note=st.sampled_from(["Clear win", "", "  "]))
    def accept_idea(self, data: st.DataObject, idea: UUID, note: str) -> None:
        self.decide(data, idea, {"under review"}, "accepted", note, self.engine.accept_idea)

    @rule(data=st.data(), idea=ideas, reason=st.sampled_from(["Too costly", "", "  "]))
    def reject_idea(self, data: st.DataObject, idea: UUID, reason: str) -> None:
        self.decide(data, idea, UNDECIDED, "rejected", reason, self.engine.reject_idea)

    def decide(
        self,
        data: st.DataObject,
        idea: UUID,
        allowed: set[str],
        after: str,
        note: str,
        command: Any,
    ) -> None:
        idea, model, actor = self.managed_idea(data, idea, self.ideas_where(*allowed))
        refusal = self.manager_refusal(model, actor, active=True)
        if refusal is None and model is not None and model.status not in allowed:
            refusal = f"idea is {model.status}"
        elif refusal is None and after == "rejected" and not note.strip():
            refusal = "a rejection needs a reason"
        notes = (note,) if after != "under review" else ()
        if self.attempt(refusal, 1, command, actor, idea, *notes):
            assert model is not None
            model.status = after
            model.was_accepted = model.was_accepted or after == "accepted"

    @rule(data=st.data(), duplicate=ideas, into=ideas)
    def merge_idea(self, data: st.DataObject, duplicate: UUID, into: UUID) -> None:
        fitting = [i for i in self.ideas_where(*UNDECIDED) if not self.idea_models[i].duplicates]
        duplicate, model, actor = self.managed_idea(data, duplicate, fitting)
        into = self.target(data, into, self.idea_models)
        target = self.idea_models.get(into)
        refusal = self.manager_refusal(model, actor, active=True)
        if target is None:
            refusal = "unknown target"
        elif refusal is None and model is not None:
            if into == duplicate or target.challenge_id != model.challenge_id:
                refusal = "same idea or other challenge"
            elif model.status not in UNDECIDED:
                refusal = f"idea is {model.status}"
            elif target.status in ("merged", "withdrawn"):
                refusal = f"target is {target.status}"
            elif model.duplicates:
                refusal = "has duplicates itself"
        if self.attempt(refusal, 2, self.engine.merge_idea, actor, duplicate, into):
            assert model is not None and target is not None
            model.status_before_merge, model.status = model.status, "merged"
            model.merged_into = into
            target.duplicates.append(duplicate)

    @rule(data=st.data(), duplicate=ideas)
    def undo_merge(self, data: st.DataObject, duplicate: UUID) -> None:
        duplicate, model, actor = self.managed_idea(data, duplicate, self.ideas_where("merged"))
        refusal = self.manager_refusal(model, actor, active=True)
        if refusal is None and model is not None and model.merged_into is None:
            refusal = "not merged"
        if self.attempt(refusal, 2, self.engine.undo_merge, actor, duplicate):
            assert model is not None and model.merged_into is not None
            self.idea_models[model.merged_into].duplicates.remove(duplicate)
            model.status = model.status_before_merge or "submitted"
            model.merged_into = None

    # -- ideas: implementation owners -------------------------------------------------------

    @rule(
        data=st.data(),
        idea=ideas,
        core_process=st.sampled_from(["Procurement", "", "p" * 101]),
        external_ref=st.sampled_from(["", "JIRA-42", "r" * 101]),
    )
    def take_over_idea(
        self, data: st.DataObject, idea: UUID, core_process: str, external_ref: str
    ) -> None:
        idea, model, actor = self.idea_and_actor(
            data,
            idea,
            self.ideas_where("accepted"),
            lambda m: [*OWNERS, *self.managers_of(m.challenge_id)],
        )
        owner = self.pick(data, "owner", [None, *OWNERS], [None, *EVERYONE])
        new_owner = owner or actor
        members = self.managers_of(model.challenge_id) if model else []
        # A manager hands over (accepting the owner's request, whose core process stands
        # when none is given); an owner naming themselves asks, and the managers decide.
        hands_over = actor in members
        asked = model.asked.get(new_owner) if model else None
        core = asked if hands_over and asked is not None and not core_process.strip() else None
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif new_owner not in PEOPLE:
            refusal = "unknown owner"
        elif actor != new_owner and not hands_over:
            refusal = "neither the owner nor a manager"
        elif new_owner not in OWNERS:
            refusal = "not an owner"
        elif model.status != "accepted":
            refusal = f"idea is {model.status}"
        elif not hands_over and asked is not None:
            refusal = "asked already"
        elif core is None and not valid_text(core_process, max_len=100):
            refusal = "bad core process"
        elif not valid_text(external_ref, required=False, max_len=100):
            refusal = "bad external reference"
        elif hands_over and actor in self.demoted:
            refusal = "the manager role was taken away"
        if self.attempt(
            refusal,
            1,
            self.engine.take_over_idea,
            actor,
            idea,
            core_process=core_process,
            external_ref=external_ref,
            owner=owner,
        ):
            assert model is not None
            if hands_over:
                model.status, model.owner = "in implementation", new_owner
                model.asked.clear()
            else:
                model.asked[new_owner] = core_process

    @rule(data=st.data(), idea=ideas)
    def reassign_owner(self, data: st.DataObject, idea: UUID) -> None:
        """The challenge's managers give an idea in implementation to another owner."""
        idea, model, actor = self.managed_idea(data, idea, self.ideas_where("in implementation"))
        owner = self.pick(data, "owner", OWNERS, EVERYONE)
        refusal = self.manager_refusal(model, actor, active=False)
        if owner not in PEOPLE:
            refusal = "unknown owner"
        elif refusal is None and model is not None:
            if owner not in OWNERS:
                refusal = "not an owner"
            elif model.status != "in implementation":
                refusal = f"idea is {model.status}"
            elif owner == model.owner:
                refusal = "owns it already"
        if self.attempt(refusal, 1, self.engine.reassign_owner, actor, idea, owner):
            assert model is not None
            model.owner = owner

    @rule(data=st.data(), idea=ideas, note=NOTES)
    def report_progress(self, data: st.DataObject, idea: UUID, note: str) -> None:
        self.follow_up(data, idea, None, note, self.engine.report_progress)

    @rule(data=st.data(), idea=ideas, impact=NOTES)
    def mark_implemented(self, data: st.DataObject, idea: UUID, impact: str) -> None:
        self.follow_up(data, idea, "implemented", impact, self.engine.mark_implemented)

    @rule(data=st.data(), idea=ideas, reason=NOTES)
    def abandon_idea(self, data: st.DataObject, idea: UUID, reason: str) -> None:
        self.follow_up(data, idea, "abandoned", reason, self.engine.abandon_idea)

    def follow_up(
        self, data: st.DataObject, idea: UUID, after: str | None, note: str, command: Any
    ) -> None:
        idea, model, actor = self.idea_and_actor(
            data, idea, self.ideas_where("in implementation"), lambda m: [m.owner]
        )
        refusal = None
        if model is None:
            refusal = "unknown idea"
        elif model.owner is None or actor != model.owner:
            refusal = "not the owner"
        elif model.status != "in implementation":
            refusal = f"idea is {model.status}"
        elif not note.strip():
            refusal = "empty note"
        if self.attempt(refusal, 1, command, actor, idea, note) and after:
            assert model is not None
            model.status = after

    # -- rewards ----------------------------------------------------------------------------

    def reward_refusal(self, actor: str, reason: str, subject: UUID) -> tuple[str | None, Any]:
        """Why the grant must be refused (or None), and the shares it pays if not."""
        if reason not in CANONICAL_REASONS:
            return "not a reason the engine knows", None
        if reason == "helpful-contribution":
            contribution = self.contribution_models.get(subject)
            if contribution is None:
                return "unknown contribution", None
            challenge = self.challenge_models[contribution.challenge_id]
            qualifies = contribution.helpful and not contribution.hidden
            team = [contribution.author]
        else:
            idea = self.idea_models.get(subject)
            if idea is None:
                return "unknown idea", None
            challenge = self.challenge_models[idea.challenge_id]
            if reason == "idea-implemented":
                qualifies = idea.status == "implemented"
            else:
                qualifies = idea.was_accepted and idea.status not in ("merged", "withdrawn")
            team = idea.team
        amount = challenge.points_for(reason)
        if not self.manages(actor, challenge.managers):
            return "not a manager", None
        if challenge.stage not in ACTIVE:
            return f"challenge is {challenge.stage}", None
        if amount == 0:
            return "policy names no points", None
        if reason in PRIZES:
            if challenge.stage == "open":
                return "prizes wait for review", None
            if int(reason.removeprefix("prize-")) in challenge.prizes_awarded:
                return "prize already awarded", None
            if subject in challenge.prize_winners:
                return "one prize per idea", None
        if not qualifies:
            return "subject does not qualify", None
        if actor in team:
            return "self-reward", None
        if any((reason, subject, b) in challenge.rewarded for b in team):
            return "already rewarded", None
        if amount > challenge.pot:
            return "pot too small", None
        return None, (challenge, equal_split(amount, team), amount)

    @rule(
        data=st.data(),
        idea=ideas,
        reason=st.one_of(
            *[st.sampled_from(sorted(CANONICAL_REASONS))] * 3, st.sampled_from(ODD_REASONS)
        ),
    )
    def grant_idea_reward(self, data: st.DataObject, idea: UUID, reason: str) -> None:
        fitting = [i for i, m in self.idea_models.items() if m.was_accepted]
        idea = self.target(data, idea, fitting)
        model = self.idea_models.get(idea)
        self.grant(data, reason, idea, model.challenge_id if model else None)

    @rule(
        data=st.data(),
        contribution=contributions,
        reason=st.sampled_from(["helpful-contribution", "idea-accepted", "bonus"]),
    )
    def grant_contribution_reward(
        self, data: st.DataObject, contribution: UUID, reason: str
    ) -> None:
        fitting = [c for c, m in self.contribution_models.items() if m.helpful]
        contribution = self.target(data, contribution, fitting)
        model = self.contribution_models.get(contribution)
        self.grant(data, reason, contribution, model.challenge_id if model else None)

    def grant(
        self, data: st.DataObject, reason: str, subject: UUID, challenge_id: UUID | None
    ) -> None:
        actor = self.pick(data, "actor", self.managers_of(challenge_id), EVERYONE)
        refusal, paid = self.reward_refusal(actor, reason, subject)
        events = 1 + sum(1 for points in paid[1].values() if points) if paid else 1
        if self.attempt(refusal, events, self.engine.grant_reward, actor, reason, subject):
            challenge, shares, amount = paid
            RUN[f"granted {reason}"] += 1
            challenge.pot -= amount
            for beneficiary, points in shares.items():
                self.balances[beneficiary] += points
                challenge.rewarded.add((reason, subject, beneficiary))
            if reason in PRIZES:
                challenge.prizes_awarded.add(int(reason.removeprefix("prize-")))
                challenge.prize_winners.add(subject)

    # -- along the happy path ---------------------------------------------------------------
    # Random commands rarely walk an idea all the way to a reward in 40 steps; these rules
    # take the next step a manager, owner or contributor would, with fitting choices only.

    def eagerly(self, step: Any, *args: Any) -> None:
        self.eager = True
        try:
            step(*args)
        finally:
            self.eager = False

    @rule(data=st.data(), challenge=challenges)
    def push_a_challenge_forward(self, data: st.DataObject, challenge: UUID) -> None:
        """The next stage, the way its manager would move it (archiving is left to chance)."""
        step = {
            "draft": self.open_challenge,
            "open": self.move_challenge_to_review,
            "review": self.close_challenge,
        }.get(self.challenge_models[challenge].stage)
        if step is not None:
            self.eagerly(step, data, challenge)

    @rule(data=st.data(), idea=ideas, steps=st.integers(1, 5))
    def push_an_idea_forward(self, data: st.DataObject, idea: UUID, steps: int) -> None:
        """Up to ``steps`` commands, each the next one on the idea's way to its rewards."""
        for _ in range(steps):
            accepted = RUN["accepted"]
            self.next_step_for(data, idea, data.draw(st.booleans(), label="reward first?"))
            if RUN["accepted"] == accepted:
                break

    def next_step_for(self, data: st.DataObject, idea: UUID, reward_first: bool) -> None:
        model = self.idea_models[idea]
        status = model.status
        aside = data.draw(st.sampled_from(["no"] * 4 + ["team", "review"]), label="aside")
        if aside == "team" and status in TEAM_CAN_GROW:
            step = self.join_team if model.invited else self.invite_to_team
            self.eagerly(step, data, idea)
        elif aside == "review" and status in UNDECIDED:
            scored = {h for kind, i, h in self.given_once if kind == "review-score" and i == idea}
            if set(model.reviewers) - scored:
                score = data.draw(SCORES, label="score")
                self.eagerly(self.give_review_score, data, idea, score)
            else:
                self.eagerly(self.ask_reviewer, data, idea)
        elif status == "submitted":
            self.eagerly(self.start_review, data, idea)
        elif status == "under review":
            self.eagerly(self.accept_idea, data, idea, "Clear win")
        elif status in ("accepted", "abandoned") and reward_first:
            reason = data.draw(
                st.sampled_from(["idea-accepted", "prize-1", "prize-2"]), label="why"
            )
            self.eagerly(self.grant_idea_reward, data, idea, reason)
        elif status == "accepted":
            self.eagerly(self.take_over_idea, data, idea, "Procurement", "JIRA-42")
        elif status == "in implementation":
            step = data.draw(
                st.sampled_from(
                    [self.mark_implemented] * 2 + [self.report_progress, self.abandon_idea]
                ),
                label="follow-up",
            )
            self.eagerly(step, data, idea, "Saved 3 hours a week")
        elif status == "implemented":
            reason = "idea-accepted" if reward_first else "idea-implemented"
            self.eagerly(self.grant_idea_reward, data, idea, reason)

    @rule(data=st.data(), contribution=contributions)
    def push_a_contribution_forward(self, data: st.DataObject, contribution: UUID) -> None:
        """Marked helpful by a manager, then rewarded; then the author spends the points."""
        model = self.contribution_models[contribution]
        if self.balances.get(model.author):
            points = data.draw(st.integers(1, self.balances[model.author] + 1), label="points")
            stock = data.draw(st.sampled_from([None, 1]), label="stock")
            self.eagerly(self.offer_item, data, points, stock)
            self.eagerly(self.redeem_item, data, "price")
        elif model.helpful:
            self.eagerly(self.grant_contribution_reward, data, contribution, "helpful-contribution")
        else:
            self.eagerly(self.moderate, data, contribution, False)

    # -- after every step ---------------------------------------------------------------------

    # Checked before the first step and after every step: steps = checks - examples.
    @invariant(check_during_init=True)
    def history_holds_the_invariants_and_agrees_with_the_model(self) -> None:
        RUN["checks"] += 1
        last = self.engine.last_position
        if last > len(self.events):
            notifications = self.engine.recorder.select_notifications(
                start=len(self.events) + 1, limit=last
            )
            assert [n.id for n in notifications] == list(range(len(self.events) + 1, last + 1))
            self.events.extend(self.engine.mapper.to_domain_event(n) for n in notifications)
        reloaded = invariants.check_all(self.events, self.engine.repository.get)

        for handle, balance in self.balances.items():
            assert reloaded[person_id(handle)].balance == balance, handle
        assert set(self.challenge_models) | set(self.idea_models) | set(
            self.contribution_models
        ) | set(self.item_models) | {person_id(h) for h in PEOPLE} == set(reloaded)
        for item_id, item in self.item_models.items():
            found = reloaded[item_id]
            assert (found.price, found.stock, found.active) == (item.price, item.stock, item.active)
            assert found.stock is None or found.stock >= 0
        for redemption_id, redemption in self.redemption_models.items():
            found = reloaded[person_id(redemption.handle)].redemptions[redemption_id]
            assert (found.status.value, found.points) == (redemption.status, redemption.points)
        for challenge_id, challenge in self.challenge_models.items():
            found = reloaded[challenge_id]
            assert (found.stage.value, found.pot, found.managers) == (
                challenge.stage,
                challenge.pot,
                challenge.managers,
            )
            assert found.prizes_awarded == challenge.prizes_awarded
            assert found.prize_winners == challenge.prize_winners
        for idea_id, idea in self.idea_models.items():
            found = reloaded[idea_id]
            assert (found.status.value, found.team, found.invited, found.owner) == (
                idea.status,
                idea.team,
                idea.invited,
                idea.owner,
            ), idea_id
            assert (found.reviewers, found.duplicates, found.merged_into) == (
                idea.reviewers,
                idea.duplicates,
                idea.merged_into,
            ), idea_id
            assert set(found.take_over_requests) == set(idea.asked), idea_id
        for contribution_id, contribution in self.contribution_models.items():
            found = reloaded[contribution_id]
            assert (found.helpful, found.hidden, found.author) == (
                contribution.helpful,
                contribution.hidden,
                contribution.author,
            )


EngineMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEngineStateMachine = EngineMachine.TestCase


def test_a_prize_reason_with_a_superscript_digit_is_refused() -> None:
    """Found by the state machine: prize_rank() trusted str.isdigit(), and int("\u00b2")
    raised ValueError out of grant_reward instead of a refusal."""
    engine = memory_engine(SteppingClock())
    engine.register_person("mia", name="Mia", department="Innovation", roles=["manager"])
    before = engine.last_position
    with pytest.raises(DomainError):
        engine.grant_reward("mia", "prize-\u00b2", person_id("mia"))
    assert engine.last_position == before


def test_an_invitee_who_endorses_before_joining_stays_off_the_team() -> None:
    """Found by the state machine: invite, endorse, join puts an endorser on the team."""
    engine = memory_engine(SteppingClock())
    engine.register_person("mia", name="Mia", department="Innovation", roles=["manager"])
    engine.register_person("ann", name="Ann", department="Sales")
    engine.register_person("cat", name="Cat", department="Operations")
    challenge = engine.draft_challenge(
        "mia",
        title="Cut waste",
        question="How?",
        sponsor="CFO",
        target_departments=["Sales"],
        submission_deadline="2026-04-01",
        decision_deadline_days=30,
    ).id
    assert challenge is not None
    engine.open_challenge("mia", challenge)
    idea = engine.submit_idea("ann", challenge, title="Reuse pallets", description="Yes.").id
    assert idea is not None
    engine.invite_to_team("ann", idea, "cat")
    engine.endorse("cat", idea)
    before = engine.last_position
    with pytest.raises(DomainError):
        engine.join_team("cat", idea)
    assert engine.last_position == before
