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
seeds; a line without one (written before seeds were logged) requests every seed of its
configuration, unless other lines name the configuration's seeds: then only those count. Several requests may share a folder: the report counts all of them, or those of
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
        existing = []
        for folder in tree.runs():
            seen = folder.inspect()
            if seen.result is not None:
                existing.append(Request(seen.result.benchmark, seen.result.method, seen.result.config, BEFORE_LOG))
        self.append(existing)

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
        chosen = {(e.method, e.config, e.seed) for e in entries if source is None or e.source == source}
        seeded = {(method, config) for method, config, seed in chosen if seed is not None}
        # once a configuration's requests name seeds, only those count: an older line without one
        # (which meant every seed) must not take in the seeds other methods built on since
        return {(m, c, s) for m, c, s in chosen if s is not None or (m, c) not in seeded}


def is_requested(requested: set[tuple[str, str, int | None]] | None, method: str, config: str, seed: int) -> bool:
    """Whether a run of (method, config, seed) was asked for (None: no log, every run was)."""
    return requested is None or (method, config, None) in requested or (method, config, seed) in requested


def _entries(text: str) -> Iterator[Request]:
    """The log's requests; a torn line (a killed launcher's last) is skipped."""
    for line in text.splitlines():
        try:
            yield Request(**json.loads(line))
        except (ValueError, TypeError):
            continue
