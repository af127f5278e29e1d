"""Random valid histories: hypothesis draws a plan, an in-memory engine plays it.

A plan is a cast of people (several departments, some with pseudonyms), a few
challenges (pots, reward policies, deadlines) and a list of steps. Each step names a
command and a few numbers that pick its actor and target among what exists by then;
the engine decides, and whatever it refuses (a ``DomainError``) is simply skipped. So
every stored event is one the domain really allowed, and the steps shrink well.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from domain.contribution import Contribution
from domain.errors import DomainError
from domain.idea import Idea, IdeaStatus
from groundswell.app.engine import Engine
from tests.support import SteppingClock, memory_engine, redeem

Positioned = tuple[int, Any]

DEPARTMENTS = ("Sales", "Operations", "Finance", "Legal", "Logistics")
MANAGERS = ("mia", "max")
OWNERS = ("olo", "ole")
CONTRIBUTORS = ("ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal")
REASONS = (
    "idea-accepted",
    "idea-implemented",
    "helpful-contribution",
    "prize-1",
    "prize-2",
    "prize-3",
)

# Commands, repeated by how often a step should try them.
OPERATIONS = (
    *["submit"] * 2,
    *["next_step"] * 8,
    *["invite"] * 3,
    *["join"] * 2,
    *["comment"] * 3,
    "build_on",
    *["endorse"] * 2,
    "ask_reviewer",
    "review_score",
    *["start_review"] * 3,
    *["accept"] * 3,
    "reject",
    "merge",
    "undo_merge",
    "withdraw",
    "edit_idea",
    *["take_over"] * 2,
    "progress",
    *["implemented"] * 2,
    "abandon",
    *["helpful"] * 2,
    "hide",
    *["grant"] * 8,
    *["redeem"] * 2,
    "stage",
    "top_up",
    "pseudonym",
    "department",
    "add_manager",
    "advance_clock",
)

Step = tuple[str, int, int, int]

MOVING = frozenset(
    {
        IdeaStatus.SUBMITTED,
        IdeaStatus.UNDER_REVIEW,
        IdeaStatus.ACCEPTED,
        IdeaStatus.IN_IMPLEMENTATION,
    }
)


@dataclass(frozen=True)
class ChallengePlan:
    drafted_by: int
    pot: int
    accepted: int
    implemented: int
    helpful: int
    prizes: tuple[int, ...]
    deadline_day: int
    decision_days: int
    co_manager: bool
    opened: bool


@dataclass(frozen=True)
class Plan:
    contributors: tuple[tuple[str, str, str | None], ...]
    challenges: tuple[ChallengePlan, ...]
    steps: tuple[Step, ...]


@dataclass
class History:
    """A played plan: the engine, its clock, and every stored (position, event) pair."""

    engine: Engine
    clock: SteppingClock
    handles: list[str]
    challenges: list[UUID]
    events: list[Positioned] = field(default_factory=list)


def _contributor(index: int) -> st.SearchStrategy[tuple[str, str, str | None]]:
    return st.tuples(
        st.just(CONTRIBUTORS[index]),
        st.sampled_from(DEPARTMENTS),
        st.one_of(st.none(), st.just(f"Pseudo {CONTRIBUTORS[index].title()}")),
    )


challenge_plans = st.builds(
    ChallengePlan,
    drafted_by=st.integers(0, 1),
    pot=st.sampled_from([150, 60, 30, 7, 0]),
    accepted=st.sampled_from([5, 1, 2, 10, 0]),
    implemented=st.sampled_from([20, 3, 0]),
    helpful=st.sampled_from([4, 1, 0]),
    prizes=st.sampled_from([(40, 5), (5,), (), (1, 1, 1)]),
    deadline_day=st.integers(0, 50).map(lambda n: 60 - n),
    decision_days=st.integers(1, 20),
    co_manager=st.booleans(),
    opened=st.integers(0, 5).map(lambda n: n < 5),
)

steps = st.tuples(
    st.sampled_from(OPERATIONS), st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)
)


@st.composite
def plans(draw: st.DrawFn, max_steps: int = 100) -> Plan:
    count = draw(st.integers(3, len(CONTRIBUTORS)))
    contributors = tuple(draw(_contributor(i)) for i in range(count))
    challenges = tuple(draw(st.lists(challenge_plans, min_size=1, max_size=3)))
    return Plan(
        contributors,
        challenges,
        tuple(draw(st.lists(steps, min_size=max_steps // 2, max_size=max_steps))),
    )


def histories(max_steps: int = 100) -> st.SearchStrategy[list[Positioned]]:
    """Random valid histories as stored (position, event) pairs, in log order."""
    return played_histories(max_steps).map(lambda history: history.events)


def played_histories(max_steps: int = 100) -> st.SearchStrategy[History]:
    """Like :func:`histories`, with the engine kept to ask its aggregates afterwards."""
    return plans(max_steps).map(play)


def stored_events(engine: Engine) -> list[Positioned]:
    notifications = engine.recorder.select_notifications(start=1, limit=10**6)
    return [(n.id, engine.mapper.to_domain_event(n)) for n in notifications]


def play(plan: Plan) -> History:
    """Run ``plan`` on a fresh in-memory engine; refused commands are skipped."""
    clock = SteppingClock()
    engine = memory_engine(clock)
    player = _Player(engine, clock)
    player.cast(plan.contributors)
    for challenge in plan.challenges:
        player.attempt(player.draft, challenge)
    for step in plan.steps:
        player.attempt(player.step, *step)
    return History(engine, clock, player.handles, player.challenges, events=stored_events(engine))


class _Player:
    """Turns a step's numbers into one command with a plausible actor and target."""

    def __init__(self, engine: Engine, clock: SteppingClock) -> None:
        self.engine = engine
        self.clock = clock
        self.handles: list[str] = []
        self.contributors: list[str] = []
        self.challenges: list[UUID] = []
        self.ideas: list[UUID] = []
        self.contributions: list[UUID] = []

    @staticmethod
    def attempt(command: Any, *args: Any) -> None:
        with contextlib.suppress(DomainError):
            command(*args)

    def cast(self, contributors: tuple[tuple[str, str, str | None], ...]) -> None:
        e = self.engine
        e.register_person("adm", name="Ada Admin", department="IT", roles=["admin"])
        for handle in MANAGERS:
            e.register_person(
                handle,
                name=f"{handle.title()} Manager",
                department="Innovation",
                roles=["manager", "contributor"],
            )
        for handle in OWNERS:
            e.register_person(
                handle, name=f"{handle.title()} Owner", department="Logistics", roles=["owner"]
            )
        for handle, department, pseudonym in contributors:
            e.register_person(
                handle, name=f"{handle.title()} Person", department=department, pseudonym=pseudonym
            )
            self.contributors.append(handle)
        self.handles = ["adm", *MANAGERS, *OWNERS, *self.contributors]

    def draft(self, plan: ChallengePlan) -> None:
        manager = MANAGERS[plan.drafted_by]
        receipt = self.engine.draft_challenge(
            manager,
            pot=plan.pot,
            title=f"Challenge {len(self.challenges) + 1}",
            question="What should we change?",
            sponsor="The board",
            target_departments=["Operations", "Logistics"],
            submission_deadline=f"2026-{3 + plan.deadline_day // 30:02d}-"
            f"{1 + plan.deadline_day % 28:02d}",
            decision_deadline_days=plan.decision_days,
            accepted_idea_points=plan.accepted,
            implemented_idea_points=plan.implemented,
            helpful_contribution_points=plan.helpful,
            prize_points=list(plan.prizes),
        )
        assert receipt.id is not None
        self.challenges.append(receipt.id)
        if plan.co_manager:
            self.engine.add_manager(manager, receipt.id, MANAGERS[1 - plan.drafted_by])
        if plan.opened:
            self.engine.open_challenge(manager, receipt.id)

    # -- picking -------------------------------------------------------------------------

    @staticmethod
    def _pick(items: list[Any], index: int) -> Any:
        if not items:
            raise _Nothing
        return items[index % len(items)]

    def _manager_of(self, challenge_id: UUID, index: int) -> str:
        return str(self._pick(self.engine.challenge(challenge_id).managers, index))

    def _idea(self, index: int) -> Idea:
        return self.engine.idea(self._pick(self.ideas, index))

    def step(self, operation: str, a: int, b: int, c: int) -> None:
        with contextlib.suppress(_Nothing):
            getattr(self, f"_{operation}")(a, b, c)

    # -- the commands ----------------------------------------------------------------------

    def _next_step(self, a: int, b: int, c: int) -> None:
        """Move an idea one step along its funnel, as its manager or owner would."""
        ideas = [self.engine.idea(i) for i in self.ideas]
        idea = self._pick([i for i in ideas if i.status in MOVING], a)
        manager = self._manager_of(idea.challenge_id, b)
        e = self.engine
        if idea.status is IdeaStatus.SUBMITTED:
            e.start_review(manager, idea.id)
        elif idea.status is IdeaStatus.UNDER_REVIEW and c % 4:
            e.accept_idea(manager, idea.id, "Worth a pilot")
        elif idea.status is IdeaStatus.UNDER_REVIEW:
            e.reject_idea(manager, idea.id, "Tried before")
        elif idea.status is IdeaStatus.ACCEPTED:
            e.take_over_idea(manager, idea.id, core_process="Inbound", owner=OWNERS[c % 2])
        elif idea.status is IdeaStatus.IN_IMPLEMENTATION and c % 5:
            e.mark_implemented(str(idea.owner), idea.id, f"Saved {c} hours")
        elif idea.status is IdeaStatus.IN_IMPLEMENTATION:
            e.abandon_idea(str(idea.owner), idea.id, "Too costly")

    def _submit(self, a: int, b: int, c: int) -> None:
        author = self._pick([*self.contributors, *MANAGERS], a)
        receipt = self.engine.submit_idea(
            author, self._pick(self.challenges, b), title=f"Idea {c}", description="Do it."
        )
        assert receipt.id is not None
        self.ideas.append(receipt.id)

    def _invite(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        invitee = self._pick([*self.contributors, *MANAGERS], c)
        self.engine.invite_to_team(self._pick(idea.team, b), idea.id, invitee)
        if c % 3:  # most invitees accept at once, before the idea moves on
            self.engine.join_team(invitee, idea.id)

    def _join(self, a: int, b: int, c: int) -> None:
        ideas = [self.engine.idea(i) for i in self.ideas]
        idea = self._pick([i for i in ideas if i.invited], a)
        self.engine.join_team(self._pick(sorted(idea.invited), b), idea.id)

    def _comment(self, a: int, b: int, c: int) -> None:
        actor = self._pick([*self.contributors, *MANAGERS, *OWNERS], a)
        self._contributed(self.engine.comment(actor, self._pick(self.ideas, b), f"Note {c}"))

    def _build_on(self, a: int, b: int, c: int) -> None:
        actor = self._pick(self.contributors, a)
        receipt = self.engine.build_on(
            actor, self._pick(self.ideas, b), "Building on it", self._pick(self.ideas, c)
        )
        self._contributed(receipt)

    def _endorse(self, a: int, b: int, c: int) -> None:
        actor = self._pick([*self.contributors, *MANAGERS], a)
        self._contributed(self.engine.endorse(actor, self._pick(self.ideas, b)))

    def _ask_reviewer(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        manager = self._manager_of(idea.challenge_id, b)
        self.engine.ask_reviewer(manager, idea.id, self._pick(self.contributors, c))

    def _review_score(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        reviewer = self._pick(idea.reviewers, b)
        self._contributed(self.engine.give_review_score(reviewer, idea.id, 1 + c % 5))

    def _start_review(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        self.engine.start_review(self._manager_of(idea.challenge_id, b), idea.id)

    def _accept(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        self.engine.accept_idea(self._manager_of(idea.challenge_id, b), idea.id, "Good")

    def _reject(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        self.engine.reject_idea(self._manager_of(idea.challenge_id, b), idea.id, "Not now")

    def _merge(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        same = [
            i
            for i in self.ideas
            if self.engine.idea(i).challenge_id == idea.challenge_id and i != idea.id
        ]
        target = self._pick(same, c)
        self.engine.merge_idea(self._manager_of(idea.challenge_id, b), idea.id, target)

    def _undo_merge(self, a: int, b: int, c: int) -> None:
        ideas = [self.engine.idea(i) for i in self.ideas]
        idea = self._pick([i for i in ideas if i.status is IdeaStatus.MERGED], a)
        self.engine.undo_merge(self._manager_of(idea.challenge_id, b), idea.id)

    def _withdraw(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        self.engine.withdraw_idea(idea.author, idea.id)

    def _edit_idea(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        self.engine.edit_idea(
            self._pick(idea.team, b), idea.id, title=f"Idea {c} v2", description="Better."
        )

    def _take_over(self, a: int, b: int, c: int) -> None:
        idea = self._idea(a)
        owner = self._pick(list(OWNERS), b)
        actor = owner if c % 2 else self._manager_of(idea.challenge_id, c)
        self.engine.take_over_idea(
            actor, idea.id, core_process="Inbound", external_ref=f"REF-{c}", owner=owner
        )

    def _owned(self, a: int) -> Idea:
        ideas = [self.engine.idea(i) for i in self.ideas]
        return self._pick([i for i in ideas if i.owner is not None], a)

    def _progress(self, a: int, b: int, c: int) -> None:
        idea = self._owned(a)
        self.engine.report_progress(str(idea.owner), idea.id, f"Step {c}")

    def _implemented(self, a: int, b: int, c: int) -> None:
        idea = self._owned(a)
        self.engine.mark_implemented(str(idea.owner), idea.id, f"Saved {c} hours")

    def _abandon(self, a: int, b: int, c: int) -> None:
        idea = self._owned(a)
        self.engine.abandon_idea(str(idea.owner), idea.id, "Too costly")

    def _helpful(self, a: int, b: int, c: int) -> None:
        contribution = self.engine.contribution(self._pick(self.contributions, a))
        manager = self._manager_of(contribution.challenge_id, b)
        self.engine.mark_helpful(manager, contribution.id)

    def _hide(self, a: int, b: int, c: int) -> None:
        contribution = self.engine.contribution(self._pick(self.contributions, a))
        manager = self._manager_of(contribution.challenge_id, b)
        self.engine.hide_contribution(manager, contribution.id, "Off topic")

    def _grant(self, a: int, b: int, c: int) -> None:
        """Mostly reward something that qualifies; now and then anything, to be refused."""
        subject: Idea | Contribution
        if c % 4 == 0:
            reason = REASONS[a % len(REASONS)]
            if reason == "helpful-contribution":
                subject = self.engine.contribution(self._pick(self.contributions, a))
            else:
                subject = self._idea(a)
        elif c % 4 == 1:
            reason = "helpful-contribution"
            contributions = [self.engine.contribution(i) for i in self.contributions]
            subject = self._pick([x for x in contributions if x.helpful], a)
        else:
            ideas = [self.engine.idea(i) for i in self.ideas]
            subject = self._pick([i for i in ideas if i.was_accepted], a)
            if subject.status is IdeaStatus.IMPLEMENTED and c % 4 == 2:
                reason = "idea-implemented"
            else:
                reason = "idea-accepted" if c % 3 else f"prize-{1 + a % 3}"
        manager = self._manager_of(subject.challenge_id, b)
        self.engine.grant_reward(manager, reason, subject.id)

    def _redeem(self, a: int, b: int, c: int) -> None:
        people = [self.engine.person(h) for h in self.handles]
        person = self._pick([p for p in people if p.balance > 0], a)
        # Now and then ask for one point more than the balance: refused, writes nothing.
        points = person.balance + 1 if b % 7 == 0 else 1 + c % person.balance
        redeem(self.engine, person.handle, points, f"Voucher {b}")

    def _stage(self, a: int, b: int, c: int) -> None:
        challenge_id = self._pick(self.challenges, a)
        manager = self._manager_of(challenge_id, b)
        move = {
            "draft": self.engine.open_challenge,
            "open": self.engine.move_challenge_to_review,
            "review": self.engine.close_challenge,
            "closed": self.engine.archive_challenge,
        }.get(self.engine.challenge(challenge_id).stage.value)
        if move is None:
            raise _Nothing
        move(manager, challenge_id)

    def _top_up(self, a: int, b: int, c: int) -> None:
        challenge_id = self._pick(self.challenges, a)
        self.engine.top_up_pot(self._manager_of(challenge_id, b), challenge_id, 1 + c)

    def _pseudonym(self, a: int, b: int, c: int) -> None:
        handle = self._pick(self.contributors, a)
        self.engine.choose_pseudonym(handle, None if b % 3 == 0 else f"Alias {c}")

    def _department(self, a: int, b: int, c: int) -> None:
        handle = self._pick(self.contributors, a)
        self.engine.change_department(handle, DEPARTMENTS[b % len(DEPARTMENTS)], actor="adm")

    def _add_manager(self, a: int, b: int, c: int) -> None:
        challenge_id = self._pick(self.challenges, a)
        manager = self._manager_of(challenge_id, b)
        self.engine.add_manager(manager, challenge_id, MANAGERS[c % len(MANAGERS)])

    def _advance_clock(self, a: int, b: int, c: int) -> None:
        self.clock.advance(days=a % 6, hours=b % 24)

    def _contributed(self, receipt: Any) -> None:
        self.contributions.append(receipt.id)


class _Nothing(Exception):
    """The step has nothing to act on yet (no ideas, nobody invited...)."""
