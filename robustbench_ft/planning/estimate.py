"""What a planned grid will do and what it costs, before anything runs (`run --dry-run`).

Cost is counted in images through the model, which is what scales with the benchmark and the
budget: training images (steps x batch x accumulation, each one forward and backward, plus a
frozen forward for regularisers such as Lipsum-FT's) and evaluation images (the validation split
at every evaluation, then every test split once per evaluated variant: 11 for a WiSE curve).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..core.spec import RunSpec
from ..data.benchmark import Benchmark, load_benchmark
from ..data.eval_cache import CACHE_DIR_ENV, cache_bytes
from ..data.file_benchmark import FileBenchmark
from ..data.low_shot import LowShot
from ..methods.base import build_method
from ..models.loading import image_size_of
from ..records.layout import ResultsTree, RunState
from .plan import Plan


def run_cost(spec: RunSpec, benchmark: Benchmark) -> tuple[int, int]:
    """(training images, evaluation images) of one run."""
    method = build_method(spec)
    val = len(benchmark.val_set())
    tests = sum(len(benchmark.test_set(s)) for s in benchmark.test_splits)
    if not method.trains:
        return 0, method.evaluated_variants() * (val + tests)
    evaluations = math.ceil(spec.steps / spec.eval_every)
    per_evaluation = val + (len(benchmark.test_set(benchmark.id_split)) if spec.selection == "id_test" else 0)
    return spec.steps * spec.batch_size * spec.accum_steps, evaluations * per_evaluation + val + tests


def status(spec: RunSpec, results_root: Path) -> str:
    """done, failed or to do, as the run's folder says."""
    state = ResultsTree(results_root).of(spec).inspect().state
    return {RunState.DONE: "done", RunState.FAILED: "failed"}.get(state, "to do")


def plan_table(specs: list[RunSpec], benchmark: Benchmark, results_root: Path) -> str:
    """One benchmark's runs: state, cost, and the totals still to do."""
    lines = ["| method | seed | run | status | training images | evaluation images |", "|---|---:|---|---|---:|---:|"]
    total_train = total_eval = todo = 0
    views: dict[int | None, Benchmark] = {None: benchmark}  # a low-shot run validates on its shrunk split
    for spec in specs:
        state = status(spec, results_root)
        if spec.shots not in views:
            views[spec.shots] = LowShot(benchmark, spec.shots)  # type: ignore[assignment]
        train, evaluation = run_cost(spec, views[spec.shots])
        if state != "done":
            todo += 1
            total_train, total_eval = total_train + train, total_eval + evaluation
        lines.append(f"| {spec.method} | {spec.seed} | {spec.digest()} | {state} | {train:,} | {evaluation:,} |")
    lines.append(f"\n{todo} of {len(specs)} runs to do: {total_train:,} training images and "
                 f"{total_eval:,} evaluation images through {specs[0].model if specs else '-'}.")
    lines += [cache_line(benchmark, model, where) for model, where in
              sorted({(s.model, cache_place(s, results_root)) for s in specs}) if isinstance(benchmark, FileBenchmark)]
    return "\n".join(lines)


def cache_place(spec: RunSpec, results_root: Path) -> str:
    """Where a run's evaluation cache goes (engine.workbench.workbench_for puts it there)."""
    return spec.cache_dir or os.environ.get(CACHE_DIR_ENV) or str(ResultsTree(results_root).artifacts("<key>").parent)


def cache_line(benchmark: FileBenchmark, model: str, where: str) -> str:
    """The evaluation cache a benchmark's validation and test splits take at a model's input size."""
    images = len(benchmark.val_set()) + sum(len(benchmark.test_set(s)) for s in benchmark.test_splits)
    size = image_size_of(model)
    return (f"evaluation cache: {cache_bytes(images, size) / 1e9:,.1f} GB for {images:,} validation and test "
            f"images at {size} px, under {where} (--cache-dir or ${CACHE_DIR_ENV} put it elsewhere)")


def describe_plan(plan: Plan, results_root: Path) -> str:
    """What `--dry-run` prints: each benchmark's runs and cost, then the waves a launcher submits
    in order and how many of each are still to do."""
    tree = ResultsTree(results_root)
    by_benchmark: dict[str, list[RunSpec]] = {}
    for spec in plan.specs:
        by_benchmark.setdefault(spec.benchmark, []).append(spec)
    parts = []
    for name, specs in by_benchmark.items():
        table = plan_table(specs, load_benchmark(name, data_root=specs[0].data_root), results_root)
        parts.append(table if len(by_benchmark) == 1 else f"\n{name}: {len(specs)} runs\n{table}")
    for index, wave in enumerate(plan.waves()):
        todo = sum(not tree.of(s).is_done() for s in wave)
        parts.append(f"wave {index}: {len(wave)} runs, {todo} to do ({', '.join(sorted({s.method for s in wave}))})")
    parts.append(budget_line(plan))
    return "\n".join(parts)


def budget_line(plan: Plan) -> str:
    """Each method's tuning budget as the report will count it: the configurations requested for
    it, and those planned only because another method builds on them (left out of its selection).
    Low-shot runs count per shot count, as the report compares each shot count on its own."""
    def key(spec) -> str:
        return spec.method if spec.shots is None else f"{spec.method} at {spec.shots} shots"
    requested: dict[str, set[str]] = {}
    asked: set[tuple[str, str, int]] = set()
    for spec in plan.requested_specs():
        requested.setdefault(key(spec), set()).add(spec.config_digest())
        asked.add((key(spec), spec.config_digest(), spec.seed))
    extra: dict[str, set[str]] = {}
    other_seeds: dict[str, int] = {}  # requested configurations run at seeds only built on (Model Stock's)
    for spec in plan.specs:
        if key(spec) in requested and spec.config_digest() not in requested[key(spec)]:
            extra.setdefault(key(spec), set()).add(spec.config_digest())
        elif key(spec) in requested and (key(spec), spec.config_digest(), spec.seed) not in asked:
            other_seeds[key(spec)] = other_seeds.get(key(spec), 0) + 1

    def notes(m: str) -> str:
        said = [f"+{len(extra[m])} only built on"] if m in extra else []
        said += [f"+{other_seeds[m]} runs at other seeds only built on"] if m in other_seeds else []
        return f" ({'; '.join(said)})" if said else ""
    counts = ", ".join(f"{m} {len(c)}{notes(m)}" for m, c in sorted(requested.items()))
    return f"configurations per method (its tuning budget): {counts}"
