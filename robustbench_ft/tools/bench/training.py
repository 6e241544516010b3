"""Training-step measurements: each method's step against FT's, and the trainer against a bare loop.

A step is the trainer's own `_step` (data, forward, loss terms, backward, AdamW, the method's
after-step), on a run context like execute()'s, in a scratch results folder. LP-FT's probe head is
a stand-in (the zero-shot head saved as its LP run): its step costs the same whatever the head.
The bare loop does FT's work by hand on the same stream of batches: forward, cross-entropy,
backward, AdamW.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ...data.benchmark import load_benchmark
from ...engine.context import EngineContext
from ...engine.train import Trainer
from ...engine.workbench import workbench_for
from ...methods.base import build_method
from ...methods.frozen_features import FrozenFeatures
from ...planning import make_spec
from ...records.checkpoints import save_checkpoint
from ...records.layout import ResultsTree
from ...records.result import Evaluation, RunResult
from .timing import Ratio, alternate, ratio, spread


@contextlib.contextmanager
def scratch() -> Path:
    with tempfile.TemporaryDirectory(prefix="robustbench-bench-") as folder:
        yield Path(folder)


def spec_of(method: str, benchmark: str, model: str, pretrained: str | None, batch_size: int):
    overrides = {"batch_size": batch_size, "steps": 10 ** 6, "eval_every": 10 ** 6, "model": model,
                 "pretrained": pretrained}
    return make_spec(method, load_benchmark(benchmark).train_defaults, benchmark, 0, overrides)


def stand_in_run(root: Path, spec, state: dict[str, torch.Tensor]) -> None:
    """A finished run of `spec` holding `state`, for a measured method that depends on one."""
    folder = ResultsTree(root).of(spec)
    folder.start(spec.to_record())
    save_checkpoint(folder, state)
    folder.write_result(RunResult(run=spec.digest(), config=spec.config_digest(), benchmark=folder.benchmark,
                                  identity=spec.identity(), spec=spec.to_dict(), id_split="", ood_splits=[],
                                  evaluations=[Evaluation({})]))


def _batches(workbench, spec):
    """The same seeded stream of training batches for every measured variant."""
    return workbench.benchmark.train_set().train_batches(spec.batch_size, torch.Generator().manual_seed(0),
                                                     workbench.inputs, workbench.device)


def stepper(spec, root: Path) -> Callable[[], None]:
    """One call = one training step of `spec`'s method, through the shared trainer."""
    workbench = workbench_for(spec, root)
    method = build_method(spec)
    for dep in method.dependencies():  # LP-FT: a stand-in probe (the zero-shot head)
        stand_in_run(root, dep, workbench.zeroshot.state_dict())
    torch.manual_seed(spec.seed)
    ctx = EngineContext(spec, workbench, root, torch.Generator().manual_seed(spec.seed))
    model = workbench.fresh_classifier()
    method.setup(model, ctx)
    trainer = Trainer(model, method, ctx)
    batches = _batches(workbench, spec)
    counter = iter(range(10 ** 9))
    return lambda: trainer._step(next(counter), batches)


def bare_stepper(spec, root: Path) -> Callable[[], None]:
    """FT's step written as a plain PyTorch loop over the same batches."""
    workbench = workbench_for(spec, root)
    model = workbench.fresh_classifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    batches = _batches(workbench, spec)

    def step() -> None:
        inputs, labels = next(batches)
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def frozen_forward(spec, root: Path) -> Callable[[], None]:
    """The zero-shot image encoder's forward on a training batch, without autograd: the work
    Lipsum-FT adds to FT's step whenever augmentation makes every batch new."""
    workbench = workbench_for(spec, root)
    batches = _batches(workbench, spec)

    @torch.no_grad()
    def step() -> None:
        workbench.zeroshot.features(next(batches)[0])
    return step


@contextlib.contextmanager
def frozen_forward_every_step(on: bool):
    """With `on`, Lipsum-FT and CAR-FT run the frozen forward every step even where its inputs
    are known in advance: the path of augmentation that cannot be enumerated (random crops)."""
    saved = FrozenFeatures.precompute
    FrozenFeatures.precompute = not on
    try:
        yield
    finally:
        FrozenFeatures.precompute = saved


def step_ratios(benchmark: str, model: str, pretrained: str | None, batch_size: int, methods: list[str],
                rounds: int, every_step: bool = False) -> dict[str, Ratio]:
    """Each method's step time / FT's; the trainer's FT step / the bare loop's; and the floor of
    Lipsum-FT's ratio when it runs the frozen forward every step: (FT step + that forward) / FT step."""
    with scratch() as root, frozen_forward_every_step(every_step):
        variants = {m: stepper(spec_of(m, benchmark, model, pretrained, batch_size), root) for m in methods}
        variants["bare"] = bare_stepper(spec_of("ft", benchmark, model, pretrained, batch_size), root)
        if every_step:
            variants["frozen forward"] = frozen_forward(spec_of("ft", benchmark, model, pretrained, batch_size), root)
        times = alternate(variants, rounds)
    out = {m: ratio(times, m, "ft") for m in methods if m != "ft"}
    out["trainer vs bare loop"] = ratio(times, "ft", "bare")
    out["ft step (s)"] = spread(times["ft"])
    if every_step:
        times["ft + frozen forward"] = [a + b for a, b in zip(times["ft"], times["frozen forward"])]
        out["floor"] = ratio(times, "ft + frozen forward", "ft")
    return out
