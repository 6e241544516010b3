"""Where every run of a sweep stands: its folder joined with its last submission and the
scheduler's state of that job (`robustbench-ft status`).

    done           result.json is there
    pending        its job waits in the scheduler (queued, or requeued after a preemption)
    running        its job runs (or, without a scheduler, a live process holds its lock)
    failed         error.json says why, or the scheduler ended the job without a result
    not submitted  planned, never launched
    interrupted    launched inline or locally, neither finished nor failing: the launcher died
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..records import legacy as records
from ..core.config import benchmark_key
from ..core.spec import RunSpec
from .base import ACTIVE_STATES, LAUNCHERS
from .ledger import Ledger, Submission

STATES = ("done", "running", "pending", "failed", "interrupted", "not submitted")
RUNNING_STATES = {"RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT"}


@dataclass(frozen=True)
class RunStatus:
    run: str
    benchmark: str
    method: str
    seed: int | None
    state: str
    job: str = ""
    scheduler: str = ""     # the scheduler's word for the job (FAILED, TIMEOUT, ...)
    reason: str = ""
    log: str = ""


def scheduler_states(submissions: list[Submission]) -> dict[str, str]:
    """job id -> state, asking each launcher that has a scheduler about its own jobs."""
    states: dict[str, str] = {}
    for launcher in {s.launcher for s in submissions}:
        jobs = sorted({s.job for s in submissions if s.launcher == launcher and s.job})
        if launcher in LAUNCHERS and jobs:
            states.update(LAUNCHERS.get(launcher).states(jobs))
    return states


def queued_runs(results_root: Path, specs: list[RunSpec]) -> dict[str, str]:
    """Runs of `specs` whose last job is still queued or running: run digest -> job id."""
    latest = Ledger(results_root).latest()
    subs = [latest[s.digest()] for s in specs if s.digest() in latest]
    states = scheduler_states(subs)
    return {s.run: s.job for s in subs if states.get(s.job) in ACTIVE_STATES}


def run_statuses(results_root: Path, specs: list[RunSpec] | None = None) -> list[RunStatus]:
    """One status per run: those of `specs` (a sweep), or every run the folder and ledger know."""
    root = Path(results_root)
    latest = Ledger(root).latest()
    if specs is not None:
        runs = [(s.digest(), benchmark_key(s.benchmark), s.method, s.seed) for s in specs]
    else:
        runs = _known_runs(root, latest)
    states = scheduler_states([latest[r[0]] for r in runs if r[0] in latest])
    return [_status(root, run, latest.get(run[0]), states) for run in runs]


def _known_runs(root: Path, latest: dict[str, Submission]) -> list[tuple[str, str, str, int | None]]:
    runs: dict[str, tuple[str, str, str, int | None]] = {}
    for spec_file in sorted(root.glob("*/*/*/spec.yaml")):
        folder = spec_file.parent
        runs[folder.name] = (folder.name, folder.parent.parent.name, folder.parent.name, _seed(spec_file))
    for sub in latest.values():
        runs.setdefault(sub.run, (sub.run, sub.benchmark, sub.method, sub.seed))
    return sorted(runs.values(), key=lambda r: (r[1], r[2], r[3] if r[3] is not None else -1, r[0]))


def _seed(spec_file: Path) -> int | None:
    try:
        data = yaml.safe_load(spec_file.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data.get("seed") if isinstance(data, dict) else None


def _status(root: Path, run: tuple[str, str, str, int | None], sub: Submission | None,
            states: dict[str, str]) -> RunStatus:
    digest, benchmark, method, seed = run
    folder = root / benchmark / method / digest
    job = sub.job if sub else ""
    scheduler = states.get(job, "") if job else ""
    log = (sub.log or "") if sub else ""
    base = dict(run=digest, benchmark=benchmark, method=method, seed=seed, job=job, scheduler=scheduler, log=log)
    if (folder / "result.json").is_file():
        return RunStatus(state="done", **base)
    if scheduler in ACTIVE_STATES:
        return RunStatus(state="running" if scheduler in RUNNING_STATES else "pending", **base)
    if (folder / "error.json").is_file():
        return RunStatus(state="failed", reason=_error_reason(folder / "error.json"), **base)
    if scheduler and scheduler != "COMPLETED":
        return RunStatus(state="failed", reason=f"job {job} ended {scheduler} without a result", **base)
    if records.lock_holder(folder) is not None:
        return RunStatus(state="running", **base)
    if sub is None:
        return RunStatus(state="not submitted", **base)
    if scheduler == "COMPLETED":
        return RunStatus(state="failed", reason=f"job {job} completed without a result", **base)
    return RunStatus(state="interrupted", reason=f"launched {sub.launcher}, no result and no error", **base)


def _error_reason(path: Path) -> str:
    try:
        return str(json.loads(path.read_text()).get("reason", "")).splitlines()[0][:300]
    except (OSError, ValueError, IndexError):
        return f"unreadable {path.name}"


def format_statuses(statuses: list[RunStatus]) -> str:
    """A fixed-width table, one line per run, then the totals."""
    lines = [f"{'state':13s} {'benchmark':12s} {'method':14s} {'seed':>4s}  {'run':12s}  {'job':12s} detail"]
    for s in statuses:
        detail = s.scheduler if s.state in ("pending", "running") else ""
        if s.state in ("failed", "interrupted"):
            detail = s.reason + (f" (log: {s.log})" if s.log else "")
        seed = "" if s.seed is None else str(s.seed)
        lines.append(f"{s.state:13s} {s.benchmark:12s} {s.method:14s} {seed:>4s}  {s.run:12s}  {s.job:12s} {detail}".rstrip())
    counts = {state: sum(s.state == state for s in statuses) for state in STATES}
    lines.append("total: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n) + f" ({len(statuses)} runs)")
    return "\n".join(lines)
