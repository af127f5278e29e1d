"""The demo's organisation and the machinery that plays its story on a simulated clock."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.errors import DomainError
from groundswell.app.engine import Engine

# Every step of the story lies within its first SPAN_DAYS days, and the story ends on the
# day before it is played, so its dates look current and follow-up debt is realistic.
SPAN_DAYS = 140
SEED = 20250901

MANAGERS = ("mia", "omar", "grace")
OWNERS = ("lars", "sofia")

# (handle, name, department, pseudonym, roles). omar becomes a manager during the story.
Member = tuple[str, str, str, str | None, list[str]]
STAFF: list[Member] = [
    ("mia", "Mia Lindqvist", "R&D", None, ["manager"]),
    ("omar", "Omar Haddad", "Sales", None, ["contributor"]),
    ("grace", "Grace Okafor", "HR", None, ["manager"]),
    ("lars", "Lars Becker", "Production", None, ["contributor", "owner"]),
    ("sofia", "Sofia Márquez", "Logistics", None, ["contributor", "owner"]),
    # The onboarding challenge's sponsor, told when its decisions wait far too long.
    ("ines", "Ines Brandt", "HR", None, ["contributor"]),
    # Who keeps the platform (people, tokens, the reward store) and who audits it: `make run`
    # prints their tokens too, so a newcomer can try every role's pages.
    ("theo", "Theo Laine", "HR", None, ["admin"]),
    ("ada", "Ada Brooks", "R&D", None, ["auditor"]),
]
CONTRIBUTORS: dict[str, list[tuple[str, str, str | None]]] = {
    "Production": [
        ("anna.kowalski", "Anna Kowalski", None),
        ("ben.adeyemi", "Ben Adeyemi", None),
        ("carlos.ruiz", "Carlos Ruiz", None),
        ("dmitri.volkov", "Dmitri Volkov", "Night Shift Owl"),
        ("elif.yilmaz", "Elif Yılmaz", None),
        ("frank.mueller", "Frank Müller", None),
        ("hannah.schmidt", "Hannah Schmidt", None),
        ("ivan.petrov", "Ivan Petrov", "Lean Lemur"),
        ("jana.novak", "Jana Novák", None),
    ],
    "Sales": [
        ("kevin.obrien", "Kevin O'Brien", None),
        ("laura.rossi", "Laura Rossi", None),
        ("marco.bianchi", "Marco Bianchi", None),
        ("nadia.rahman", "Nadia Rahman", None),
        ("oscar.nilsson", "Oscar Nilsson", None),
        ("paula.silva", "Paula Silva", None),
        ("quentin.dubois", "Quentin Dubois", "Q"),
    ],
    "R&D": [
        ("rania.aziz", "Rania Aziz", None),
        ("samuel.cohen", "Samuel Cohen", None),
        ("tara.singh", "Tara Singh", None),
        ("umar.farouk", "Umar Farouk", None),
        ("vera.ivanova", "Vera Ivanova", None),
        ("wei.zhang", "Wei Zhang", None),
        ("xenia.papadopoulos", "Xenia Papadopoulos", None),
    ],
    "Finance": [
        ("yusuf.demir", "Yusuf Demir", None),
        ("zoe.clarke", "Zoe Clarke", "Spreadsheet Whisperer"),
        ("amelie.fournier", "Amélie Fournier", None),
        ("bjorn.larsen", "Bjørn Larsen", None),
        ("chiara.conti", "Chiara Conti", None),
        ("diego.herrera", "Diego Herrera", None),
    ],
    "HR": [
        ("emma.johansson", "Emma Johansson", None),
        ("fatima.benali", "Fatima Benali", None),
        ("georg.weber", "Georg Weber", None),
        ("helena.costa", "Helena Costa", "Quiet Observer"),
        ("isabel.moreno", "Isabel Moreno", None),
    ],
    "Logistics": [
        ("jakub.dvorak", "Jakub Dvořák", None),
        ("kaito.tanaka", "Kaito Tanaka", None),
        ("leila.karimi", "Leila Karimi", None),
        ("mateo.fernandez", "Mateo Fernández", "Forklift Philosopher"),
        ("nora.eriksen", "Nora Eriksen", None),
        ("olu.bankole", "Olu Bankole", None),
    ],
}
PEOPLE: list[Member] = STAFF + [
    (handle, name, department, pseudonym, ["contributor"])
    for department, staff in CONTRIBUTORS.items()
    for handle, name, pseudonym in staff
]


def members(*departments: str) -> list[str]:
    """Contributors' handles from the given departments (all when none are given)."""
    chosen = departments or tuple(CONTRIBUTORS)
    return [handle for d in chosen for handle, _, _ in CONTRIBUTORS[d]]


def story_start(today: date | None = None) -> datetime:
    """When the story begins: SPAN_DAYS before today's midnight (UTC)."""
    today = today or datetime.now(UTC).date()
    return datetime.combine(today, time(), tzinfo=UTC) - timedelta(days=SPAN_DAYS)


def challenge_id(key: str) -> UUID:
    """Demo ids are fixed, so every run of the demo tells the same story."""
    return uuid5(NAMESPACE_URL, f"groundswell:demo:challenge:{key}")


def idea_id(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"groundswell:demo:idea:{key}")


class SimClock:
    """Simulated time: the story moves it forward; each reading adds a few seconds."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=20)
        return self.now

    def move_to(self, day: float) -> None:
        self.now = max(self.now, self.start + timedelta(days=day))

    @property
    def day(self) -> float:
        return (self.now - self.start) / timedelta(days=1)


@dataclass(frozen=True)
class Ref:
    """A contribution created earlier in the story; its id is known only once played."""

    key: str


class DemoBroken(RuntimeError):
    """A demo step was refused: a bug in the story or in the domain."""


@dataclass(frozen=True)
class Step:
    day: float
    order: int
    command: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    keep: str | None


class Script:
    """Steps scheduled on simulated days, played in time order against the engine.

    Scheduling and playing are separate so that the three challenges' stories can
    be written one after the other yet interleave in time, as they would for real.
    """

    def __init__(self, start: datetime, seed: int = SEED) -> None:
        self.start = start
        self.rng = random.Random(seed)
        self.steps: list[Step] = []
        self.teams: dict[str, set[str]] = {}
        self.endorsed: set[tuple[str, str]] = set()

    def at(self, day: float, command: str, *args: Any, keep: str | None = None, **kw: Any) -> None:
        """On ``day``, call ``engine.<command>(*args, **kw)``; ``keep`` names the new id."""
        self.steps.append(Step(day, len(self.steps), command, args, kw, keep))

    def date_of(self, day: int) -> str:
        """The ISO date of a simulated day (deadlines are dates, written relative to the start)."""
        return (self.start + timedelta(days=day)).date().isoformat()

    def submit(
        self, day: float, key: str, challenge: str, author: str, title: str, text: str
    ) -> None:
        if key in self.teams:
            raise ValueError(f"two ideas in the story share the key {key!r}")
        self.teams[key] = {author}
        self.at(
            day,
            "submit_idea",
            author,
            challenge_id(challenge),
            title=title,
            description=text,
            idea_id=idea_id(key),
        )

    def team(self, day: float, key: str, inviter: str, invitee: str) -> None:
        """An invitation, accepted about a day later."""
        self.teams[key].add(invitee)
        self.at(day, "invite_to_team", inviter, idea_id(key), invitee)
        self.at(day + self.rng.uniform(0.3, 1.5), "join_team", invitee, idea_id(key))

    def reviewers(self, key: str, pool: Sequence[str], count: int) -> list[str]:
        candidates = [p for p in dict.fromkeys(pool) if p not in self.teams[key]]
        return self.rng.sample(candidates, count)

    def chatter(
        self,
        key: str,
        start: float,
        end: float,
        voices: Sequence[str],
        lines: Sequence[str],
        comments: int,
        endorsements: int,
    ) -> None:
        """Comments and endorsements from ``voices`` (repeat a handle to weight it)."""
        for _ in range(comments):
            who = self.rng.choice(voices)
            self.at(
                self.rng.uniform(start, end), "comment", who, idea_id(key), self.rng.choice(lines)
            )
        candidates = [
            p
            for p in dict.fromkeys(voices)
            if p not in self.teams[key] and (key, p) not in self.endorsed
        ]
        for who in self.rng.sample(candidates, min(endorsements, len(candidates))):
            self.endorsed.add((key, who))
            self.at(self.rng.uniform(start, end), "endorse", who, idea_id(key))

    def play(self, engine: Engine, clock: SimClock) -> int:
        """Run every step in time order; returns how many commands ran."""
        kept: dict[str, UUID] = {}
        ordered = sorted(self.steps, key=lambda s: (s.day, s.order))
        for step in ordered:
            clock.move_to(step.day)
            args = [kept[a.key] if isinstance(a, Ref) else a for a in step.args]
            try:
                receipt = getattr(engine, step.command)(*args, **step.kwargs)
            except DomainError as error:
                raise DemoBroken(
                    f"day {step.day:.1f}: {step.command}{tuple(args)} was refused: {error.message}"
                ) from error
            if step.keep:
                kept[step.keep] = receipt.id
        return len(ordered)
