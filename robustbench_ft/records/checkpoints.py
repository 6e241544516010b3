"""A run folder's torch files: the selected weights (checkpoint.pt) and the resume state (resume.pt).

Both are plain tensors and containers, saved atomically and loaded with `weights_only=True`
(no pickled modules). This module is the records layer's only torch import: layout.py and the
report stay torch-free.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core.atomic import atomic_write
from .layout import RunFolder, UnreadableFileError


class MissingRunError(FileNotFoundError):
    """A run another run depends on has not finished."""


def save_checkpoint(folder: RunFolder, state: dict[str, torch.Tensor]) -> None:
    atomic_write(folder.checkpoint_file,
                 lambda f: torch.save({k: v.detach().cpu() for k, v in state.items()}, f))


def load_checkpoint(folder: RunFolder, map_location: Any = "cpu") -> dict[str, torch.Tensor]:
    """The selected weights of a finished run; MissingRunError when it has none."""
    path = folder.checkpoint_file
    if not folder.is_done() or not path.is_file():
        raise MissingRunError(f"run {folder.method} at {folder.path} has no finished checkpoint at {path}; "
                              f"run it first (the planner orders dependencies)")
    return _load(path, map_location, "")


def save_resume(folder: RunFolder, state: dict[str, Any]) -> None:
    atomic_write(folder.resume_file, lambda f: torch.save(state, f))


def load_resume(folder: RunFolder) -> dict[str, Any] | None:
    """The trainer state of an interrupted attempt, or None; one that cannot be read is an error
    naming the file (the run fails alone, and says how to start it over)."""
    if not folder.has_resume_state():
        return None
    return _load(folder.resume_file, "cpu", "delete it to train the run from step 0")


def _load(path, map_location: Any, advice: str) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch.load fails in many ways on a file it cannot read
        raise UnreadableFileError(path, _why(err), advice) from err


def _why(err: Exception) -> str:
    """The line of torch.load's message that says what is wrong (its unpickler's words, not its
    advice to load with weights_only=False, which would run arbitrary code)."""
    text = str(err)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {line[:160]}"
