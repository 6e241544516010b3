"""Run a planned list of specs inline, one after another, and keep going past failures.

A run whose dependency failed is skipped with the reason; every other run still completes, so one
bad configuration never costs the rest of a grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .execute import RunFailed, execute
from .methods.base import build_method
from .spec import RunSpec
from .util import log


@dataclass
class GridOutcome:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # digest -> result
    failures: dict[str, str] = field(default_factory=dict)            # digest -> reason


def run_inline(specs: list[RunSpec], results_root: Path, device: torch.device | None = None
               ) -> GridOutcome:
    outcome = GridOutcome()
    for index, spec in enumerate(specs, 1):
        key = spec.digest()
        failed_deps = [d.method for d in build_method(spec).dependencies()
                       if d.digest() in outcome.failures]
        if failed_deps:
            outcome.failures[key] = f"skipped: dependency {failed_deps} failed"
            log(f"[{index}/{len(specs)}] {spec.method} seed {spec.seed}: {outcome.failures[key]}")
            continue
        log(f"[{index}/{len(specs)}] {spec.method} seed {spec.seed} ({key})")
        try:
            outcome.results[key] = execute(spec, results_root, device)
        except RunFailed as err:
            outcome.failures[key] = str(err)
            log(str(err))
    return outcome
