"""Launching a plan's runs: inline, on local worker processes, or as Slurm job arrays.

    options.py  LaunchOptions: the launcher and its resources, from flags or a YAML block
    base.py     the Launcher interface, its registry, and `launch` (skips done and queued runs)
    job.py      RunJob: what a job runs (a pack of runs; Checkpointable, so it requeues)
    ledger.py   which job got which run (results/_launch/submissions.jsonl)
    status.py   each run's state, joined with the scheduler's
    inline.py, local.py, slurm.py   the launchers, each registering itself
"""

from . import inline, local, slurm  # noqa: F401  (register the launchers)
from .base import LAUNCHERS, Launched, Launcher, launch
from .options import LaunchOptions

__all__ = ["LAUNCHERS", "Launched", "Launcher", "LaunchOptions", "launch"]
