"""Reports at scale: N synthetic run records written to a scratch folder, then collected and
rendered (tables, then tables and figures), timed."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ...core.identity import SPEC_VERSION
from ...records.layout import ResultsTree
from ...records.result import Evaluation, RunResult

SPLITS = ("photo", "sketch", "painting", "clipart", "quickdraw", "infograph")
METRICS = ("acc", "nll", "ece", "feature_distortion", "energy_gap")
ALPHAS = [round(0.1 * i, 1) for i in range(11)]


def write_synthetic_records(root: Path, records: int, seed: int = 0) -> int:
    """Result files for zeroshot/ft/lpft/lipsum (1 record each) and ft+wise (11) until `records`,
    each OOD split also on its held-out oracle part and the rest, as runs record them."""
    import random
    rng = random.Random(seed)
    tree = ResultsTree(root)
    written, run = 0, 0
    plan = [("zeroshot", [None]), ("ft", [None]), ("lpft", [None]), ("lipsum", [None]), ("ft+wise", ALPHAS)]
    while written < records:
        method, alphas = plan[run % len(plan)]
        alphas = alphas[: records - written]
        folder = tree.run("synthetic", method, f"{run:08d}")
        folder.start({"spec_version": SPEC_VERSION, "method": method, "seed": run // len(plan)})
        evaluations = []
        for alpha in alphas:
            val_acc = rng.random()  # drawn before the splits' values, as the records always were
            splits = {s: {m: rng.random() for m in METRICS} for s in SPLITS}
            parts = [{s: {m: rng.random() for m in METRICS} for s in SPLITS[1:]} for _ in range(2)]
            evaluations.append(Evaluation(splits, val_acc, alpha, *parts))
        spec = {"benchmark": "synthetic", "method": method, "model": "tiny-clip", "pretrained": "embedded",
                "seed": run // len(plan), "steps": 375, "batch_size": 128, "lr": 3e-4, "hparams": {}}
        folder.write_result(RunResult(run=f"{run:08d}", config=method, benchmark="synthetic",
                                      identity={"method": method}, spec=spec, id_split="photo",
                                      ood_splits=list(SPLITS[1:]), evaluations=evaluations))
        written += len(evaluations)
        run += 1
    return run


def bench_report(records: int = 10_000, repeats: int = 3) -> list[tuple[str, float]]:
    """Seconds to collect, to collect and write the tables, and to do that with the figures too:
    the middle of `repeats` runs of each (the first run of a process also pays one-off imports)."""
    import statistics

    from ...report.collect import collect
    from ...report.render import write_report
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = write_synthetic_records(root / "results", records)
        times: dict[str, list[float]] = {"collect": [], "tables": [], "figures": []}
        for index in range(repeats):
            t0 = time.perf_counter()
            frame = collect(root / "results").frame
            t1 = time.perf_counter()
            write_report(root / "results", root / f"out{index}", formats=["md", "tex", "csv"], plots=False, echo=False)
            t2 = time.perf_counter()
            write_report(root / "results", root / f"plots{index}", formats=["md", "tex", "csv"], plots=True, echo=False)
            t3 = time.perf_counter()
            for name, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2)):
                times[name].append(seconds)
    middle = {name: statistics.median(values) for name, values in times.items()}
    return [("records", records), ("run folders", runs), ("tidy rows", len(frame)),
            ("collect (s)", middle["collect"]), ("collect + tables md/tex/csv (s)", middle["tables"]),
            ("collect + tables + figures png/pdf (s)", middle["figures"])]
