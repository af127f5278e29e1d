"""`serve --demo` prints the same demo tokens at every start on the same data (open tabs stay
signed in), kept readable by the owner only; `--fresh-tokens` replaces and revokes them."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groundswell.access.tokens import TokenStore
from groundswell.bootstrap import build_engine, build_tokens
from groundswell.cli.serve import DEMO_PEOPLE, demo_tokens
from groundswell.demo.tokens import FILE
from groundswell.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path / "data")
    engine = build_engine(settings)
    for _, handle in DEMO_PEOPLE:
        engine.register_person(handle, name=handle.title(), department="R&D", roles=["manager"])
    engine.close()
    yield settings


@pytest.fixture
def store(settings: Settings) -> Iterator[TokenStore]:
    tokens = build_tokens(settings)
    yield tokens
    tokens.close()


def test_every_start_prints_the_same_live_tokens(settings: Settings, store: TokenStore) -> None:
    first = demo_tokens(settings)
    again = demo_tokens(settings)

    assert again == first
    assert [handle for _, handle, _ in first] == ["mia", "anna.kowalski", "sofia", "theo", "ada"]
    for _, handle, token in first:
        assert store.holder(token) == handle
    assert len([t for t in store.list() if t.revoked_at is None]) == len(DEMO_PEOPLE)


def test_the_kept_tokens_are_readable_by_their_owner_only(settings: Settings) -> None:
    demo_tokens(settings)
    kept = settings.data_dir / FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600

    kept.chmod(0o644)  # loosened by someone: put right at the next start
    demo_tokens(settings)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_fresh_tokens_replace_and_revoke_the_old_ones(
    settings: Settings, store: TokenStore
) -> None:
    old = demo_tokens(settings)
    new = demo_tokens(settings, fresh=True)

    assert {t for *_, t in old}.isdisjoint(t for *_, t in new)
    for (_, _, before), (_, handle, after) in zip(old, new, strict=True):
        assert store.holder(before) is None
        assert store.holder(after) == handle
    assert demo_tokens(settings) == new  # and those are kept from then on


def test_a_revoked_or_foreign_token_is_replaced(settings: Settings, store: TokenStore) -> None:
    first = dict((h, t) for _, h, t in demo_tokens(settings))
    mia = next(t for t in store.list("mia") if t.revoked_at is None)
    store.revoke(mia.token_id)
    kept = settings.data_dir / FILE
    kept.write_text(kept.read_text().replace(first["sofia"], "gs_from-another-store"))

    second = dict((h, t) for _, h, t in demo_tokens(settings))

    assert second["anna.kowalski"] == first["anna.kowalski"]
    assert second["mia"] != first["mia"] and store.holder(second["mia"]) == "mia"
    assert second["sofia"] != first["sofia"] and store.holder(second["sofia"]) == "sofia"


def test_serve_demo_prints_the_same_tokens_until_asked_for_fresh_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    import uvicorn
    from typer.testing import CliRunner

    from groundswell.cli import app

    # Start, print, stop (the server returns at once); the deliverer the app started for the
    # demo's mail has ended by the time the command is over.
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, *args, **kwargs: served.append(app))

    def printed(*options: str) -> list[str]:
        result = CliRunner().invoke(
            app,
            ["--data-dir", str(tmp_path), "serve", "--demo", *options],
            env={"DATABASE_URL": None, "KAFKA_BOOTSTRAP_SERVERS": None, "COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.output
        assert not served[-1].state.delivery_thread.is_alive()
        return re.findall(r"Authorization: Bearer (gs_\S+)", result.stdout)

    first = printed()
    assert len(first) == len(DEMO_PEOPLE)
    assert printed() == first
    fresh = printed("--fresh-tokens")
    assert len(fresh) == len(DEMO_PEOPLE) and set(fresh).isdisjoint(first)
    assert printed() == fresh
