"""The README's shell blocks run verbatim: the CLI walkthrough, the read models and the
auditors' commands are run in bash, in a fresh data directory, and what the README says they
print (the lines starting with `#` under a command) must hold; every other shell block at least
parses. A README that drifts from the engine fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from groundswell.bootstrap import build_engine
from groundswell.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARK = "<!-- run by tests/e2e/test_readme.py -->"
BLOCK = re.compile(r"^(?P<mark><!-- [^\n]* -->\n)?```sh\n(?P<body>.*?)^```$", re.M | re.S)
REFUSAL = re.compile(r"\s*\(exit (?P<code>\d+)(?P<nothing>, nothing written)?\)\s*$")


@dataclass
class Step:
    """A command (continuation lines joined) and what the README says it prints."""

    command: str
    said: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        found = [REFUSAL.search(line) for line in self.said]
        return next((int(f["code"]) for f in found if f), 0)

    @property
    def writes_nothing(self) -> bool:
        return any((f := REFUSAL.search(line)) and f["nothing"] for line in self.said)

    def patterns(self) -> list[re.Pattern[str]]:
        texts = [REFUSAL.sub("", line).strip() for line in self.said]
        return [
            re.compile(".*".join(re.escape(part.strip()) for part in text.split("…")))
            for text in texts
            if text
        ]


def blocks(marked: bool) -> list[str]:
    text = README.read_text()
    return [
        m["body"] for m in BLOCK.finditer(text) if bool(m["mark"] and MARK in m["mark"]) == marked
    ]


def steps(block: str) -> list[Step]:
    found: list[Step] = []
    lines = iter(block.splitlines())
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("#"):
            assert found, f"an output line with no command above it: {line!r}"
            found[-1].said.append(line[1:])
            continue
        command = line
        while command.rstrip().endswith("\\"):
            command += "\n" + next(lines)
        found.append(Step(command))
    return found


def test_the_readme_has_runnable_walkthrough_blocks() -> None:
    run = blocks(marked=True)
    assert len(run) >= 3
    assert sum(len(steps(b)) for b in run) > 30


@pytest.mark.parametrize("block", blocks(marked=False), ids=lambda b: b.splitlines()[0][:40])
def test_every_other_shell_block_parses(block: str) -> None:
    checked = subprocess.run(["bash", "-n"], input=block, text=True, capture_output=True)
    assert checked.returncode == 0, checked.stderr


def test_the_walkthrough_runs_verbatim_and_prints_what_the_readme_says(tmp_path: Path) -> None:
    bin_dir, data_dir, state = tmp_path / "bin", tmp_path / "data", tmp_path / "state.sh"
    bin_dir.mkdir()
    launcher = bin_dir / "groundswell"  # what `make run` puts in .venv/bin, on this interpreter
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m groundswell "$@"\n')
    launcher.chmod(0o755)
    state.write_text("")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "GROUNDSWELL_DATA_DIR")
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        GROUNDSWELL_DATA_DIR=str(data_dir),
        COLUMNS="120",
    )
    every = [step for block in blocks(marked=True) for step in steps(block)]
    names = sorted({m[1] for s in every if (m := re.match(r"(\w+)=", s.command))})
    bash = shutil.which("bash")
    assert bash

    for step in every:
        before = position(data_dir) if step.writes_nothing else None
        # One bash per command, the shell variables carried over (as in one terminal).
        script = (
            f"source {state}\n{step.command}\nstatus=$?\n"
            f"declare -p {' '.join(names)} > {state} 2>/dev/null\nexit $status\n"
        )
        ran = subprocess.run(
            [bash, "-c", script], cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120
        )
        said = ran.stdout + ran.stderr
        where = f"`{step.command}` printed:\n{said}"
        assert ran.returncode == step.exit_code, where
        for pattern in step.patterns():
            assert any(pattern.search(line) for line in said.splitlines()), (
                f"the README says {pattern.pattern!r}; {where}"
            )
        if before is not None:
            assert position(data_dir) == before, f"a refusal wrote events: {where}"


def position(data_dir: Path) -> int:
    engine = build_engine(Settings(data_dir=data_dir))
    try:
        return engine.last_position
    finally:
        engine.close()
