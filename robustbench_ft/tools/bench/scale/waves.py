"""Waves on a real Slurm: a fast and a slow FT run, each with its WiSE curve, as one sweep. Slurm's
accounting says when each job started and ended: a dependent run waits for its own dependency
only (launch/slurm.py), so the fast run's WiSE curve starts while the slow run still trains."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tempfile
from pathlib import Path


def _times(job: str) -> tuple[float, float]:
    line = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "Start,End", "-j", job],
                          capture_output=True, text=True, check=True).stdout.split()[0]
    start, end = (datetime.datetime.fromisoformat(t).timestamp() for t in line.split("|"))
    return start, end


def rows() -> tuple[list, list[str]]:
    from ....launch import LaunchOptions
    from ....launch.ledger import Ledger
    from ....launch.session import launch_plan
    from ....planning.sweep import load_sweep
    from .. import Row
    if not shutil.which("sinfo") or subprocess.run(["sinfo", "-h"], capture_output=True).returncode != 0:
        return [], ["waves on Slurm: no Slurm answers here (`sudo ci/slurm.sh start` provides one)"]
    with tempfile.TemporaryDirectory() as scratch:
        sweep, results = Path(scratch) / "waves.yaml", Path(scratch) / "results"
        sweep.write_text("benchmarks: [embedded]\nmethods: [ft+wise]\n"
                         "settings: {eval_every: 50, batch_size: 32, wise.alphas: [0, 1]}\n"
                         "grid: {steps: [20, 1500]}\nlauncher: {name: slurm, cpus_per_task: 1, time: 30}\n")
        declared = load_sweep(sweep)
        plan = declared.plan()
        _, launched = launch_plan(plan, LaunchOptions().updated(declared.launcher, str(sweep)), results)
        launched.launcher.wait(launched.submitted)
        latest = Ledger(results).latest()
        job = {(s.method, s.steps): latest[s.digest()].job for s in plan.specs}
        fast_end, slow_end = _times(job["ft", 20])[1], _times(job["ft", 1500])[1]
        wise_start = _times(job["ft+wise", 20])[0]
    section = "Slurm waves: FT of 20 and of 1,500 steps, a WiSE curve on each"
    return [Row(section, "the fast run's WiSE curve started after its own FT ended (s)", f"{wise_start - fast_end:.0f}"),
            Row(section, "... and before the slow FT ended (s; a wave-wide dependency waited for it)",
                f"{slow_end - wise_start:.0f}")], []
