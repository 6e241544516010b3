"""Launching a plan's runs: inline, on local worker processes, or as Slurm job arrays.

    options.py  LaunchOptions: the launcher and its resources, from flags or a YAML block
    base.py     the Launcher interface, its registry, and `launch` (skips done and queued runs)
    session.py  what `run` and `sweep` do with a plan: migrate older folders, then launch
    job.py      RunJob: what a job runs (a pack of runs; Checkpointable, so it requeues)
    ledger.py   which job got which run (results/_launch/submissions.jsonl)
    status.py   each run's state, joined with the scheduler's
    inline.py, local.py, slurm.py   the launchers, each registering itself (catalogue.py)

The names below are loaded on first use: reading LaunchOptions (the CLI builds its flags from it)
does not import the launchers, the engine and torch behind them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"LAUNCHERS": "base", "Launched": "base", "Launcher": "base", "launch": "base",
            "LaunchOptions": "options"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _EXPORTS[name] == "base":
        importlib.import_module(".catalogue", __name__)  # the launchers register themselves
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
