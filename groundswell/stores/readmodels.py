"""What a read-model store does, whatever the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from projections.rows import Rows

Change = tuple[str, str, Any]  # (table, key, value or None to delete)


@dataclass(frozen=True)
class Checkpoint:
    """How far a projection has read: the last notification-log position it applied."""

    projection: str
    position: int
    version: int
    rows: int


class ReadModelStore(Protocol):
    def load(self, projection: str) -> tuple[Rows, int, int]:
        """The projection's rows, its checkpoint position and the fold version that wrote them."""
        ...

    def save(self, projection: str, changes: list[Change], position: int, version: int) -> None:
        """Write changed rows and the new checkpoint in ONE transaction."""
        ...

    def replace(self, projection: str, rows: Rows, position: int, version: int) -> None:
        """Swap in a rebuilt read model: delete, insert and checkpoint in one transaction."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...

    def close(self) -> None: ...
