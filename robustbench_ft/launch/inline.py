"""`--launcher inline`: every run in this process, one after another (the default)."""

from __future__ import annotations

from ..planning.plan import Plan
from .base import LAUNCHERS, Launcher
from .job import run_pack
from .ledger import Ledger, Submission


@LAUNCHERS.register("inline")
class InlineLauncher(Launcher):
    name = "inline"

    def submit(self, plan: Plan, queued: dict[str, str], ledger: Ledger) -> list[Submission]:
        submissions = [Submission.of(spec, self.name, "", None) for spec in plan.specs]
        ledger.append(submissions)
        specs = [spec for wave in plan.waves() for spec in wave]
        run_pack(specs, self.results_root, raise_on_failure=False)
        return submissions
