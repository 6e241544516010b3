"""metrics.jsonl: one JSON object per training step, appended and flushed as the run goes.

A crash loses at most the line being written; a resumed run cuts the log back to the lines its
resume state accounts for. Readers (training curves) take every line that parses and name the
file when some do not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_write


class MetricsLog:
    """Appends one JSON object per line and flushes, so a crash loses at most one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, row: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def truncate(self, lines: int) -> None:
        """Keep the first `lines` lines (those a resume state accounts for); drop the rest."""
        kept = self.path.read_bytes().splitlines(keepends=True)[:lines] if self.path.is_file() else []
        atomic_write(self.path, lambda f: f.write(b"".join(kept)))


@dataclass(frozen=True)
class MetricsReading:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # one line naming the file when lines (or all of it) could not be read


def read_metrics(path: Path) -> MetricsReading:
    """Every step row that parses; a missing file is no rows and no problem."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return MetricsReading()
    except OSError as err:
        return MetricsReading([], f"{path}: unreadable ({type(err).__name__}: {err})")
    rows, bad = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad.append(number)
    problem = None
    if bad:
        problem = (f"{path}: unreadable lines {_ranges(bad)} of {len(text.splitlines())} (not JSON objects); "
                   f"the other {len(rows)} are used")
    return MetricsReading(rows, problem)


def _ranges(numbers: list[int]) -> str:
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans[:5]) + (", ..." if len(spans) > 5 else "")
