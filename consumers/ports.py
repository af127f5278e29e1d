"""The ports consumers/ needs, which groundswell's stores implement (groundswell/readstore):
a read-model store, whatever the database, and the Kafka projector's batch store."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
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


class BatchConflict(Exception):
    """Another instance changed the same rows at the same time; redo the batch."""


@dataclass(frozen=True)
class DeadLetter:
    """A message the projection could not apply, kept with why."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    error: str


class Batch(Protocol):
    """What one batch of a Kafka-fed projection reads and writes, all in one transaction."""

    def claim(self, partitions: Sequence[int]) -> dict[int, int]:
        """Lock the partitions' stored next offsets and return them."""
        ...

    def fetch(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """The stored value of each key that exists, locked until the batch commits."""
        ...

    def write(
        self,
        writes: list[tuple[str, str, Any, bool | None]],
        next_offsets: dict[int, int],
        dead: Sequence[DeadLetter] = (),
    ) -> None:
        """Write changed rows and versions, dead letters, and the partitions' next offsets."""
        ...


class KafkaBatchStore(Protocol):
    """Where a Kafka-fed projection keeps its rows with the offsets they include."""

    def batch(self, projection: str, topic: str) -> AbstractContextManager[Batch]:
        """One transaction for one batch; raises :class:`BatchConflict` when it must be redone."""
        ...


class OffsetsReader(Protocol):
    """A projection's stored next offset per partition, read on a session of its own."""

    def __call__(self) -> dict[int, int]: ...

    def close(self) -> None: ...


class OpenOffsetsReader(Protocol):
    """Opens an :class:`OffsetsReader` in a feed process (picklable: a class or module function)."""

    def __call__(
        self, url: str, schema: str | None, projection: str, topic: str
    ) -> OffsetsReader: ...
