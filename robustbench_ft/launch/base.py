"""The launcher interface and `launch`, the one entry point the CLI calls.

A launcher gets a plan's runs computed somewhere: in this process, in local worker processes or
as Slurm jobs. It knows specs, waves and jobs, never a method or the trainer: what a job runs is
launch.job.RunJob. A new launcher is one file with a `Launcher` subclass registered by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..core.registry import Registry
from ..core.spec import RunSpec
from ..planning.plan import Plan
from ..records.layout import ResultsTree
from .ledger import Ledger, Submission
from .options import LaunchOptions

LAUNCHERS: "Registry[type[Launcher]]" = Registry("launcher")

# A job in one of these scheduler states (Slurm's words) has not ended yet.
ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED",
                           "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD"})


class Launcher(ABC):
    """Submits the waves of a plan in order; a later wave's runs start after the earlier ones."""

    name = ""
    blocks = True  # submit() returns only once every run has ended (inline, local)

    def __init__(self, options: LaunchOptions, results_root: Path) -> None:
        self.options, self.results_root = options, Path(results_root).resolve()

    @abstractmethod
    def submit(self, plan: Plan, queued: dict[str, str], ledger: Ledger) -> list[Submission]:
        """Get every run of `plan` computed (or queued). `queued` maps runs that an earlier launch
        has in the scheduler still to their job id, so that runs needing them can wait on them.
        Each submission goes into `ledger` as soon as its job exists."""

    def wait(self, submissions: list[Submission], poll_seconds: float = 5.0) -> None:
        """Block until the submitted jobs have ended (a launcher that blocks has nothing to do)."""

    @classmethod
    def states(cls, jobs: list[str]) -> dict[str, str]:
        """The scheduler's state of each job id it still knows (PENDING, RUNNING, FAILED, ...)."""
        return {}


def packs(specs: list[RunSpec], runs_per_job: int) -> list[list[RunSpec]]:
    """Consecutive groups of at most `runs_per_job` runs, one group per job."""
    return [specs[i:i + runs_per_job] for i in range(0, len(specs), runs_per_job)]


@dataclass
class Launched:
    launcher: Launcher
    plan: Plan                                            # everything the request names
    submitted: list[Submission] = field(default_factory=list)
    already_done: int = 0
    still_queued: dict[str, str] = field(default_factory=dict)  # run -> job of an earlier launch


def launch(plan: Plan, options: LaunchOptions, results_root: Path) -> Launched:
    """Submit what `plan` still lacks: runs with a result are skipped, runs that an earlier launch
    has queued or running are left to it, failed and missing runs are (re)submitted."""
    from .status import queued_runs
    root = Path(results_root)
    launcher = LAUNCHERS.get(options.launcher)(options, root)
    tree = ResultsTree(root)
    done = {s.digest() for s in plan.specs if tree.of(s).is_done()}
    queued = queued_runs(root, [s for s in plan.specs if s.digest() not in done])
    todo = plan.without(lambda s: s.digest() in done or s.digest() in queued)
    launched = Launched(launcher, plan, already_done=len(done), still_queued=queued)
    if len(todo):
        launched.submitted = launcher.submit(todo, queued, Ledger(root))
    return launched
