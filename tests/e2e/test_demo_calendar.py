"""The demo on any day: written relative to the day it is created (its story in the past,
its open challenge taking ideas), with the demo manager's own follow-up debt on her desk;
and pages that stop inviting ideas once the submission deadline has passed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from domain.challenge import Stage
from domain.errors import DomainError
from domain.idea import IdeaStatus
from groundswell.app.engine import Engine
from groundswell.bootstrap import build_engine, build_http_app, build_read_models, build_tokens
from groundswell.demo import onboarding as demo_onboarding
from groundswell.demo.cast import challenge_id, idea_id
from groundswell.demo.seed import run_demo
from groundswell.demo.summary import all_events
from groundswell.settings import Settings
from projections import follow_up
from tests.http_support import signed_in
from tests.support import SteppingClock

# Days years apart, on either side of the day the demo was first written.
DAYS = [date(2025, 3, 1), date(2026, 12, 5), date(2031, 7, 15)]
OPEN = challenge_id(demo_onboarding.KEY)


@dataclass
class Demo:
    day: date
    settings: Settings
    tokens: dict[str, str]


def at(day: date, hour: int = 9) -> SteppingClock:
    return SteppingClock(datetime.combine(day, time(hour), tzinfo=UTC))


@pytest.fixture(scope="module", params=DAYS, ids=str)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo written as if today were ``day`` (once per day for the module)."""
    day: date = request.param
    settings = Settings(data_dir=tmp_path_factory.mktemp(f"demo-{day}"))
    run_demo(settings, console=Console(quiet=True), report=False, today=day)
    store = build_tokens(settings)
    try:
        tokens = {h: store.issue(h, "test")[0] for h in ("mia", "anna.kowalski")}
    finally:
        store.close()
    return Demo(day, settings, tokens)


@pytest.fixture
def engine_on(demo: Demo) -> Iterator[list[Engine]]:
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.close()


def engine_at(demo: Demo, opened: list[Engine], day: date) -> Engine:
    engine = build_engine(demo.settings, clock=at(day))
    opened.append(engine)
    return engine


def pages_at(demo: Demo, opened: list[Engine], day: date, handle: str) -> TestClient:
    app = build_http_app(demo.settings, engine_at(demo, opened, day))
    client = TestClient(app, base_url="http://localhost")  # a Host served by default
    signed_in(client, demo.tokens[handle])
    return client


def test_the_story_lies_before_the_day_and_the_open_challenge_after_it(
    demo: Demo, engine_on: list[Engine]
) -> None:
    engine = engine_at(demo, engine_on, demo.day)
    midnight = datetime.combine(demo.day, time(), tzinfo=UTC)
    stamps = [event.timestamp for event in all_events(engine)]
    assert max(stamps) < midnight
    assert min(stamps) > midnight - timedelta(days=200)
    # What people say about the future is dated from the story too.
    upgrade = [e.reason for e in all_events(engine) if "upgrade" in str(getattr(e, "reason", ""))]
    assert upgrade and f"the {min(stamps).year + 2} upgrade" in upgrade[0]
    challenge = engine.challenge(OPEN)
    assert challenge.stage == Stage.OPEN
    assert challenge.submission_deadline > demo.day.isoformat()


def test_the_open_challenge_takes_an_idea_on_the_day(
    demo: Demo, engine_on: list[Engine], tmp_path: Path
) -> None:
    # On a copy: the other tests read the module's demo, its story all before the day, and
    # a worker may run them after this one.
    copy = replace(demo, settings=replace(demo.settings, data_dir=tmp_path / "demo"))
    shutil.copytree(demo.settings.data_dir, copy.settings.data_dir)
    engine = engine_at(copy, engine_on, demo.day)
    receipt = engine.submit_idea(
        "anna.kowalski", OPEN, title="Name badges on day one", description="So people say hi."
    )
    assert engine.idea(receipt.id).status == IdeaStatus.SUBMITTED


def test_the_demo_manager_finds_overdue_ideas_of_her_own_open_challenge(
    demo: Demo, engine_on: list[Engine]
) -> None:
    engine = engine_at(demo, engine_on, demo.day)
    assert "mia" in engine.challenge(OPEN).managers
    models = build_read_models(engine, demo.settings)
    try:
        debt = follow_up.follow_up_debt(models.rows("follow_up"), at(demo.day)(), manager="mia")
    finally:
        models.close()
    overdue_ideas = [d for d in debt if d["kind"] == "idea" and d["challenge_id"] == str(OPEN)]
    assert len(overdue_ideas) >= 3
    # Waiting for her decision: some overdue, some still within the days to decide.
    undecided = [
        key
        for key, *_ in demo_onboarding.IDEAS
        if engine.idea(idea_id(key)).status in (IdeaStatus.SUBMITTED, IdeaStatus.UNDER_REVIEW)
    ]
    assert len(undecided) > len(overdue_ideas)


def test_signed_in_mia_sees_her_desk_first(demo: Demo, engine_on: list[Engine]) -> None:
    client = pages_at(demo, engine_on, demo.day, "mia")
    first = client.get("/web")  # where sign-in sends her
    assert first.status_code == 200 and first.url.path == "/web/desk"
    desk = first.text.split('id="desk"', 1)[1].split("</section>", 1)[0]
    assert 'class="overdue"' in desk  # some of it is overdue ...
    assert demo_onboarding.TERMS["title"] in desk  # ... on her own open challenge
    # Every row leads to the idea it waits on, a comment's row too.
    rows = desk.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr")[1:]
    assert rows and all('href="/web/ideas/' in row for row in rows)


def test_the_pages_invite_ideas_while_the_deadline_holds(
    demo: Demo, engine_on: list[Engine]
) -> None:
    client = pages_at(demo, engine_on, demo.day, "anna.kowalski")
    card = client.get("/web/challenges").text
    assert "Open for ideas" in card
    page = client.get(f"/web/challenges/{OPEN}").text
    assert "Open for ideas" in page
    assert f'action="/web/challenges/{OPEN}/ideas"' in page


def test_the_pages_say_submissions_closed_once_the_deadline_passed(
    demo: Demo, engine_on: list[Engine]
) -> None:
    deadline = date.fromisoformat(
        engine_at(demo, engine_on, demo.day).challenge(OPEN).submission_deadline
    )
    later = deadline + timedelta(days=1)
    client = pages_at(demo, engine_on, later, "anna.kowalski")
    said = f"Submissions closed on {deadline.day} {deadline:%b %Y}"
    for path in ("/web/challenges", f"/web/challenges/{OPEN}"):
        html = client.get(path).text
        assert "Open for ideas" not in html
        assert said in html
        assert f'action="/web/challenges/{OPEN}/ideas"' not in html
        # Said once, not again as "ideas until …", and not in the open stage's colour.
        head = html.split(said, 1)[1].split("</p>", 1)[0]
        assert "until" not in head.lower()
        assert 'class="badge stage-past-deadline"' in html
    # On the deadline itself ideas are still taken; the day after the engine refuses them.
    on_the_day = pages_at(demo, engine_on, deadline, "anna.kowalski")
    assert "Submit an idea" in on_the_day.get(f"/web/challenges/{OPEN}").text
    with pytest.raises(DomainError, match="closed on"):
        engine_at(demo, engine_on, later).submit_idea(
            "anna.kowalski", OPEN, title="Too late", description="After the deadline."
        )
