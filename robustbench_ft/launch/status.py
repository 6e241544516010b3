"""Where every run of a sweep stands: its folder joined with its last submission and the
scheduler's state of that job (`robustbench-ft status`).

    done           result.json holds a readable record
    corrupt        result.json is there but cannot be read (the next launch computes the run again)
    pending        its job waits in the scheduler (queued, or requeued after a preemption)
    running        its job runs (or, without a scheduler, a live process holds its lock)
    failed         error.json says why, or the scheduler ended the job without a result
    not submitted  planned, never launched
    interrupted    launched inline or locally, neither finished nor failing: the launcher died
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.spec import RunSpec
from ..records.layout import ResultsTree, RunFolder, RunState, UnreadableFileError
from . import catalogue  # noqa: F401  (the launchers register themselves: their schedulers' states)
from .base import ACTIVE_STATES, LAUNCHERS
from .ledger import Ledger, Submission

STATES = ("done", "running", "pending", "failed", "corrupt", "interrupted", "not submitted")
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
    problems: tuple[str, ...] = ()  # unreadable files of the run's folder, one line each


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
    tree = ResultsTree(results_root)
    latest = Ledger(tree.root).latest()
    if specs is not None:
        runs = [(tree.of(s), s.seed, ()) for s in specs]
    else:
        runs = _known_runs(tree, latest)
    states = scheduler_states([latest[f.digest] for f, _, _ in runs if f.digest in latest])
    return [_status(folder, seed, problems, latest.get(folder.digest), states) for folder, seed, problems in runs]


def _known_runs(tree: ResultsTree, latest: dict[str, Submission]) -> list[tuple[RunFolder, int | None, tuple]]:
    """Every run folder and every run the ledger names, with its seed (from spec.yaml when the
    ledger does not say) and the unreadable spec.yaml met on the way."""
    runs: dict[str, tuple[RunFolder, int | None, tuple]] = {}
    for folder in tree.runs():
        sub = latest.get(folder.digest)
        seed, problems = (sub.seed, ()) if sub else _seed(folder)
        runs[folder.digest] = (folder, seed, problems)
    for sub in latest.values():
        runs.setdefault(sub.run, (tree.run(sub.benchmark, sub.method, sub.run), sub.seed, ()))
    return sorted(runs.values(), key=lambda r: (r[0].benchmark, r[0].method, r[1] if r[1] is not None else -1,
                                                r[0].digest))


def _seed(folder: RunFolder) -> tuple[int | None, tuple[str, ...]]:
    try:
        seed = folder.read_spec().get("seed")
    except FileNotFoundError:
        return None, ()
    except UnreadableFileError as err:
        return None, (str(err),)
    return (seed if isinstance(seed, int) else None), ()


def _status(folder: RunFolder, seed: int | None, problems: tuple[str, ...], sub: Submission | None,
            states: dict[str, str]) -> RunStatus:
    job = sub.job if sub else ""
    scheduler = states.get(job, "") if job else ""
    seen = folder.inspect()
    base = dict(run=folder.digest, benchmark=folder.benchmark, method=folder.method, seed=seed, job=job,
                scheduler=scheduler, log=(sub.log or "") if sub else "", problems=problems + seen.problems)
    if seen.state in (RunState.DONE, RunState.CORRUPT):
        return RunStatus(state=seen.state.value, reason=seen.reason, **base)
    if scheduler in ACTIVE_STATES:
        return RunStatus(state="running" if scheduler in RUNNING_STATES else "pending", **base)
    if seen.state is RunState.FAILED:
        return RunStatus(state="failed", reason=seen.reason, **base)
    if scheduler and scheduler != "COMPLETED":
        return RunStatus(state="failed", reason=f"job {job} ended {scheduler} without a result", **base)
    if seen.state is RunState.RUNNING:
        return RunStatus(state="running", **base)
    if sub is None:
        return RunStatus(state="not submitted", **base)
    if scheduler == "COMPLETED":
        return RunStatus(state="failed", reason=f"job {job} completed without a result", **base)
    return RunStatus(state="interrupted", reason=f"launched {sub.launcher}, no result and no error", **base)


def format_statuses(statuses: list[RunStatus]) -> str:
    """A fixed-width table, one line per run, then the totals."""
    lines = [f"{'state':13s} {'benchmark':12s} {'method':14s} {'seed':>4s}  {'run':12s}  {'job':12s} detail"]
    for s in statuses:
        detail = s.scheduler if s.state in ("pending", "running") else ""
        if s.state in ("failed", "interrupted", "corrupt"):
            detail = s.reason + (f" (log: {s.log})" if s.log else "")
        seed = "" if s.seed is None else str(s.seed)
        lines.append(f"{s.state:13s} {s.benchmark:12s} {s.method:14s} {seed:>4s}  {s.run:12s}  {s.job:12s} {detail}".rstrip())
    counts = {state: sum(s.state == state for s in statuses) for state in STATES}
    lines.append("total: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n) + f" ({len(statuses)} runs)")
    return "\n".join(lines)
