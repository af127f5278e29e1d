"""What is saved comes back the same, on SQLite and on PostgreSQL, for any engine on the store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import product
from uuid import UUID, uuid4

import pytest

from domain.challenge import Challenge, Stage
from domain.contribution import Contribution, ContributionKind
from domain.errors import AlreadyRewarded, NotFound, PotTooSmall, WrongStage
from domain.idea import Idea, IdeaStatus
from domain.ledger import TREASURY, balances, pot_account
from domain.person import Person, person_id
from groundswell.app.application import Receipt
from groundswell.app.engine import Engine
from tests.scenario import (
    AUTHOR,
    COLLEAGUE,
    MANAGER,
    OWNER,
    REVIEWER,
    TEAMMATE,
    Scenario,
    all_events,
    reads,
    refused,
    terms,
    twin_engine,
)
from tests.support import (
    SteppingClock,
    database_url_or_fail,
    postgres_engine,
    postgres_schema,
    redeem,
)

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def twin(engine: Engine, clock: SteppingClock) -> Iterator[Engine]:
    """A second engine on the same store, as another process would have."""
    other = twin_engine(engine, clock)
    yield other
    other.close()


def _people() -> tuple[Person, Person]:
    ann = Person.register(
        handle=AUTHOR,
        name="Ann Ångström",
        department="Sales – Nordics",
        pseudonym="Paper Tiger 🐯",
        actor="admin",
        at=AT,
    )
    mia = Person.register(
        handle=MANAGER, name="Mia", department="Innovation", roles=["manager"], actor="admin", at=AT
    )
    return ann, mia


def test_each_aggregate_reloads_equal_to_what_was_saved(engine: Engine) -> None:
    ann, mia = _people()
    challenge = Challenge.draft(uuid4(), pot=75, actor=MANAGER, at=AT, **terms(prize_points=[9]))
    challenge.open(actor=MANAGER, at=AT + timedelta(hours=1))
    idea = Idea.submit(
        uuid4(), challenge, ann, title="Scan „notes“", description="Zeile 1\nZeile 2", at=AT
    )
    idea.start_review(challenge, actor=MANAGER, at=AT)
    idea.accept(challenge, note="ok", actor=MANAGER, at=AT)
    comment = Contribution.add(
        uuid4(), ContributionKind.COMMENT, idea, challenge, ann, body="Gut!", at=AT
    )
    comment.mark_helpful(challenge, actor=MANAGER, at=AT)
    shares = challenge.grant_reward("idea-accepted", idea.as_reward_subject(), actor=MANAGER, at=AT)
    ann.receive_reward(
        challenge_id=challenge.id,
        reason="idea-accepted",
        subject_id=idea.id,
        points=shares[AUTHOR],
        actor=MANAGER,
        at=AT,
    )

    engine.save(ann, mia, challenge, idea, comment)

    assert engine.person(AUTHOR) == ann
    assert engine.person(MANAGER) == mia
    assert engine.challenge(challenge.id) == challenge
    assert engine.idea(idea.id) == idea
    assert engine.contribution(comment.id) == comment
    reloaded = engine.challenge(challenge.id)
    assert reloaded.stage is Stage.OPEN
    assert reloaded.rewarded == {("idea-accepted", str(idea.id), AUTHOR)}
    assert reloaded.policy.prizes == (9,)
    assert engine.person(AUTHOR).pseudonym == "Paper Tiger 🐯"


def made(receipt: Receipt) -> UUID:
    """The id a command created."""
    assert receipt.id is not None
    return receipt.id


def _lifecycle(engine: Engine) -> dict[str, UUID]:
    """A challenge from draft to archive, with every kind of thing that can happen in it."""
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=150)
    implemented = story.idea(challenge_id, "in implementation", team=(TEAMMATE,))
    engine.report_progress(OWNER, implemented, "Pilot at dock 3.")
    engine.mark_implemented(OWNER, implemented, "40% less paper at the dock.")
    duplicate = story.idea(challenge_id, author=COLLEAGUE, title="Scan them too")
    engine.merge_idea(MANAGER, duplicate, implemented)
    engine.undo_merge(MANAGER, duplicate)
    engine.ask_reviewer(MANAGER, duplicate, REVIEWER)
    review = made(engine.give_review_score(REVIEWER, duplicate, 4, "Good."))
    endorsement = made(engine.endorse(COLLEAGUE, implemented))
    link = made(engine.build_on(COLLEAGUE, implemented, "Same idea, wider.", duplicate))
    helpful = story.helpful_comment(implemented, author=REVIEWER)
    hidden = made(engine.comment(COLLEAGUE, implemented, "Buy my scanners!"))
    engine.hide_contribution(MANAGER, hidden, "Advertising.")
    engine.reject_idea(MANAGER, duplicate, "Covered by the first idea.")
    engine.grant_reward(MANAGER, "idea-accepted", implemented)
    engine.grant_reward(MANAGER, "idea-implemented", implemented)
    engine.grant_reward(MANAGER, "helpful-contribution", helpful)
    story.move(challenge_id, "closed")
    engine.award_prize(MANAGER, implemented, 1)
    redeem(engine, TEAMMATE, 20, "Team lunch")
    engine.choose_pseudonym(COLLEAGUE, "Quiet Fox")
    story.move(challenge_id, "archived")
    return {
        "challenge": challenge_id,
        "implemented": implemented,
        "duplicate": duplicate,
        "review": review,
        "endorsement": endorsement,
        "link": link,
        "helpful": helpful,
        "hidden": hidden,
    }


def test_a_whole_challenge_lifecycle_persists(engine: Engine) -> None:
    ids = _lifecycle(engine)

    challenge = engine.challenge(ids["challenge"])
    assert challenge.stage is Stage.ARCHIVED
    assert (challenge.funded, challenge.granted, challenge.pot) == (150, 95, 0)
    implemented = engine.idea(ids["implemented"])
    assert implemented.status is IdeaStatus.IMPLEMENTED
    assert implemented.team == [AUTHOR, TEAMMATE]
    assert (implemented.owner, implemented.external_ref) == (OWNER, "LOG-7")
    assert implemented.impact == "40% less paper at the dock."
    duplicate = engine.idea(ids["duplicate"])
    assert (duplicate.status, duplicate.merged_into) == (IdeaStatus.REJECTED, None)
    assert engine.contribution(ids["review"]).score == 4
    assert engine.contribution(ids["link"]).linked_idea_id == ids["duplicate"]
    assert engine.contribution(ids["helpful"]).helpful
    assert engine.contribution(ids["hidden"]).hidden_reason == "Advertising."
    assert engine.person(TEAMMATE).balance == 5 + 15 + 25 - 20
    assert engine.person(COLLEAGUE).pseudonym == "Quiet Fox"
    totals = balances(all_events(engine))
    assert sum(totals.values()) == 0
    assert totals[TREASURY] == -95
    assert totals[pot_account(ids["challenge"])] == 0


def test_history_returns_an_aggregates_events_in_order_with_their_envelope(
    engine: Engine,
) -> None:
    ids = _lifecycle(engine)

    for aggregate_id in ids.values():
        history = engine.history(aggregate_id)
        assert [e.originator_version for e in history] == list(range(1, len(history) + 1))
        assert all(e.originator_id == aggregate_id for e in history)
        stamps = [e.timestamp for e in history]
        assert stamps == sorted(stamps)
        assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in stamps)
        assert all(isinstance(e.event_id, UUID) for e in history)
        assert all(e.challenge_id == ids["challenge"] for e in history)
        assert all(isinstance(e.actor, str) and e.actor for e in history)

    kinds = [type(e) for e in engine.history(ids["challenge"])]
    assert kinds[:3] == [Challenge.Drafted, Challenge.PotFunded, Challenge.ManagerAdded]
    assert kinds[-1] is Challenge.Archived
    duplicate = [type(e) for e in engine.history(ids["duplicate"])]
    assert duplicate[1:3] == [Idea.MergedInto, Idea.MergeUndone]
    assert [e.actor for e in engine.history(ids["implemented"])][:3] == [AUTHOR, AUTHOR, TEAMMATE]

    every_event_id = [e.event_id for e in all_events(engine)]
    assert len(every_event_id) == len(set(every_event_id))


def test_an_aggregates_events_are_read_in_any_range_order_and_number(engine: Engine) -> None:
    challenge_id = _lifecycle(engine)["challenge"]
    every = engine.recorder.select_events(challenge_id)
    assert [e.originator_version for e in every] == list(range(1, len(every) + 1))
    assert all(isinstance(e.state, bytes) and e.originator_id == challenge_id for e in every)

    for gt, lte, desc, limit in product((None, 2), (None, 5), (False, True), (None, 2)):
        expected = [
            e
            for e in every
            if (gt is None or e.originator_version > gt)
            and (lte is None or e.originator_version <= lte)
        ]
        expected = (expected[::-1] if desc else expected)[:limit]
        found = engine.recorder.select_events(challenge_id, gt=gt, lte=lte, desc=desc, limit=limit)
        assert list(found) == expected, (gt, lte, desc, limit)
    assert engine.recorder.select_events(uuid4()) == []


def test_a_new_idea_reads_its_challenge_and_author_in_one_query_on_postgres(
    engine: Engine,
) -> None:
    challenge_id = Scenario(engine).with_cast().challenge("open")

    with reads(engine) as queries:
        receipt = engine.submit_idea(AUTHOR, challenge_id, title="Scan", description="Dock.")

    both = [challenge_id, person_id(AUTHOR)]
    postgres = engine.env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert queries == ([both] if postgres else [[i] for i in both])
    idea = engine.idea(made(receipt))
    assert (idea.challenge_id, idea.author, idea.department) == (challenge_id, AUTHOR, "Sales")


def test_a_new_idea_names_a_missing_challenge_or_author_on_any_store(engine: Engine) -> None:
    challenge_id = Scenario(engine).with_cast().challenge("open")

    missing = uuid4()
    with refused(engine, NotFound, f"no challenge with id {missing}"):
        engine.submit_idea(AUTHOR, missing, title="Scan", description="Dock.")
    with refused(engine, NotFound, "nobody with handle 'ghost'"):
        engine.submit_idea("ghost", challenge_id, title="Scan", description="Dock.")
    with refused(engine, NotFound, "is not a challenge"):
        engine.submit_idea(AUTHOR, person_id(COLLEAGUE), title="Scan", description="Dock.")


def test_people_belong_to_no_challenge(engine: Engine) -> None:
    Scenario(engine).with_cast()

    registered = engine.history(engine.person(AUTHOR).id)[0]
    assert isinstance(registered, Person.Registered)
    assert registered.challenge_id is None
    assert isinstance(registered.actor, str) and registered.actor


def test_receipts_point_at_where_the_events_landed(engine: Engine) -> None:
    story = Scenario(engine).with_cast()
    before = engine.last_position

    receipt = engine.draft_challenge(MANAGER, pot=10, **terms())
    assert receipt.events == 2
    assert receipt.position == engine.last_position == before + 2
    challenge_id = made(receipt)
    story.move(challenge_id, "open")
    assert engine.submit_idea(AUTHOR, challenge_id, title="A", description="B").position == (
        engine.last_position
    )


def test_a_refused_command_writes_nothing_to_the_store(engine: Engine) -> None:
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=5)
    idea_id = story.idea(challenge_id, "accepted")

    with refused(engine, PotTooSmall, "5 points"):
        engine.grant_reward(MANAGER, "idea-accepted", idea_id)
    with refused(engine, WrongStage, "open"):
        engine.open_challenge(MANAGER, challenge_id)
    assert engine.person(AUTHOR).balance == 0
    assert engine.challenge(challenge_id).pot == 5


def test_a_second_engine_on_the_same_store_sees_the_same_state(
    engine: Engine, twin: Engine
) -> None:
    ids = _lifecycle(engine)

    assert twin.last_position == engine.last_position
    for kind, load in (
        ("challenge", "challenge"),
        ("implemented", "idea"),
        ("duplicate", "idea"),
        ("review", "contribution"),
        ("hidden", "contribution"),
    ):
        assert getattr(twin, load)(ids[kind]) == getattr(engine, load)(ids[kind])
    for handle in (AUTHOR, TEAMMATE, COLLEAGUE, REVIEWER):
        assert twin.person(handle) == engine.person(handle)
    assert balances(all_events(twin)) == balances(all_events(engine))


def test_what_one_engine_writes_the_other_builds_on(engine: Engine, twin: Engine) -> None:
    story = Scenario(engine).with_cast()
    challenge_id = story.challenge("open", pot=100)
    idea_id = story.idea(challenge_id, "accepted")

    twin.grant_reward(MANAGER, "idea-accepted", idea_id)
    with refused(engine, AlreadyRewarded, AUTHOR):
        engine.grant_reward(MANAGER, "idea-accepted", idea_id)
    redeem(engine, AUTHOR, 10, "Mug")

    assert twin.person(AUTHOR).balance == 0
    assert twin.challenge(challenge_id).pot == 90


@pytest.mark.postgres
def test_processes_opening_a_new_database_at_once_all_open_it() -> None:
    # Found by the fault soak: the API, the relay and its encoder process started together
    # on a fresh database, and one of them died with "tuple concurrently updated" while
    # creating the tables. Six engines opening one fresh schema at the same moment.
    url = database_url_or_fail()
    with postgres_schema(url) as schema:
        together = threading.Barrier(6)
        failures: list[BaseException] = []

        def open_engine() -> None:
            together.wait()
            try:
                postgres_engine(url, schema, SteppingClock()).close()
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=open_engine) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        engine = postgres_engine(url, schema, SteppingClock())
        engine.register_person("ann", name="Ann", department="Sales")
        assert engine.last_position == 1
        engine.close()
