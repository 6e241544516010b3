"""A paper-scale sweep's bookkeeping: 1,008 runs (12 methods x 3 seeds x a grid) on the full
DomainNet tree, every run finished (fake records written through the records layer), then the
commands a user runs over them, each in a fresh process: `sweep --dry-run` (planning, every
folder's state, the costs), `status`, `report`."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from .commands import timed

TARGET_SECONDS = 5.0
SWEEP = """\
benchmarks: [domainnet]
methods: [zeroshot, lp, ft, lpft, lipsum, ema, l2sp, kd, carft, flyp, wise, lipsum+wise]
seeds: [0, 1, 2]
settings: {model: ViT-B-16, pretrained: none}
grid:
  lr: [5.0e-6, 1.0e-5, 2.0e-5, 3.0e-5, 5.0e-5, 1.0e-4, 2.0e-4]
  weight_decay: [0.0, 0.1]
  lipsum.lam: [0.25, 0.5, 1.0, 2.0]
  ema.decay: [0.99, 0.995, 0.999]
  l2sp.alpha: [0.01, 0.1]
  kd.weight: [0.5, 1.0, 2.0]
  carft.weight: [0.1, 1.0]
"""


def finished(results: Path, specs: list) -> None:
    """A plausible finished record for every planned run, written as execute() writes one."""
    from ....records import Evaluation, ResultsTree, RunResult
    rng = random.Random(0)
    tree = ResultsTree(results)
    splits = ["real", "painting", "clipart", "infograph", "sketch"]
    for spec in specs:
        folder = tree.of(spec)
        folder.start(spec.to_record())
        alphas = spec.hparams_of("wise").get("alphas", [None]) if spec.method.endswith("+wise") else [None]
        evaluations = [Evaluation({s: {m: rng.random() for m in ("acc", "nll", "ece", "feature_distortion",
                                                                  "energy_gap")} for s in splits}, rng.random(), a)
                       for a in alphas]
        folder.write_result(RunResult(run=spec.digest(), config=spec.config_digest(), benchmark="domainnet",
                                      identity=spec.identity(), spec=spec.to_dict(), id_split="real",
                                      ood_splits=splits[1:], evaluations=evaluations))


def rows(domainnet: Path, folder: Path) -> tuple[list, list[str]]:
    from ....planning.sweep import load_sweep
    from .. import Row, _check
    with tempfile.TemporaryDirectory() as scratch:
        sweep, results = Path(scratch) / "paper.yaml", Path(scratch) / "results"
        sweep.write_text(SWEEP)
        started = time.perf_counter()
        plan = load_sweep(sweep).plan(str(domainnet))
        planning = time.perf_counter() - started
        section = f"sweep bookkeeping, {len(plan):,} runs on full DomainNet (fake records)"
        started = time.perf_counter()
        finished(results, list(plan.specs))
        found = [Row(section, "writing the fake records (s)", f"{time.perf_counter() - started:.0f}"),
                 Row(section, "planning, in process (s)", f"{planning:.1f}", *_check(planning, TARGET_SECONDS))]
        for what, args in (("sweep --dry-run", ["sweep", str(sweep), "--data-root", str(domainnet), "--dry-run"]),
                           ("status", ["status", str(sweep), "--data-root", str(domainnet)]),
                           ("report (tables)", ["report", "--out", str(Path(scratch) / "report")])):
            seconds, gib = timed([*args, "--results", str(results)])
            found.append(Row(section, f"{what}, a fresh process (s) [{gib:.1f} GiB]", f"{seconds:.1f}",
                             *_check(seconds, TARGET_SECONDS)))
    return found, []
