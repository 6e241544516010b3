"""A run's start on the full DomainNet tree, up to its first training step, part by part, and the
file-system calls it makes besides reading images.

The child mirrors engine/execute.py's order with a timer around each part: imports; the spec;
the benchmark's label mapping (the ID training split file) and its listing (every split); the
model (an open_clip architecture at 224 px from random init); the zero-shot head through the text
tower (80 OpenAI prompts x 345 classes) and the energy-gap texts, stored as artifacts; the
method's set-up; the evaluation caches' checks (their keys: one stat per class folder); the
DataLoader's start (its workers, the first batch decoded and augmented); the first training
step. It runs twice on one results folder: cold (the artifacts made, the validation split's
evaluation cache built, as a sweep's first run does) and warm (as every later run of the sweep
starts). The model's own compute (building it, the text tower, the step) is reported apart from
the harness's bookkeeping. The warm start runs a third time under strace, which counts every
call that names a file (open, stat, access, ...), by where it points: the images read, the rest
of the data tree, the results folder, and everything else (Python's imports, libraries).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL, BATCH = "ViT-S-32", 32
TARGET_SECONDS = 60.0  # the start without the model's compute, on DomainNet
MODEL_PARTS = ("model built", "zero-shot head and energy texts", "first training step")


def _child(data_root: str, results: str, build_val_cache: bool) -> dict[str, float]:
    clock = {"last": time.perf_counter()}
    seconds: dict[str, float] = {}

    def part(name: str) -> None:
        now = time.perf_counter()
        seconds[name] = now - clock["last"]
        clock["last"] = now

    import torch

    from ....data.eval_cache import EvalCache
    from ....engine import workbench as workbench_module
    from ....engine.context import EngineContext
    from ....engine.train import Trainer
    from ....methods.base import build_method
    from ....planning import make_spec
    part("imports")
    spec = make_spec("lipsum", {}, "domainnet", 0, {"model": MODEL, "pretrained": None, "data_root": data_root,
                                                    "batch_size": BATCH, "steps": 1000, "eval_every": 1000})
    part("spec")
    real_load_clip = workbench_module.load_clip
    timed_clip = {}

    def load_clip(*args, **kwargs):
        started = time.perf_counter()
        bundle = real_load_clip(*args, **kwargs)
        timed_clip["seconds"] = time.perf_counter() - started
        return bundle
    workbench_module.load_clip = load_clip
    workbench = workbench_module.workbench_for(spec, Path(results), torch.device("cpu"))
    part("zero-shot head and energy texts")
    seconds["model built"] = timed_clip["seconds"]
    seconds["zero-shot head and energy texts"] -= timed_clip["seconds"]
    benchmark = workbench.benchmark
    benchmark.classes
    part("label mapping (ID training split file)")
    benchmark.train_set(), benchmark.val_set()
    for split in benchmark.test_splits:
        benchmark.test_set(split)
    part("listing every split")
    method = build_method(spec)
    ctx = EngineContext(spec, workbench, Path(results), torch.Generator().manual_seed(0))
    model = workbench.fresh_classifier()
    method.setup(model, ctx)
    trainer = Trainer(model, method, ctx)
    part("method set-up and optimiser")
    for split in [benchmark.val_set(), *(benchmark.test_set(s) for s in benchmark.test_splits)]:
        EvalCache(workbench.eval_cache, split, workbench.inputs).ready()
    part("evaluation caches checked (every split)")
    batches = benchmark.train_set().train_batches(BATCH, torch.Generator().manual_seed(0), workbench.inputs, "cpu")
    first = next(batches)
    part("DataLoader start (first batch)")
    trainer._step(0, iter([first]))
    part("first training step")
    if build_val_cache:
        val = benchmark.val_set()
        EvalCache(workbench.eval_cache, val, workbench.inputs).build(workbench.eval_batch_size)
        part(f"validation split's evaluation cache built ({len(val):,} images)")
    return seconds


def _run(data_root: Path, results: Path, build: bool, trace: Path | None = None) -> dict[str, float]:
    code = ("import json, sys; from robustbench_ft.tools.bench.scale.startup import _child; "
            "print(json.dumps(_child(sys.argv[1], sys.argv[2], sys.argv[3] == '1')))")
    command = [sys.executable, "-c", code, str(data_root), str(results), "1" if build else "0"]
    if trace is not None:
        command = ["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(trace), *command]
    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         env={**os.environ, "ROBUSTBENCH_FT_PROGRESS": "0"}).stdout
    return json.loads(out.strip().splitlines()[-1])


def count_calls(trace: Path, data_root: Path, results: Path) -> dict[str, int]:
    """Calls that name a file, by where they point."""
    counts = {"images": 0, "data tree, not images": 0, "results folder": 0, "elsewhere": 0}
    data = (str(data_root), str(data_root.resolve()))  # as given (maybe through a link) and as it is
    out = (str(results), str(results.resolve()))
    for line in trace.read_text(errors="replace").splitlines():
        if '"' not in line:
            continue
        path = line.split('"', 2)[1]
        if path.startswith(data):
            counts["images" if path.lower().endswith((".jpg", ".jpeg", ".png")) else "data tree, not images"] += 1
        elif path.startswith(out):
            counts["results folder"] += 1
        else:
            counts["elsewhere"] += 1
    return counts


def rows(domainnet: Path) -> tuple[list, list[str]]:
    from ....tools.fakedata import write_fake
    from ....tools.fakedata.base import MARKER, FakeOptions
    from .. import Row, _check
    section = f"run start, full DomainNet, {MODEL} random init, batch {BATCH}"
    found, missing = [], []
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results"
        cold = _run(domainnet, results, build=True)
        warm = _run(domainnet, results, build=False)
        for name in dict.fromkeys([*warm, *cold]):
            found.append(Row(section, f"{name} (s): cold → warm",
                             f"{cold.get(name, 0):.1f} → " + (f"{warm[name]:.1f}" if name in warm else "(built)")))
        for label, times in (("cold", cold), ("warm", warm)):
            harness = sum(v for k, v in times.items() if k not in MODEL_PARTS and "built (" not in k)
            model = sum(times.get(k, 0) for k in MODEL_PARTS)
            found.append(Row(section, f"{label} start without the model's compute (s) [model: {model:.0f} s]",
                             f"{harness:.1f}", *_check(harness, TARGET_SECONDS)))
        if shutil.which("strace"):
            tenth = Path(folder) / "tenth"
            if not (tenth / "domainnet" / MARKER).is_file():
                write_fake("domainnet", tenth, FakeOptions(fraction=0.1))
            _run(tenth, results, build=False)  # its artifacts are the full tree's; its caches checked once
            for label, root in (("full tree", domainnet), ("a tenth of it", tenth)):
                trace = Path(folder) / "trace.txt"
                _run(root, results, build=False, trace=trace)
                counts = count_calls(trace, root, results)
                found.append(Row(section, f"calls naming a file, warm start, {label}: data tree besides images / "
                                          f"images / results / elsewhere",
                                 " / ".join(f"{counts[k]:,}" for k in ("data tree, not images", "images",
                                                                      "results folder", "elsewhere"))))
        else:
            missing.append("file-system calls of a run's start: no strace on this machine")
    return found, missing
