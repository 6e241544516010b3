"""`--launcher slurm`: a plan's runs as Slurm job arrays, submitted through submitit.

The whole sweep is submitted at once. The runs of the first wave, which need nothing, form one
array; a run of a later wave waits for the jobs of the very runs it needs and for nothing else
(`--dependency=afterany:<job>_<task>:...`), so one slow fine-tuning run holds back its own WiSE
curve, not every WiSE curve of the sweep. Runs that need the same jobs share an array (soups of
the same ingredients, `--runs-per-job` packs); the others get an array of one. `afterany`, not
`afterok`: a failed LP run must not leave its LP-FT pending forever; the dependent run starts,
finds no result to build on, and records that it was skipped (launch.job.run_pack), as the inline
launcher does. Jobs are Checkpointable, so a preempted or timed-out job requeues itself and its
runs resume from their folders.
"""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

import submitit

from ..core.log import log
from ..core.spec import RunSpec
from ..planning.plan import Plan
from .base import ACTIVE_STATES, LAUNCHERS, Launcher, packs
from .job import RunJob
from .ledger import Ledger, Submission, logs_dir


@LAUNCHERS.register("slurm")
class SlurmLauncher(Launcher):
    name = "slurm"
    blocks = False

    def parameters(self) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = {"timeout_min": o.time, "tasks_per_node": o.tasks, "nodes": 1,
                                  "slurm_additional_parameters": dict(o.sbatch)}
        optional = {"gpus_per_node": o.gpus_per_job or None, "cpus_per_task": o.cpus_per_task,
                    "mem_gb": o.mem_gb, "slurm_partition": o.partition, "slurm_account": o.account,
                    "slurm_qos": o.qos, "slurm_constraint": o.constraint,
                    "slurm_array_parallelism": o.array_parallelism}
        params.update({k: v for k, v in optional.items() if v is not None})
        return params

    def submit(self, plan: Plan, queued: dict[str, str], ledger: Ledger) -> list[Submission]:
        executor = submitit.AutoExecutor(folder=logs_dir(self.results_root), cluster="slurm",
                                         slurm_max_num_timeout=self.options.max_requeues)
        job_of, submissions = dict(queued), []
        for index, wave in enumerate(plan.waves()):
            by_needs: dict[tuple[str, ...], list[RunSpec]] = {}  # the jobs a run waits for -> its runs
            for spec in wave:
                by_needs.setdefault(tuple(sorted({job_of[n] for n in plan.needs(spec) if n in job_of})), []).append(spec)
            jobs = 0
            for after, specs in by_needs.items():
                params = self.parameters()
                if after:
                    params["slurm_additional_parameters"] = {**params["slurm_additional_parameters"],
                                                             "dependency": "afterany:" + ":".join(after)}
                executor.update_parameters(name=f"robustbench-ft-wave{index}", **params)
                groups = packs(specs, self.options.runs_per_job)
                array = executor.map_array(RunJob(), [[s.to_dict() for s in g] for g in groups],
                                           [str(self.results_root)] * len(groups))
                for group, job in zip(groups, array):
                    entries = [Submission.of(s, self.name, str(job.job_id), str(job.paths.stdout)) for s in group]
                    ledger.append(entries)
                    submissions += entries
                    job_of.update({s.digest(): str(job.job_id) for s in group})
                jobs += len(groups)
            log(f"wave {index}: {len(wave)} runs in {jobs} jobs, {len(by_needs)} arrays"
                + (", each run waiting for its own dependencies only" if index else ""))
        return submissions

    def wait(self, submissions: list[Submission], poll_seconds: float = 5.0) -> None:
        jobs = sorted({s.job for s in submissions})
        last = ""
        while True:
            states = self.states(jobs)
            active = [j for j in jobs if states.get(j) in ACTIVE_STATES]
            summary = f"{len(jobs) - len(active)} of {len(jobs)} jobs ended"
            if summary != last:
                log(summary)
                last = summary
            if not active:
                return
            time.sleep(poll_seconds)

    @classmethod
    def states(cls, jobs: list[str]) -> dict[str, str]:
        """sacct's state of every job (array tasks one by one), then squeue's for the live ones
        (sacct lags squeue by a second or two)."""
        arrays = sorted({j.split("_")[0] for j in jobs if j})
        if not arrays:
            return {}
        states: dict[str, str] = {}
        accounting = _run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(arrays)])
        for line in accounting.splitlines():
            job, _, state = line.partition("|")
            for task in expand_array_ids(job.strip()):
                states[task] = state.split()[0] if state.split() else "UNKNOWN"
        queue = _run(["squeue", "-h", "-r", "-o", "%i|%T"])  # -j fails whole on one unknown id
        for line in queue.splitlines():
            job, _, state = line.partition("|")
            if job.split("_")[0] in arrays:
                states[job.strip()] = state.strip()
        return states


def expand_array_ids(job: str) -> list[str]:
    """'12_[0-2,5%2]' -> ['12_0', '12_1', '12_2', '12_5']; any other id as it is."""
    match = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job)
    if not match:
        return [job]
    base, ranges = match.group(1), match.group(2).split("%")[0]
    ids: list[str] = []
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        ids += [f"{base}_{i}" for i in range(int(low), int(high or low) + 1)]
    return ids


def _run(command: list[str]) -> str:
    """A Slurm query's output; empty when Slurm does not answer (the caller shows no state)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as err:
        log(f"{command[0]} failed: {err}")
        return ""
