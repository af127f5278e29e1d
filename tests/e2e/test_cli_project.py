"""`groundswell project all`: one process for every projection, all or none."""

from __future__ import annotations

import threading

import pytest
from typer.testing import CliRunner

from groundswell.cli import app
from groundswell.cli import project as project_command


class FakeProjector:
    """A projection that runs until stopped, or fails at once."""

    def __init__(self, name: str, fails: bool) -> None:
        self.name, self.fails, self.applied = name, fails, 0
        self.assigned = {0}  # joined its group at once: `project all` starts the next
        self.stopped = threading.Event()
        self.store = self

    def run(self) -> None:
        if self.fails:
            raise RuntimeError(f"{self.name}: the fold failed")
        assert self.stopped.wait(20), f"{self.name} was left running"

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        pass


def test_one_failed_projection_stops_the_whole_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by the fault soak: 'project all' lived on with three of its seven projections
    # ended by a broker outage, so no supervisor restarted it and those read models stood still.
    made: list[FakeProjector] = []

    def build(_settings: object, name: str, **_options: object) -> FakeProjector:
        made.append(FakeProjector(name, fails=name == "breadth"))
        return made[-1]

    monkeypatch.setattr(project_command, "build_kafka_projector", build)
    url, servers = "postgresql://u:p@127.0.0.1:1/db", "127.0.0.1:1"
    command = ["--database-url", url, "project", "all", "--bootstrap-servers", servers]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "breadth: the fold failed" in result.output
    assert len(made) > 1 and all(p.stopped.is_set() for p in made if not p.fails)
