"""Result records made by hand and written through the records layer (as execute() writes them),
for report tests: a run's identity and digests come from its settings as in execute()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustbench_ft.core.identity import SPEC_VERSION, digest_of
from robustbench_ft.records import Evaluation, ResultsTree, RunResult
from robustbench_ft.records.result import TrainRecord

SPEC_DEFAULTS = {"model": "tiny-clip", "pretrained": "embedded", "steps": 375, "batch_size": 128,
                 "lr": 3e-4, "weight_decay": 0.1}


def write_run(root: Path, benchmark: str, method: str, seed: int, records: list[Evaluation],
              hparams: dict | None = None, id_split: str = "photo", ood: tuple[str, ...] = ("sketch", "clipart"),
              identity_extra: str | None = None, train_steps: int | None = None, seconds: float | None = None,
              built_on: tuple[str, ...] = (), **fields: Any) -> str:
    """One finished run folder; its run and config digests come from its settings as in execute().
    `train_steps`: a training record of that many steps (else the run trained nothing)."""
    spec = {"benchmark": benchmark, "method": method, "seed": seed, **SPEC_DEFAULTS, **fields,
            "hparams": hparams or {}}
    identity = {"spec_version": SPEC_VERSION, **{k: v for k, v in spec.items() if v != SPEC_DEFAULTS.get(k)}}
    identity["pretrained"] = spec["pretrained"]
    if identity_extra:  # something that names the run but is no column (a benchmark's declaration)
        identity["benchmark"] = f"{benchmark}@{identity_extra}"
    run, config = digest_of(identity), digest_of({k: v for k, v in identity.items() if k != "seed"})
    folder = ResultsTree(root).run(benchmark, method, run)
    folder.start({"spec_version": SPEC_VERSION, "method": method})
    train = None if train_steps is None else TrainRecord(train_steps, train_steps, 0.6, seconds or 0.0, 0.1)
    folder.write_result(RunResult(run=run, config=config, benchmark=benchmark, identity=identity, spec=spec,
                                  id_split=id_split, ood_splits=list(ood), evaluations=records, train=train,
                                  seconds=seconds, built_on=list(built_on)))
    return run


def record(splits: dict[str, dict[str, float]], val_acc: float, alpha: float | None = None) -> Evaluation:
    return Evaluation(splits, val_acc, alpha)


SPLITS = {"photo": "id", "sketch": "ood", "clipart": "ood"}
METRICS = ("acc", "nll", "ece", "feature_distortion", "energy_gap")


def _value(method_index: int, seed: int, split_index: int, metric_index: int, alpha: float) -> float:
    """A fixed, irregular but exactly reproducible number for every cell."""
    base = 0.5 + 0.07 * method_index - 0.05 * split_index + 0.011 * seed + 0.003 * metric_index
    return round(base + 0.02 * alpha * (1 - alpha) - 0.01 * alpha * split_index, 6)


def write_fixture_runs(root: Path) -> None:
    """The report tests' results: four methods x three seeds on a benchmark 'toy', every number
    fixed (the golden files are made from them), a failed run and an unfinished one."""
    # method -> (quality index, alphas); WiSE interpolates "FT-like" numbers
    methods = {"zeroshot": (0, [None]), "ft": (1, [None]), "lipsum": (2, [None]),
               "ft+wise": (1, [0.0, 0.5, 1.0])}
    cost = {"zeroshot": (None, 6.0), "ft": (375, 60.0), "lipsum": (375, 90.0), "ft+wise": (None, 12.0)}
    ft_runs: dict[int, str] = {}
    for method, (m_index, alphas) in methods.items():
        for seed in (0, 1, 2):
            recs = []
            for a_index, alpha in enumerate(alphas):
                splits = {s: {m: _value(m_index, seed, i, j, alpha or 0.0) for j, m in enumerate(METRICS)}
                          for i, s in enumerate(SPLITS)}
                recs.append(record(splits, 0.6 + 0.01 * a_index * (2 - a_index) + 0.001 * seed, alpha))
            hparams = {"lipsum": {"lam": 1.0}} if method == "lipsum" else {}
            steps, seconds = cost[method]
            built_on = (ft_runs[seed],) if method == "ft+wise" else ()
            run = write_run(root, "toy", method, seed, recs, hparams, train_steps=steps, seconds=seconds,
                            built_on=built_on, lr=1e-3 if method == "zeroshot" else 3e-4)
            if method == "ft":
                ft_runs[seed] = run
    broken = ResultsTree(root).run("toy", "ft", "broken")  # a failed run
    broken.start({"method": "ft"})
    broken.write_error("NonFiniteLossError: nan", "")
    ResultsTree(root).run("toy", "ft", "running").start({"method": "ft"})  # started, no result yet
