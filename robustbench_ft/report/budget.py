"""What each row of a table cost to tune: DomainBed's point that a comparison is fair only at an
equal search budget, said under every table.

A row's budget is the configurations its selection rule chose among (the requested ones:
records/requests.py), and per seed the training steps and the measured compute (seconds times
processes) of every run of those configurations together with every run they build on (WiSE's FT
run, a soup's ingredients, LP-FT's probe), each run counted once. Records written before runs
said what they build on count their own cost only. The report warns when trained rows were
chosen among different numbers of configurations, or cost more than 10% apart in steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .selection import Choice

STEP_TOLERANCE = 0.10  # training steps per seed further apart than this are "different budgets"


@dataclass(frozen=True)
class Budget:
    configurations: int
    train_steps: float  # per seed
    compute_s: float    # per seed; NaN when a record does not say

    def describe(self) -> str:
        minutes = "compute not recorded" if np.isnan(self.compute_s) else f"{self.compute_s / 60:.1f} min"
        noun = "configuration" if self.configurations == 1 else "configurations"
        return f"{self.configurations} {noun}, {self.train_steps:,.0f} steps, {minutes}"


RunCost = tuple[int, float, float, tuple[str, ...]]  # seed, training steps, compute seconds, built on


def run_costs(frame: pd.DataFrame) -> dict[str, RunCost]:
    """run digest -> its seed, training steps, compute seconds and the runs it builds on."""
    if "train_steps" not in frame:
        return {}
    runs = frame.drop_duplicates("run")
    return {str(run): (int(seed), float(steps), float(compute), tuple(str(built).split()))
            for run, seed, steps, compute, built in zip(runs["run"], runs["seed"], runs["train_steps"],
                                                        runs["compute_s"], runs["built_on"])}


def budget_of(choice: Choice, costs: dict[str, RunCost]) -> Budget:
    """The cost of `choice`'s search, per seed (see the module docstring)."""
    seen: set[str] = set()
    todo = [r for r in choice.runs if r in costs]
    while todo:
        run = todo.pop()
        if run in seen:
            continue
        seen.add(run)
        todo += [d for d in costs[run][3] if d in costs and d not in seen]
    spent = [costs[run] for run in seen]
    # per seed of the row's own runs: Model Stock's second runs (its base at other seeds) are its cost
    seeds = max(1, len({costs[run][0] for run in choice.runs if run in costs}))
    compute = [cost[2] for cost in spent]
    total = float("nan") if not compute or any(np.isnan(compute)) else sum(compute)
    return Budget(choice.among, sum(cost[1] for cost in spent) / seeds, total / seeds)


def budget_notes(labelled: list[tuple[str, Choice]], frame: pd.DataFrame) -> list[str]:
    """The budget line of every row, then a warning where trained rows' budgets differ."""
    if not labelled:
        return []
    costs = run_costs(frame)
    budgets = [(label, budget_of(choice, costs)) for label, choice in labelled]
    notes = ["Tuning budget per row (configurations chosen among; training steps and measured compute per "
             "seed, the runs each builds on included): "
             + "; ".join(f"{label}: {b.describe()}" for label, b in budgets) + "."]
    trained = [(label, b) for label, b in budgets if b.train_steps > 0]
    configurations = {b.configurations for _, b in trained}
    steps = [b.train_steps for _, b in trained]
    if len(configurations) > 1:
        notes.append("WARNING: unequal tuning budgets: the trained rows were chosen among "
                     + ", ".join(f"{b.configurations} ({label})" for label, b in trained)
                     + " configurations; a fair comparison gives each method the same number "
                       "(a sweep's `search: {trials: N}`).")
    if steps and max(steps) > (1 + STEP_TOLERANCE) * min(steps):
        notes.append("WARNING: unequal training budgets: "
                     + ", ".join(f"{label} {b.train_steps:,.0f}" for label, b in trained)
                     + " training steps per seed.")
    return notes
