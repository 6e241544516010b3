"""The on-disk record of a run: results/<benchmark>/<method>/<hash>/.

    spec.yaml       the RunSpec with its spec_version (written first)
    metrics.jsonl   one JSON line per training step
    resume.pt       the trainer's state while a run trains (train.Trainer), removed when it is done
    checkpoint.pt   the selected weights as a state_dict (methods that train)
    result.json     the final record, written atomically: its presence means "done"
    error.json      why the last attempt failed (removed when a later attempt succeeds)

Nothing here imports torch models or the trainer except to read/write state_dicts, and a run only
ever writes inside its own folder, so a failing run cannot damage another's results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError, benchmark_key
from .spec import RunSpec
from .util import atomic_write, atomic_write_text

RESULT_SCHEMA = 2  # 2: nested hyper-parameters, `config` and `identity` (docs/records.md)


class MissingRunError(FileNotFoundError):
    """A run another run depends on has not finished."""


def run_dir(root: Path, spec: RunSpec) -> Path:
    return Path(root) / benchmark_key(spec.benchmark) / spec.method / spec.digest()


def is_done(root: Path, spec: RunSpec) -> bool:
    return (run_dir(root, spec) / "result.json").is_file()


def start(root: Path, spec: RunSpec) -> Path:
    """The run folder for a new attempt: spec written; a run with a resume state keeps its log,
    any other starts clean (stale log and weights removed)."""
    folder = run_dir(root, spec)
    folder.mkdir(parents=True, exist_ok=True)
    stale = ["error.json"] if (folder / RESUME).is_file() else ["metrics.jsonl", "error.json", "checkpoint.pt"]
    for name in stale:
        (folder / name).unlink(missing_ok=True)
    atomic_write_text(folder / "spec.yaml", spec.to_yaml())
    return folder


class MetricsLog:
    """Appends one JSON object per line and flushes, so a crash loses at most one line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, row: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def truncate(self, lines: int) -> None:
        """Keep the first `lines` lines (those a resume state accounts for); drop the rest."""
        kept = self.path.read_text().splitlines(keepends=True)[:lines] if self.path.is_file() else []
        atomic_write_text(self.path, "".join(kept))


RESUME = "resume.pt"


def save_resume(folder: Path, state: dict[str, Any]) -> None:
    atomic_write(folder / RESUME, lambda f: torch.save(state, f))


def load_resume(folder: Path) -> dict[str, Any] | None:
    """The trainer state of an interrupted attempt, or None; one that cannot be read is an error."""
    path = folder / RESUME
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch.load fails in many ways on a file it cannot read
        raise ConfigError(f"cannot resume from {path} ({type(err).__name__}: {err}); delete it to "
                          f"train the run from step 0") from err


def finish(folder: Path) -> None:
    """A finished run keeps its selected weights only: the resume state goes."""
    (folder / RESUME).unlink(missing_ok=True)


def save_checkpoint(folder: Path, state: dict[str, torch.Tensor]) -> None:
    atomic_write(folder / "checkpoint.pt", lambda f: torch.save({k: v.detach().cpu() for k, v in state.items()}, f))


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
