"""`groundswell audit history` and `audit export`, and the library behind them: an idea's
whole story (submission → team → feedback → decision → hand-over → progress →
implementation → rewards) in time order, from every aggregate that tells part of it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from typer.testing import CliRunner, Result

from domain.catalog import event_name
from domain.errors import InvalidInput, NotFound
from domain.person import person_id
from groundswell.app.engine import Engine
from groundswell.audit.history import TimelineEntry, history, idea_story, resolve
from groundswell.bootstrap import build_engine
from groundswell.cli import app
from groundswell.settings import Settings
from tests.histories import History, played_histories
from tests.scenario import (
    AUTHOR,
    CO_MANAGER,
    COLLEAGUE,
    MANAGER,
    OWNER,
    REVIEWER,
    TEAMMATE,
    Scenario,
)
from tests.support import SteppingClock


@dataclass
class Story:
    challenge: UUID
    idea: UUID
    comment: UUID
    hidden: UUID
    rejected: UUID
    other: UUID


def tell(engine: Engine, clock: SteppingClock) -> Story:
    """One idea's full story, with another idea's noise around it in the same challenge."""
    s = Scenario(engine).with_cast()
    e = engine
    challenge = s.challenge()
    idea = s.idea(challenge, team=(TEAMMATE,))
    other = s.idea(challenge, title="Print double-sided")
    clock.advance(hours=2)
    comment = s.helpful_comment(idea)
    other_comment = s.helpful_comment(other)
    e.endorse(COLLEAGUE, idea)
    e.ask_reviewer(MANAGER, idea, REVIEWER)
    e.give_review_score(REVIEWER, idea, 4, "Solid.")
    hidden = e.comment(REVIEWER, idea, "Buy my scanner!").id
    assert hidden is not None
    e.hide_contribution(MANAGER, hidden, "Advertising")
    e.build_on(AUTHOR, other, "Scan the double-sided prints too.", idea)  # on the other idea
    e.grant_reward(CO_MANAGER, "helpful-contribution", comment)
    e.grant_reward(CO_MANAGER, "helpful-contribution", other_comment)
    clock.advance(days=3)
    e.start_review(MANAGER, idea)
    e.accept_idea(MANAGER, idea, "Worth a pilot.")
    e.grant_reward(CO_MANAGER, "idea-accepted", idea)
    clock.advance(days=1)
    e.take_over_idea(
        MANAGER, idea, core_process="Inbound logistics", external_ref="LOG-7", owner=OWNER
    )
    e.report_progress(OWNER, idea, "Pilot at dock 3.")
    clock.advance(days=20)
    e.mark_implemented(OWNER, idea, "40% less paper at the dock.")
    e.grant_reward(MANAGER, "idea-implemented", idea)
    rejected = s.idea(challenge, "rejected", title="Ban paper")
    return Story(challenge, idea, comment, hidden, rejected, other)


def positions(engine: Engine) -> dict[UUID, int]:
    """Event id → position, for every stored event."""
    found = {}
    for n in engine.recorder.select_notifications(start=1, limit=10_000):
        event: Any = engine.mapper.to_domain_event(n)
        found[event.event_id] = n.id
    return found


def test_an_ideas_story_runs_from_submission_to_its_rewards(
    engine: Engine, clock: SteppingClock
) -> None:
    story = tell(engine, clock)
    entries = idea_story(engine, story.idea)
    told = [(e.chapter, e.event_type) for e in entries]
    assert told == [
        ("submission", "Idea.Submitted"),
        ("team", "Idea.TeamMemberInvited"),
        ("team", "Idea.TeamMemberJoined"),
        ("feedback", "Contribution.Added"),  # the comment...
        ("feedback", "Contribution.MarkedHelpful"),  # ...marked helpful
        ("feedback", "Contribution.Added"),  # the endorsement
        ("review", "Idea.ReviewerAsked"),
        ("feedback", "Contribution.Added"),  # the review score
        ("feedback", "Contribution.Added"),  # the advertisement...
        ("feedback", "Contribution.Hidden"),  # ...hidden
        ("reward", "Challenge.RewardGranted"),  # for the helpful comment
        ("review", "Idea.ReviewStarted"),
        ("decision", "Idea.Accepted"),
        ("reward", "Challenge.RewardGranted"),
        ("hand-over", "Idea.TakenOver"),
        ("progress", "Idea.ProgressReported"),
        ("implementation", "Idea.Implemented"),
        ("reward", "Challenge.RewardGranted"),
    ]
    by_type = {e.event_type: e for e in entries}
    assert by_type["Idea.Accepted"].fields == {"note": "Worth a pilot."}
    assert by_type["Idea.Accepted"].actor == MANAGER
    assert by_type["Idea.TakenOver"].fields["owner"] == OWNER
    assert by_type["Contribution.Hidden"].fields["reason"] == "Advertising"
    rewards = [e for e in entries if e.chapter == "reward"]
    assert [(r.fields["reason"], r.fields["subject_id"]) for r in rewards] == [
        ("helpful-contribution", str(story.comment)),
        ("idea-accepted", str(story.idea)),
        ("idea-implemented", str(story.idea)),
    ]
    assert [r.fields["shares"] for r in rewards] == [
        {COLLEAGUE: 5},
        {AUTHOR: 5, TEAMMATE: 5},
        {AUTHOR: 15, TEAMMATE: 15},
    ]
    # Each line names its source; everything is in time order, and in log order here.
    contributions = {e.aggregate_id for e in entries if e.aggregate_kind == "Contribution"}
    assert story.comment in contributions and story.hidden in contributions
    assert len(contributions) == 4  # not the other idea's comment, nor the build-on on it
    assert {e.aggregate_id for e in entries} == {story.idea, story.challenge} | contributions
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    logged = positions(engine)
    assert [e.position for e in entries] == [logged[e.event_id] for e in entries]
    assert [e.position for e in entries] == sorted(e.position or 0 for e in entries)


def test_a_rejected_idea_tells_the_reason(engine: Engine, clock: SteppingClock) -> None:
    story = tell(engine, clock)
    entries = idea_story(engine, story.rejected)
    assert [e.event_type for e in entries] == ["Idea.Submitted", "Idea.Rejected"]
    assert entries[1].chapter == "decision"
    assert entries[1].fields == {"reason": "We tried this in 2019."}


def test_every_aggregates_history_is_its_stored_events_with_positions(
    engine: Engine, clock: SteppingClock
) -> None:
    story = tell(engine, clock)
    logged = positions(engine)
    for aggregate_id in (story.challenge, story.idea, story.hidden, person_id(AUTHOR)):
        entries = history(engine, aggregate_id)
        stored = engine.history(aggregate_id)
        assert [e.event_id for e in entries] == [e.event_id for e in stored]
        assert [e.version for e in entries] == list(range(1, len(stored) + 1))
        assert [e.event_type for e in entries] == [event_name(e) for e in stored]
        assert [e.actor for e in entries] == [e.actor for e in stored]
        assert [e.at for e in entries] == [e.timestamp for e in stored]
        assert [e.position for e in entries] == [logged[e.event_id] for e in stored]
    received = [e for e in history(engine, resolve(AUTHOR)) if e.chapter == "person"]
    assert [e.event_type for e in received][-2:] == ["Person.RewardReceived"] * 2


def test_timeline_entries_are_plain_json(engine: Engine, clock: SteppingClock) -> None:
    story = tell(engine, clock)
    for entry in idea_story(engine, story.idea):
        shown = json.loads(json.dumps(entry.to_json()))
        assert shown["aggregate_id"] == str(entry.aggregate_id)
        assert shown["at"] == entry.at.isoformat() and shown["at"].endswith("+00:00")
        assert shown["fields"] == entry.fields
        assert set(shown) == set(TimelineEntry.__dataclass_fields__)


def test_what_is_no_aggregate_is_refused(engine: Engine, clock: SteppingClock) -> None:
    story = tell(engine, clock)
    with pytest.raises(NotFound):
        history(engine, UUID(int=7))
    with pytest.raises(NotFound):
        idea_story(engine, story.challenge)
    with pytest.raises(InvalidInput):
        resolve("Not A Handle!")
    assert resolve(f" {story.idea} ") == story.idea
    assert resolve(AUTHOR) == person_id(AUTHOR)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(played_histories(max_steps=100))
def test_any_ideas_story_is_exactly_what_the_log_says_about_it(history: History) -> None:
    """Its own events, its contributions' and the rewards for either: no more, no fewer, in
    time order (ties in log order), each with its position in the log."""
    events = history.events
    ideas = [e.originator_id for _, e in events if event_name(e) == "Idea.Submitted"]
    for idea in ideas:
        added = {
            e.originator_id
            for _, e in events
            if event_name(e) == "Contribution.Added" and e.idea_id == idea
        }
        subjects = {idea} | added
        expected = sorted(
            (
                (e.timestamp, p, e.event_id)
                for p, e in events
                if e.originator_id in subjects
                or (event_name(e) == "Challenge.RewardGranted" and e.subject_id in subjects)
            ),
        )
        told = idea_story(history.engine, idea)
        assert [(t.at, t.position, t.event_id) for t in told] == expected


# -- the CLI ---------------------------------------------------------------------------------


class Cli:
    """Runs ``groundswell --data-dir TMP ...``, ignoring any store set in the environment."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, command: str) -> Result:
        return self.runner.invoke(
            app,
            ["--data-dir", str(self.data_dir), *shlex.split(command)],
            env={"DATABASE_URL": None, "GROUNDSWELL_DATA_DIR": None, "COLUMNS": "200"},
        )

    def ok(self, command: str) -> str:
        result = self(command)
        assert result.exit_code == 0, result.output
        return result.stdout


@pytest.fixture
def told(tmp_path: Path) -> Iterator[tuple[Cli, Story, Engine]]:
    """A story written to a SQLite store, the CLI on it, and an engine to compare with."""
    clock = SteppingClock()
    engine = build_engine(Settings(data_dir=tmp_path / "data"), clock=clock)
    story = tell(engine, clock)
    yield Cli(tmp_path / "data"), story, engine
    engine.close()


def test_the_cli_tells_an_ideas_story(told: tuple[Cli, Story, Engine]) -> None:
    cli, story, engine = told
    shown = cli.ok(f"audit history {story.idea}")
    assert "Idea 'Scan delivery notes' by ann" in shown
    assert "its story in 18 events — 9 of the idea, 6 of 4 contributions, 3 rewards" in shown
    for said in ("submission", "feedback", "decision", "hand-over", "implementation", "reward"):
        assert said in shown
    assert "note: Worth a pilot." in shown and "reason: Advertising" in shown
    assert f"contribution {str(story.comment)[:8]}" in shown
    document = json.loads(cli.ok(f"audit history {story.idea} --json"))
    assert document["view"] == "story" and document["aggregate_kind"] == "Idea"
    assert document["entries"] == [e.to_json() for e in idea_story(engine, story.idea)]
    own = json.loads(cli.ok(f"audit history {story.idea} --json --own"))
    assert own["view"] == "history"
    assert {e["aggregate_id"] for e in own["entries"]} == {str(story.idea)}


def test_the_cli_shows_any_aggregates_history(told: tuple[Cli, Story, Engine]) -> None:
    cli, story, engine = told
    shown = cli.ok(f"audit history {AUTHOR}")
    assert "Ann Author (ann, Sales)" in shown and "RewardReceived" in shown
    person = json.loads(cli.ok(f"audit history {AUTHOR} --json"))
    assert person["aggregate_id"] == str(person_id(AUTHOR))
    challenge = json.loads(cli.ok(f"audit history {story.challenge} --json"))
    assert challenge["entries"] == [e.to_json() for e in history(engine, story.challenge)]
    assert "A comment by cat on idea" in cli.ok(f"audit history {story.comment}")


@pytest.mark.parametrize(
    ("reference", "said"),
    [
        ("nobody", "nobody with handle 'nobody' is registered"),
        ("'Not A Handle!'", "is neither an id nor a person's handle"),
        (str(UUID(int=7)), "nothing was ever recorded under id"),
    ],
)
def test_the_cli_refuses_what_it_cannot_find(
    told: tuple[Cli, Story, Engine], reference: str, said: str
) -> None:
    cli, _, _ = told
    result = cli(f"audit history {reference}")
    assert result.exit_code == 1
    assert said in result.stderr


def test_the_cli_exports_everything_or_one_challenge(
    told: tuple[Cli, Story, Engine], tmp_path: Path
) -> None:
    cli, story, engine = told
    shown = cli.ok(f"audit export --out {tmp_path / 'all'}")
    manifest: dict[str, Any] = json.loads((tmp_path / "all" / "manifest.json").read_text())
    assert manifest["total"] == engine.last_position
    assert f"exported {manifest['total']} events of the whole history" in shown
    assert manifest["files"][0]["sha256"] in shown
    lines = (tmp_path / "all" / "events.jsonl").read_text().splitlines()
    assert len(lines) == manifest["total"]

    cli.ok(f"audit export --out {tmp_path / 'one'} --challenge {story.challenge} --codec null")
    one = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert one["scope"]["challenge_id"] == str(story.challenge)
    assert one["avro"]["codec"] == "null"
    assert "Person.Registered" not in one["counts"]
    assert one["counts"]["Person.RewardReceived"] == 6  # 1 + 1 + 2 + 2 beneficiaries

    again = cli(f"audit export --out {tmp_path / 'all'}")
    assert again.exit_code == 1 and "exists" in again.stderr
    missing = cli(f"audit export --out {tmp_path / 'x'} --challenge {story.idea}")
    assert missing.exit_code == 1 and "no challenge with id" in missing.stderr
