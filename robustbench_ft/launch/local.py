"""`--launcher local`: submitit's local executor, `workers` jobs at once on this machine.

Each job is a child process (or `tasks_per_job` processes, a DDP job on one machine). Local jobs
cannot outlive this process's supervision, so the launcher runs the waves in order and returns
when the last job ends.
"""

from __future__ import annotations

import os
import time

import submitit

from ..planning.plan import Plan
from .base import LAUNCHERS, Launcher, packs
from .job import RunJob
from .ledger import Ledger, Submission, logs_dir

LOCAL_TIMEOUT_MIN = 60 * 24 * 30


@LAUNCHERS.register("local")
class LocalLauncher(Launcher):
    name = "local"

    def executor(self) -> submitit.AutoExecutor:
        executor = submitit.AutoExecutor(folder=logs_dir(self.results_root), cluster="local")
        # No time limit: this machine is not shared through a queue, and runs resume anyway.
        executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN, tasks_per_node=self.options.tasks,
                                   gpus_per_node=self.options.gpus_per_job)
        return executor

    def threads(self) -> int:
        """This machine's cores shared by the jobs that run at once."""
        return max(1, (os.cpu_count() or 1) // (self.options.workers * self.options.tasks))

    def submit(self, plan: Plan, queued: dict[str, str], ledger: Ledger) -> list[Submission]:
        executor, submissions = self.executor(), []
        for wave in plan.waves():
            waiting = packs(wave, self.options.runs_per_job)
            running: list[submitit.Job] = []
            while waiting or running:
                while waiting and len(running) < self.options.workers:
                    pack = waiting.pop(0)
                    job = executor.submit(RunJob(self.threads()), [s.to_dict() for s in pack], str(self.results_root))
                    entries = [Submission.of(s, self.name, str(job.job_id), str(job.paths.stdout)) for s in pack]
                    ledger.append(entries)
                    submissions += entries
                    running.append(job)
                time.sleep(0.2)
                running = [job for job in running if not job.done()]
        return submissions
