"""Ratios that survive a noisy machine: compared variants run alternately, round after round.

`alternate` runs each callable once per round, in turn (A, B, C, A, B, C, ...), after warm-up
rounds that are not kept; a drift of the machine's speed then hits every variant of a round
alike. `ratio` summarises variant / base over the rounds as the median of the per-round ratios
and the spread between the lowest and highest of them.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Ratio:
    median: float
    low: float
    high: float
    rounds: int

    def text(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}–{self.high:.2f})"


def alternate(variants: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each variant, one call each per round, warm-up rounds dropped."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(warmup + rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            if index >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def spread(values: list[float]) -> Ratio:
    """Absolute figures (seconds) in the same form: the middle value (the upper one of an even
    count), lowest, highest."""
    return Ratio(sorted(values)[len(values) // 2], min(values), max(values), len(values))


def ratio(times: dict[str, list[float]], variant: str, base: str) -> Ratio:
    per_round = [a / b for a, b in zip(times[variant], times[base])]
    return Ratio(statistics.median(per_round), min(per_round), max(per_round), len(per_round))
