"""What `run` and `sweep` do once a plan is made: bring older run folders to today's names, then
launch what the plan still lacks (launch.base.launch)."""

from __future__ import annotations

from pathlib import Path

from ..core.config import benchmark_key
from ..planning.plan import Plan
from ..records.layout import ResultsTree
from ..records.migrate import Migration, migrate_results
from ..records.requests import Request, RequestLog
from . import catalogue  # noqa: F401  (the launchers register themselves)
from .base import Launched, launch
from .options import LaunchOptions


def launch_plan(plan: Plan, options: LaunchOptions, results_root: Path,
                source: str = "run") -> tuple[Migration, Launched]:
    """Migrate the results folder (each folder under its run lock), note which configurations
    the request asked for (records/requests.py: the report's tuning budgets), then launch; a
    blocking launcher has run everything when this returns, the others have submitted it."""
    root = Path(results_root)
    migration = migrate_results(root) if root.is_dir() else Migration()
    log = RequestLog(root)
    log.start(ResultsTree(root))
    log.upgrade(ResultsTree(root))  # lines from before seeds were logged: the seeds they covered
    log.append(Request(benchmark_key(spec.benchmark), spec.method, spec.config_digest(), source, spec.seed)
                            for spec in plan.requested_specs())
    return migration, launch(plan, options, root)
