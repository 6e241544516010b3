"""Which configurations were asked for: results/_launch/requested.jsonl, one line per request.

A plan holds the runs a request named and the runs they build on (a soup's ingredients are FT
runs at other learning rates, LP-FT's probe an LP run). Only the first are the method's tuning
budget: if FT's row were selected among every FT run in the folder, a sweep with soups would give
FT three times the learning rates the other methods got. So launching a plan appends each
requested run's (benchmark, method, configuration) here, and the report selects a method's row
only among its requested configurations; a method nobody asked for (only built on) keeps all its
runs. A results folder without this file (made before it existed) counts every run as requested,
and the first launch into such a folder writes its finished runs in as `before the log`, so they
keep counting. Each line names the requested seed too, so the runs a method builds on at other
seeds of a requested configuration (Model Stock's second run) are not counted as the method's own
seeds. A line without one (written before seeds were logged) meant every seed of its configuration;
each launch first rewrites such lines into one line per seed of the configuration's finished runs
(`upgrade`), before any new run can add seeds the old request never asked for; a line whose
configuration has no finished run stays as it is and still covers every seed. Several requests may share a folder: the report counts all of them, or those of
one source (`report --requested-by "sweep NAME"`). Appended one whole line per write by the
launching process; a torn line is skipped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..core.atomic import atomic_write_text
from ..core.config import ConfigError
from .layout import ResultsTree, UnreadableFileError
from .result import RunResult

BEFORE_LOG = "before the log"


@dataclass(frozen=True)
class Request:
    benchmark: str  # the benchmark's key, as run folders and result records name it
    method: str
    config: str     # the digest of the run's identity without its seed
    source: str     # "run" or "sweep <name>"
    seed: int | None = None  # the requested seed; None: every seed (lines written before seeds were)


class RequestLog:
    def __init__(self, results_root: str | Path) -> None:
        self.path = ResultsTree(Path(results_root)).requests_file

    def append(self, requests: Iterable[Request]) -> None:
        lines = "".join(json.dumps(asdict(r)) + "\n" for r in dict.fromkeys(requests))
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(lines)

    def start(self, tree: ResultsTree) -> None:
        """Before the first request of a folder that has finished runs already: log each of their
        configurations as requested `before the log`, so the log does not disown them."""
        if self.path.exists():
            return
        self.append(Request(r.benchmark, r.method, r.config, BEFORE_LOG, r.seed) for r in _finished(tree))

    def upgrade(self, tree: ResultsTree) -> None:
        """Rewrite every line without a seed into one line per seed of its configuration's
        finished runs (what the line covered when it was written); called before a launch adds runs."""
        if not self.path.is_file():
            return
        entries = list(_entries(self.path.read_text()))
        if all(e.seed is not None for e in entries):
            return
        seeds: dict[tuple[str, str], set[int]] = {}
        for result in _finished(tree):
            seeds.setdefault((result.method, result.config), set()).add(result.seed)
        lines = []
        for e in entries:
            found = sorted(seeds.get((e.method, e.config), ())) if e.seed is None else []
            lines += [Request(e.benchmark, e.method, e.config, e.source, seed) for seed in found] or [e]
        atomic_write_text(self.path, "".join(json.dumps(asdict(line)) + "\n" for line in dict.fromkeys(lines)))

    def rename(self, renamed: dict[tuple[str, str], tuple[str, str]]) -> None:
        """Rewrite the log after a migration renamed configurations: (method, config) -> new."""
        if not renamed or not self.path.is_file():
            return
        lines = []
        for entry in _entries(self.path.read_text()):
            method, config = renamed.get((entry.method, entry.config), (entry.method, entry.config))
            lines.append(json.dumps(asdict(Request(entry.benchmark, method, config, entry.source, entry.seed))) + "\n")
        atomic_write_text(self.path, "".join(lines))

    def requested(self, source: str | None = None) -> set[tuple[str, str, int | None]] | None:
        """Every requested (method, config, seed), or those of one `source` (seed None: every seed
        of the configuration); None when the folder has no
        log, and then every run counts as requested (a config digest names the benchmark too). An
        unreadable log raises UnreadableFileError, a `source` that made no request a ConfigError."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            if source is not None:
                raise ConfigError(f"{self.path} does not exist: no run or sweep logged its requests there, so "
                                  f"none came from {source!r}") from None
            return None
        except (OSError, UnicodeDecodeError) as err:
            raise UnreadableFileError(self.path, f"{type(err).__name__}: {err}",
                                      "every run counts as requested") from err
        entries = list(_entries(text))
        if source is not None and all(e.source != source for e in entries):
            known = ", ".join(repr(s) for s in dict.fromkeys(e.source for e in entries)) or "none"
            raise ConfigError(f"{self.path}: no request came from {source!r}; the sources logged are {known}")
        return {(e.method, e.config, e.seed) for e in entries if source is None or e.source == source}


def is_requested(requested: set[tuple[str, str, int | None]] | None, method: str, config: str, seed: int) -> bool:
    """Whether a run of (method, config, seed) was asked for (None: no log, every run was)."""
    return requested is None or (method, config, None) in requested or (method, config, seed) in requested


def _finished(tree: ResultsTree) -> Iterator[RunResult]:
    for folder in tree.runs():
        seen = folder.inspect()
        if seen.result is not None:
            yield seen.result


def _entries(text: str) -> Iterator[Request]:
    """The log's requests; a torn line (a killed launcher's last) is skipped."""
    for line in text.splitlines():
        try:
            yield Request(**json.loads(line))
        except (ValueError, TypeError):
            continue
