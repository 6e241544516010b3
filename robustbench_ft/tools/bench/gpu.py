"""`robustbench-ft bench --gpu`: the harness on a CUDA device, as one prepared check.

ViT-B/16 (random init: nothing is downloaded) at batch 256 under bf16 autocast (precision `auto`
on CUDA), on the embedded world's images resized to 224 px: training images/s of the bare model
(forward, cross-entropy, backward and AdamW written by hand), of FT and of Lipsum-FT with its
frozen forward every step (as with random crops), each step synchronised; the peak GPU memory of
each; evaluation images/s; and Lipsum-FT's regulariser at the starting weights, which must be
exactly 0 on the GPU as on the CPU. The same code runs on a CPU with the tiny CLIP in the tests.
"""

from __future__ import annotations

import gc
import time
from typing import Callable

import torch
import torch.nn.functional as F

from .timing import alternate, spread
from .training import _batches, frozen_forward_every_step, scratch, spec_of, stepper


def _bare(spec, root, autocast) -> Callable[[], None]:
    from ...engine.workbench import workbench_for
    workbench = workbench_for(spec, root)
    model = workbench.fresh_classifier()
    fused = {"fused": True} if workbench.device.type == "cuda" else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, **fused)
    batches = _batches(workbench, spec)

    def step() -> None:
        inputs, labels = next(batches)
        with autocast():
            logits, _ = model(inputs)
            loss = F.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def lipsum_at_start(spec, root) -> float:
    """Lipsum-FT's regulariser on a training batch at theta_0, under the trainer's autocast."""
    from ...engine.context import EngineContext
    from ...engine.workbench import workbench_for
    from ...methods.base import Batch, build_method
    workbench = workbench_for(spec, root)
    ctx = EngineContext(spec, workbench, root, torch.Generator().manual_seed(0))
    method, model = build_method(spec), workbench.fresh_classifier()
    method.setup(model, ctx)
    inputs, labels = next(_batches(workbench, spec))
    with ctx.autocast():
        logits, features = model(inputs)
        return float(method.loss_terms(Batch(inputs, labels, logits, features), ctx)["lipsum"].detach())


def gpu_rows(model: str = "ViT-B-16", pretrained: str | None = None, batch: int = 256, rounds: int = 10,
             precision: str = "auto") -> list:
    from . import Row
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    name = torch.cuda.get_device_name(0) if cuda else "CPU (the check's code path)"
    section = f"{name}, {model} (batch {batch}, precision {precision})"
    rows = []
    with scratch() as root, frozen_forward_every_step(True):
        specs = {m: spec_of(m, "embedded", model, pretrained, batch).replace(precision=precision)
                 for m in ("ft", "lipsum")}
        from ...engine.context import EngineContext
        from ...engine.workbench import workbench_for
        workbench = workbench_for(specs["ft"], root)
        autocast = EngineContext(specs["ft"], workbench, root, torch.Generator()).autocast
        builders = {"bare model": lambda: _bare(specs["ft"], root, autocast),
                    "FT": lambda: stepper(specs["ft"], root), "Lipsum-FT": lambda: stepper(specs["lipsum"], root)}
        for label, build in builders.items():  # one at a time: a variant's peak memory is its own
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            step = build()
            times = alternate({label: lambda: (step(), sync())}, rounds)[label]
            rows.append(Row(section, f"{label}: training images/s", f"{batch / spread(times).median:.0f}"))
            if cuda:
                rows.append(Row(section, f"{label}: peak GPU memory (GiB, the workbench's frozen models included)",
                                f"{torch.cuda.max_memory_allocated() / 2 ** 30:.1f}"))
            del step
            gc.collect()
        classifier, images = workbench.fresh_classifier(), workbench.benchmark.val_set()
        workbench.predict(classifier, images)  # warm-up
        sync()
        started = time.perf_counter()
        workbench.predict(classifier, images)
        sync()
        rows.append(Row(section, "evaluation images/s", f"{len(images) / (time.perf_counter() - started):.0f}"))
        value = lipsum_at_start(specs["lipsum"], root)
        rows.append(Row(section, "Lipsum-FT's regulariser at the starting weights", f"{value:.3g}", "= 0",
                        value == 0.0))
    return rows
