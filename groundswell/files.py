"""The embedded store's files are readable by their owner only: they hold every person's
identity behind a pseudonym, points and history, and the token hashes."""

from __future__ import annotations

import contextlib
from pathlib import Path

SIBLINGS = ("", "-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``path``, created if need be, with only its owner allowed in (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    """Only the owner may read or write the SQLite file ``path`` and its journals (0600).
    SQLite creates a journal with its database's mode, so those made later follow."""
    for suffix in SIBLINGS:
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).chmod(0o600)
