"""What the demo's store holds, told with Rich: challenges, ideas, follow-up, earners."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from domain.challenge import Challenge
from domain.contribution import Contribution
from domain.idea import Idea, IdeaStatus
from domain.ledger import REDEEMED, TREASURY, balances
from groundswell.app.engine import Engine

PAGE = 1_000


def all_events(engine: Engine) -> list[Any]:
    """Every stored event in the order it was written (the notification log)."""
    events: list[Any] = []
    after = 0
    while True:
        page = engine.recorder.select_notifications(start=after + 1, limit=PAGE)
        events += [engine.mapper.to_domain_event(n) for n in page]
        if len(page) < PAGE:
            return events
        after = page[-1].id


@dataclass
class Story:
    """One challenge as the summary sees it: the aggregate, its ideas, who gave input."""

    challenge: Challenge
    ideas: list[Idea] = field(default_factory=list)
    input_by: Counter[str] = field(default_factory=Counter)

    @property
    def decisions_due(self) -> date:
        deadline = date.fromisoformat(self.challenge.submission_deadline)
        return deadline + timedelta(days=self.challenge.decision_deadline_days)


def stories(engine: Engine, events: list[Any]) -> list[Story]:
    found: dict[UUID, Story] = {}
    for event in events:
        if type(event) is Challenge.Drafted:
            found[event.originator_id] = Story(engine.challenge(event.originator_id))
        elif isinstance(event, Idea.Submitted) and event.challenge_id in found:
            found[event.challenge_id].ideas.append(engine.idea(event.originator_id))
        elif isinstance(event, Contribution.Added) and event.challenge_id in found:
            found[event.challenge_id].input_by[event.author] += 1
    return list(found.values())


def share(part: int, whole: int) -> str:
    return f"{100 * part // whole} %" if whole else "—"


def challenge_table(all_: list[Story]) -> Table:
    """One column per challenge: stage, deadlines, ideas by status (the read models follow)."""
    table = Table(title="Challenges", title_justify="left")
    table.add_column("", no_wrap=True)
    for story in all_:
        table.add_column(story.challenge.title, justify="right")

    def row(label: str, value: Any) -> None:
        table.add_row(label, *(str(value(s)) for s in all_))

    row("stage", lambda s: s.challenge.stage.value)
    row("managers", lambda s: ", ".join(s.challenge.managers))
    row("submissions until", lambda s: s.challenge.submission_deadline)
    row("decisions due", lambda s: s.decisions_due)
    row("ideas", lambda s: len(s.ideas))
    table.add_section()
    for status in IdeaStatus:
        if any(i.status is status for s in all_ for i in s.ideas):
            row(status.value, lambda s, st=status: sum(i.status is st for i in s.ideas) or "")
    return table


def top(counts: Counter[str], n: int = 3) -> int:
    return sum(count for _, count in counts.most_common(n))


def earners_table(engine: Engine, events: list[Any], n: int = 8) -> Table:
    earned: Counter[str] = Counter()
    for event in events:
        if isinstance(event, Challenge.RewardGranted):
            earned.update(event.shares)
    table = Table(title=f"Top {n} earners", title_justify="left")
    table.add_column("person")
    table.add_column("department")
    table.add_column("earned", justify="right")
    table.add_column("balance", justify="right")
    for handle, points in earned.most_common(n):
        person = engine.person(handle)
        name = f"{person.name} ({person.pseudonym})" if person.pseudonym else person.name
        table.add_row(name, person.department, str(points), str(person.balance))
    return table


def summarise(engine: Engine, console: Console, events: list[Any] | None = None) -> None:
    """Print the challenges, the top earners and the ledger."""
    events = all_events(engine) if events is None else events
    if not events:
        console.print("The store is empty.")
        return
    as_of = events[-1].timestamp.date()
    all_ = stories(engine, events)
    console.print(
        f"[bold]{len(all_)} challenges[/bold], from {events[0].timestamp:%Y-%m-%d} "
        f"to {as_of:%Y-%m-%d}"
    )
    console.print(challenge_table(all_))
    console.print(earners_table(engine, events))
    ledger = balances(events)
    in_pots = sum(v for k, v in ledger.items() if k.startswith("pot:"))
    with_people = sum(v for k, v in ledger.items() if k.startswith("person:"))
    console.print(
        f"Ledger: {-ledger.get(TREASURY, 0)} points issued by the treasury (net): {in_pots} in "
        f"pots, {with_people} with people, {ledger.get(REDEEMED, 0)} redeemed; "
        f"sum over all accounts {sum(ledger.values())}."
    )
