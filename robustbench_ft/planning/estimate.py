"""What a planned grid will do and what it costs, before anything runs (`run --dry-run`).

Cost is counted in images through the model, which is what scales with the benchmark and the
budget: training images (steps x batch x accumulation, each one forward and backward, plus a
frozen forward for regularisers such as Lipsum-FT's) and evaluation images (the validation split
at every evaluation, then every test split once per evaluated variant: 11 for a WiSE curve).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..records import legacy as records
from ..data.benchmark import Benchmark
from ..methods.base import build_method
from ..core.spec import RunSpec


def run_cost(spec: RunSpec, bench: Benchmark) -> tuple[int, int]:
    """(training images, evaluation images) of one run."""
    method = build_method(spec)
    val = len(bench.val_set())
    tests = sum(len(bench.test_set(s)) for s in bench.test_splits)
    if not method.trains:
        return 0, method.evaluated_variants() * (val + tests)
    evaluations = math.ceil(spec.steps / spec.eval_every)
    per_evaluation = val + (len(bench.test_set(bench.id_split)) if spec.selection == "id_test" else 0)
    return spec.steps * spec.batch_size * spec.accum_steps, evaluations * per_evaluation + val + tests


def status(spec: RunSpec, results_root: Path) -> str:
    folder = records.run_dir(results_root, spec)
    if records.is_done(results_root, spec):
        return "done"
    return "failed" if (folder / "error.json").is_file() else "to do"


def print_plan(specs: list[RunSpec], bench: Benchmark, results_root: Path) -> None:
    print("| method | seed | run | status | training images | evaluation images |")
    print("|---|---:|---|---|---:|---:|")
    total_train = total_eval = todo = 0
    for spec in specs:
        state = status(spec, results_root)
        train, evaluation = run_cost(spec, bench)
        if state != "done":
            todo += 1
            total_train, total_eval = total_train + train, total_eval + evaluation
        print(f"| {spec.method} | {spec.seed} | {spec.digest()} | {state} | {train:,} | {evaluation:,} |")
    print(f"\n{todo} of {len(specs)} runs to do: {total_train:,} training images and "
          f"{total_eval:,} evaluation images through {specs[0].model if specs else '-'}.")
