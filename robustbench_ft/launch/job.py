"""What a launched job runs: a pack of planned runs, one after another, in one process (or one
process per rank of a multi-process job).

`RunJob` is a submitit Checkpointable: when Slurm preempts the job or its time runs out, submitit
calls `checkpoint()`, which requeues the very same call. Nothing needs pickling but the specs:
each run resumes from the resume.pt in its own folder (train.Trainer), and a finished run is
skipped, so a requeued pack picks up where it stopped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import submitit
import torch

from ..core.log import log
from ..core.spec import RunSpec
from ..engine.distributed import SINGLE, DistEnv, init, read_env
from ..planning.plan import dependencies
from ..records.layout import ResultsTree
from ..records.lock import RunBusyError


class RunsFailed(RuntimeError):
    """Some runs of a job failed; the job fails too, so the scheduler shows it (the runs' own
    error.json files say why)."""


def run_pack(specs: list[RunSpec], results_root: Path, dist: DistEnv = SINGLE,
             raise_on_failure: bool = True) -> dict[str, str]:
    """Run `specs` in order: digest -> "done" or why not. A run whose dependency is not done is
    skipped with that reason (recorded in its folder), the rest still run."""
    from ..engine.execute import RunFailed, execute  # the engine, imported where a job runs: not to submit one
    outcomes: dict[str, str] = {}
    tree = ResultsTree(results_root)
    for index, spec in enumerate(specs, 1):
        key = spec.digest()
        if tree.of(spec).is_done():  # finished already (a requeued pack, a relaunch): nothing to do or skip
            outcomes[key] = "done"
            continue
        missing = [d.method for d in dependencies(spec) if not tree.of(d).is_done()]
        if missing:
            outcomes[key] = f"skipped: dependency {missing} has no result"
            if dist.is_main:
                _record_skip(results_root, spec, outcomes[key])
                log(f"[{index}/{len(specs)}] {spec.method} seed {spec.seed}: {outcomes[key]}")
            continue
        if dist.is_main:
            log(f"[{index}/{len(specs)}] {spec.method} seed {spec.seed} ({key})")
        try:
            execute(spec, results_root, dist.device(), dist)
            outcomes[key] = "done"
        except RunFailed as err:
            outcomes[key] = str(err)
            log(str(err))
            if dist.active:  # the other ranks cannot tell; stop the job rather than hang them
                raise
    failed = {k: v for k, v in outcomes.items() if v != "done"}
    if failed and raise_on_failure:
        raise RunsFailed(f"{len(failed)} of {len(specs)} runs did not finish: " +
                         "; ".join(f"{k}: {v}" for k, v in failed.items()))
    return outcomes


def _record_skip(root: Path, spec: RunSpec, reason: str) -> None:
    folder = ResultsTree(root).of(spec)
    try:
        with folder.lock():
            if folder.is_done():  # finished before its dependency lost its result: it stays as it is
                return
            folder.start(spec.to_record())
            folder.write_error(reason, "")
    except RunBusyError:
        pass  # someone is computing it after all; their record wins


class RunJob(submitit.helpers.Checkpointable):
    """The callable a submitit job runs: `RunJob()(spec_dicts, results_root)`.

    Specs travel as plain mappings, so a job pickled by one version of the code reads the specs
    the same way later. Every task of a multi-process job calls it; rank and world size come from
    the scheduler (distributed.read_env).
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads  # CPU threads per process when the scheduler does not say

    def __call__(self, specs: list[dict[str, Any]], results_root: str) -> dict[str, str]:
        threads = os.environ.get("SLURM_CPUS_PER_TASK") or self.threads
        if threads:
            torch.set_num_threads(int(threads))  # jobs side by side must not oversubscribe the cores
        dist = read_env()
        init(dist)
        return run_pack([RunSpec.from_dict(s) for s in specs], Path(results_root), dist)
