"""The on-disk record of a run: results/<benchmark>/<method>/<hash>/.

    spec.yaml       the RunSpec with its spec_version (written first)
    metrics.jsonl   one JSON line per training step
    resume.pt       the trainer's state while a run trains (train.Trainer), removed when it is done
    checkpoint.pt   the selected weights as a state_dict (methods that train)
    result.json     the final record, written atomically: its presence means "done"
    error.json      why the last attempt failed (removed when a later attempt succeeds)
    run.lock        who is computing the run now (host, pid), so two processes never both train it

Nothing here imports torch models or the trainer except to read/write state_dicts, and a run only
ever writes inside its own folder, so a failing run cannot damage another's results.
"""

from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from ..core.config import ConfigError, benchmark_key
from ..core.spec import RunSpec
from ..core.atomic import atomic_write, atomic_write_text

RESULT_SCHEMA = 2  # 2: nested hyper-parameters, `config` and `identity` (docs/records.md)


LOCK = "run.lock"
RESUME = "resume.pt"
LOCK_STALE_SECONDS = 1800  # a lock of another host not refreshed for this long has a dead owner


class RunBusyError(RuntimeError):
    """Another live process is computing this run."""


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the run's lock while computing it; a lock whose owner is dead is taken over.

    The owner is dead when it ran on this host and its pid is gone, or, on another host, when the
    lock was not refreshed (`refresh`, at every resume save) for LOCK_STALE_SECONDS.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            held = _lock_owner(path)
            if not _stale(path, held):
                raise RunBusyError(f"{folder} is being computed by pid {held.get('pid')} on {held.get('host')}; "
                                   f"skipped here (remove {path} if no such process exists)") from None
            aside = path.with_name(f".{LOCK}.stale.{os.getpid()}")
            try:
                os.replace(path, aside)  # of two takers one wins the rename; both then race for O_EXCL
            except FileNotFoundError:
                pass
            aside.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(owner))
        break
    try:
        yield
    finally:
        if _lock_owner(path).get("pid") == owner["pid"]:
            path.unlink(missing_ok=True)


def lock_holder(folder: Path) -> dict[str, Any] | None:
    """Who computes the run now ({host, pid, since}), or None when no live process holds its lock."""
    path = Path(folder) / LOCK
    if not path.is_file():
        return None
    held = _lock_owner(path)
    return None if _stale(path, held) else held


def refresh(folder: Path) -> None:
    """Tell other hosts the lock's owner is alive."""
    (folder / LOCK).touch(exist_ok=True)


def _lock_owner(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # being written, or gone: judged by its age alone


def _stale(path: Path, held: dict[str, Any]) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return True
    if held.get("host") == socket.gethostname() and isinstance(held.get("pid"), int):
        try:
            os.kill(held["pid"], 0)  # PermissionError: alive, another user's
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    return age > LOCK_STALE_SECONDS


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



def save_resume(folder: Path, state: dict[str, Any]) -> None:
    atomic_write(folder / RESUME, lambda f: torch.save(state, f))
    refresh(folder)


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
