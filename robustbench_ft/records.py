"""The on-disk record of a run: results/<benchmark>/<method>/<hash>/.

    spec.yaml       the RunSpec with its spec_version (written first)
    metrics.jsonl   one JSON line per training step
    checkpoint.pt   the selected weights as a state_dict (methods that train)
    result.json     the final record, written atomically: its presence means "done"
    error.json      why the last attempt failed (removed when a later attempt succeeds)

Nothing here imports torch models or the trainer except to read/write state_dicts, and a run only
ever writes inside its own folder, so a failing run cannot damage another's results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .config import benchmark_key
from .spec import RunSpec
from .util import atomic_write_text

RESULT_SCHEMA = 2  # 2: nested hyper-parameters, `config` and `identity` (docs/records.md)


class MissingRunError(FileNotFoundError):
    """A run another run depends on has not finished."""


def run_dir(root: Path, spec: RunSpec) -> Path:
    return Path(root) / benchmark_key(spec.benchmark) / spec.method / spec.digest()


def is_done(root: Path, spec: RunSpec) -> bool:
    return (run_dir(root, spec) / "result.json").is_file()


def start(root: Path, spec: RunSpec) -> Path:
    """Create the run folder afresh for a new attempt (spec written, stale logs cleared)."""
    folder = run_dir(root, spec)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl", "error.json", "checkpoint.pt"):
        (folder / stale).unlink(missing_ok=True)
    atomic_write_text(folder / "spec.yaml", spec.to_yaml())
    return folder


class MetricsLog:
    """Appends one JSON object per line and flushes, so a crash loses at most one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, row: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")


def save_checkpoint(folder: Path, state: dict[str, torch.Tensor]) -> None:
    tmp = folder / f".checkpoint.{os.getpid()}.tmp"
    torch.save({k: v.detach().cpu() for k, v in state.items()}, tmp)
    os.replace(tmp, folder / "checkpoint.pt")


def load_checkpoint(root: Path, spec: RunSpec, map_location: Any = "cpu") -> dict[str, torch.Tensor]:
    folder = run_dir(root, spec)
    path = folder / "checkpoint.pt"
    if not is_done(root, spec) or not path.is_file():
        raise MissingRunError(f"run {spec.method} (seed {spec.seed}) has no finished checkpoint at "
                              f"{path}; run it first (the planner orders dependencies)")
    return torch.load(path, map_location=map_location, weights_only=True)


def write_result(folder: Path, result: dict[str, Any]) -> None:
    atomic_write_text(folder / "result.json", json.dumps({"schema": RESULT_SCHEMA, **result}, indent=1) + "\n")
    (folder / "error.json").unlink(missing_ok=True)


def write_error(folder: Path, reason: str, details: str) -> None:
    atomic_write_text(folder / "error.json", json.dumps({"reason": reason, "details": details}, indent=1) + "\n")


def read_result(root: Path, spec: RunSpec) -> dict[str, Any]:
    return json.loads((run_dir(root, spec) / "result.json").read_text())
