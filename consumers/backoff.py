"""Waiting between attempts at something that failed: the relay's sends, a projector's batches."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """Exponential delays between attempts, with jitter so restarted relays do not align."""

    first: float = 0.5
    most: float = 30.0
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.most, self.first * 2.0**self.attempts)
        self.attempts += 1
        return max(self.first, delay * random.uniform(0.8, 1.0))
