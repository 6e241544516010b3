"""Reports at scale: N synthetic run records written to a scratch folder, then collected and
rendered (tables, then tables and figures), timed."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

SPLITS = ("photo", "sketch", "painting", "clipart", "quickdraw", "infograph")
METRICS = ("acc", "nll", "ece", "feature_distortion", "energy_gap")
ALPHAS = [round(0.1 * i, 1) for i in range(11)]


def write_synthetic_records(root: Path, records: int, seed: int = 0) -> int:
    """Result files for zeroshot/ft/lpft/lipsum (1 record each) and ft+wise (11) until `records`."""
    import random
    rng = random.Random(seed)
    written, run = 0, 0
    plan = [("zeroshot", [None]), ("ft", [None]), ("lpft", [None]), ("lipsum", [None]), ("ft+wise", ALPHAS)]
    while written < records:
        method, alphas = plan[run % len(plan)]
        alphas = alphas[: records - written]
        folder = root / "synthetic" / method / f"{run:08d}"
        folder.mkdir(parents=True)
        (folder / "spec.yaml").write_text(f"spec_version: 2\nmethod: {method}\nseed: {run // len(plan)}\n")
        recs = [{**({} if a is None else {"alpha": a}), "val_acc": rng.random(),
                 "splits": {s: {m: rng.random() for m in METRICS} for s in SPLITS}} for a in alphas]
        spec = {"benchmark": "synthetic", "method": method, "model": "tiny-clip", "pretrained": "embedded",
                "seed": run // len(plan), "steps": 375, "batch_size": 128, "lr": 3e-4, "hparams": {}}
        result = {"schema": 2, "run": f"{run:08d}", "config": method, "identity": {"method": method},
                  "id_split": "photo", "ood_splits": list(SPLITS[1:]), "spec": spec, "records": recs}
        (folder / "result.json").write_text(json.dumps(result))
        written += len(recs)
        run += 1
    return run


def bench_report(records: int = 10_000) -> list[tuple[str, float]]:
    from ..report.collect import collect
    from ..report.render import write_report
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = write_synthetic_records(root / "results", records)
        t0 = time.perf_counter()
        frame = collect(root / "results").frame
        t1 = time.perf_counter()
        write_report(root / "results", root / "out", formats=["md", "tex", "csv"], plots=False, echo=False)
        t2 = time.perf_counter()
        write_report(root / "results", root / "out2", formats=["md", "tex", "csv"], plots=True, echo=False)
        t3 = time.perf_counter()
    return [("records", records), ("run folders", runs), ("tidy rows", len(frame)),
            ("collect (s)", t1 - t0), ("collect + tables md/tex/csv (s)", t2 - t1),
            ("collect + tables + figures png/pdf (s)", t3 - t2)]
