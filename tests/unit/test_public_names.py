"""Pseudonyms cannot impersonate anyone or be invisible; titles cannot be invisible (issue 16.6).

Names are compared with format characters (category Cf) dropped, NFKC, casefolded and
without whitespace: what looks the same to a reader counts as the same name.
"""

from __future__ import annotations

import contextlib
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput, NotPermitted
from domain.validation import comparable
from groundswell.app.engine import Engine
from tests.scenario import AUTHOR, CAST, COLLEAGUE, MANAGER, TEAMMATE, Scenario, refused, terms
from tests.support import SteppingClock, memory_engine

FORMAT_CHARACTERS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2069"
INVISIBLE = st.text(st.sampled_from(FORMAT_CHARACTERS + " \u00a0\u3000\t"), min_size=1, max_size=8)
# Invisible-only text that is not plain blank (blank is "not given" for a pseudonym).
EMPTY_LOOKING = INVISIBLE.filter(lambda s: s.strip())
FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def look_alike(name: str, data: st.DataObject) -> str:
    """``name`` disguised: case changed, some letters fullwidth, zero-width characters and
    spaces slipped in (all of which a reader cannot tell apart)."""
    disguised = []
    for char in name:
        shown = data.draw(st.sampled_from([char, char.upper(), char.lower()]))
        if data.draw(st.booleans()):
            shown = "".join(FULLWIDTH.get(c, c) for c in shown)
        disguised.append(shown + data.draw(st.sampled_from(["", "", "\u200b", "\u2060", " "])))
    return "".join(disguised)


@pytest.fixture
def story(memory: Engine) -> Scenario:
    return Scenario(memory).with_cast()


def test_a_pseudonym_of_another_persons_handle_name_or_pseudonym_is_refused(
    memory: Engine, story: Scenario
) -> None:
    memory.choose_pseudonym(TEAMMATE, "Night Owl")
    for taken in (COLLEAGUE, CAST[COLLEAGUE][0], "Night Owl", "NIGHT OWL", "Ｎｉｇｈｔ Owl"):
        with refused(memory, InvalidInput, "pseudonym", "another person"):
            memory.choose_pseudonym(AUTHOR, taken)
    assert memory.person(AUTHOR).pseudonym is None


def test_a_pseudonym_may_be_ones_own_name_and_kept_when_chosen_again(
    memory: Engine, story: Scenario
) -> None:
    memory.choose_pseudonym(AUTHOR, CAST[AUTHOR][0])
    memory.choose_pseudonym(AUTHOR, "Paper Tiger")
    memory.choose_pseudonym(AUTHOR, "paper tiger")
    assert memory.person(AUTHOR).pseudonym == "paper tiger"


def test_registering_someone_under_a_name_or_handle_someone_goes_by_is_refused(
    memory: Engine, story: Scenario
) -> None:
    memory.choose_pseudonym(AUTHOR, "Trader")
    with refused(memory, InvalidInput, "handle", "pseudonym"):
        memory.register_person("trader", name="Tom Trader", department="Sales")
    with refused(memory, InvalidInput, "name", "pseudonym"):
        memory.register_person("tom", name="TRADER", department="Sales")
    with refused(memory, InvalidInput, "pseudonym", "another person"):
        memory.register_person("tom", name="Tom", department="Sales", pseudonym="Ann\u200bAuthor")


def test_direction_overrides_in_names_are_refused(memory: Engine, story: Scenario) -> None:
    with refused(memory, InvalidInput, "pseudonym", "U+202E"):
        memory.choose_pseudonym(AUTHOR, "\u202erohtuA nnA")
    with refused(memory, InvalidInput, "name", "U+2066"):
        memory.register_person("tom", name="Tom \u2066Boss", department="Sales")


@settings(max_examples=60)
@given(data=st.data(), victim=st.sampled_from([TEAMMATE, COLLEAGUE, MANAGER]))
def test_no_look_alike_of_anyones_name_handle_or_pseudonym_is_accepted(
    data: st.DataObject, victim: str
) -> None:
    engine = memory_engine(SteppingClock())
    Scenario(engine).with_cast()
    engine.choose_pseudonym(victim, "Quiet Fox")
    name = data.draw(st.sampled_from([victim, CAST[victim][0], "Quiet Fox"]))
    disguise = look_alike(name, data)
    assert comparable(disguise) == comparable(name)
    with refused(engine, InvalidInput, "pseudonym"):
        engine.choose_pseudonym(AUTHOR, disguise)


@settings(max_examples=60)
@given(blank=EMPTY_LOOKING)
def test_names_pseudonyms_and_titles_made_only_of_invisible_characters_are_refused(
    blank: str,
) -> None:
    engine = memory_engine(SteppingClock())
    story = Scenario(engine).with_cast()
    challenge = story.challenge()
    with refused(engine, InvalidInput, "pseudonym", "readable"):
        engine.choose_pseudonym(AUTHOR, blank)
    with refused(engine, InvalidInput, "name", "readable"):
        engine.register_person("tom", name=blank, department="Sales")
    with refused(engine, InvalidInput, "title", "readable"):
        engine.submit_idea(AUTHOR, challenge, title=blank, description="Something to see.")
    with refused(engine, InvalidInput, "title", "readable"):
        engine.draft_challenge(MANAGER, pot=10, **terms(title=blank))
    idea = story.idea(challenge)
    with refused(engine, InvalidInput, "title", "readable"):
        engine.edit_idea(AUTHOR, idea, title=blank, description="Still readable.")


@settings(max_examples=80)
@given(
    choices=st.lists(
        st.tuples(
            st.sampled_from(list(CAST)),
            st.text(st.sampled_from("AaNnOoTtRr \u200b\uff21\uff4e"), min_size=1, max_size=10),
        ),
        max_size=12,
    )
)
def test_after_any_choices_no_pseudonym_looks_like_anyone_else(
    choices: list[tuple[str, str]],
) -> None:
    engine = memory_engine(SteppingClock())
    Scenario(engine).with_cast()
    for handle, wanted in choices:
        with contextlib.suppress(InvalidInput, NotPermitted):  # auditors choose none
            engine.choose_pseudonym(handle, wanted)
    people = [engine.person(handle) for handle in CAST]
    for person in people:
        if person.pseudonym is None:
            continue
        assert unicodedata.normalize("NFKC", person.pseudonym).strip()
        mine = comparable(person.pseudonym)
        for other in people:
            if other.handle != person.handle:
                others = {comparable(other.handle), comparable(other.name)}
                if other.pseudonym:
                    others.add(comparable(other.pseudonym))
                assert mine not in others, (person.pseudonym, other.handle)
