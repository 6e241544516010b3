"""Result records made by hand and written through the records layer (as execute() writes them),
for report tests: a run's identity and digests come from its settings as in execute()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robustbench_ft.core.identity import SPEC_VERSION, digest_of
from robustbench_ft.records import Evaluation, ResultsTree, RunResult

SPEC_DEFAULTS = {"model": "tiny-clip", "pretrained": "embedded", "steps": 375, "batch_size": 128,
                 "lr": 3e-4, "weight_decay": 0.1}


def write_run(root: Path, benchmark: str, method: str, seed: int, records: list[Evaluation],
              hparams: dict | None = None, id_split: str = "photo", ood: tuple[str, ...] = ("sketch", "clipart"),
              identity_extra: str | None = None, **fields: Any) -> str:
    """One finished run folder; its run and config digests come from its settings as in execute()."""
    spec = {"benchmark": benchmark, "method": method, "seed": seed, **SPEC_DEFAULTS, **fields,
            "hparams": hparams or {}}
    identity = {"spec_version": SPEC_VERSION, **{k: v for k, v in spec.items() if v != SPEC_DEFAULTS.get(k)}}
    identity["pretrained"] = spec["pretrained"]
    if identity_extra:  # something that names the run but is no column (a benchmark's declaration)
        identity["benchmark"] = f"{benchmark}@{identity_extra}"
    run, config = digest_of(identity), digest_of({k: v for k, v in identity.items() if k != "seed"})
    folder = ResultsTree(root).run(benchmark, method, run)
    folder.start({"spec_version": SPEC_VERSION, "method": method})
    folder.write_result(RunResult(run=run, config=config, benchmark=benchmark, identity=identity, spec=spec,
                                  id_split=id_split, ood_splits=list(ood), evaluations=records))
    return run


def record(splits: dict[str, dict[str, float]], val_acc: float, alpha: float | None = None) -> Evaluation:
    return Evaluation(splits, val_acc, alpha)
