"""Evaluation measurements: the evaluator against a bare forward pass, and WiSE in one pass.

The bare pass runs the classifier on the test splits' inputs prepared beforehand (transformed and
normalised, in memory): the throughput ceiling of evaluation. The evaluator does everything a run
does: reads the splits, transforms, runs the model, computes every metric against the zero-shot
model's stored outputs. The WiSE curve is a run's 11 alphas evaluated together (one pass over the
data per split) against the same 11 models evaluated one after another.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ...engine.context import EngineContext
from ...engine.evaluate import evaluate, evaluate_each, val_accuracy, val_accuracy_each
from ...engine.workbench import workbench_for
from ...methods.base import build_method
from .timing import Ratio, alternate, ratio, spread
from .training import scratch, spec_of, stand_in_run


def _tuned_stand_in(workbench) -> dict[str, torch.Tensor]:
    """A fine-tuned run's checkpoint for WiSE to interpolate (the zero-shot weights, moved a little)."""
    generator = torch.Generator().manual_seed(0)
    return {k: v + 0.01 * torch.randn(v.shape, generator=generator).to(v) if v.is_floating_point() else v
            for k, v in workbench.zeroshot.state_dict().items()}


def wise_variants(spec, workbench, root: Path) -> list[nn.Module]:
    """The alphas of WiSE run `spec` as classifiers, over the base run stored under `root`."""
    ctx = EngineContext(spec, workbench, root, torch.Generator())
    return [m for _, m in build_method(spec).variants(workbench.fresh_classifier(), ctx)]


def one_pass(variants: list[nn.Module], workbench) -> None:
    """A WiSE run's evaluation as the harness does it: every alpha on each batch of each split."""
    val_accuracy_each(variants, workbench)
    evaluate_each(variants, workbench)


def one_by_one(variants: list[nn.Module], workbench) -> None:
    """The same numbers the old way: each alpha's own evaluation, one after another."""
    for variant in variants:
        val_accuracy(variant, workbench)
        evaluate(variant, workbench)


def evaluation_ratios(benchmark: str, model: str, pretrained: str | None, rounds: int) -> dict[str, Ratio]:
    with scratch() as root:
        spec = spec_of("wise", benchmark, model, pretrained, 16)
        workbench = workbench_for(spec, root)
        splits = [workbench.benchmark.test_set(s) for s in workbench.benchmark.test_splits]
        for split in workbench.benchmark.test_splits:
            workbench.zeroshot_outputs(split)  # stored once, as for every run after the first
        prepared = [x for split in splits for x, _ in split.eval_batches(workbench.eval_batch_size, workbench.inputs,
                                                                          workbench.device, cache=workbench.eval_cache)]
        classifier = workbench.fresh_classifier().eval()

        @torch.no_grad()
        def bare() -> None:
            for x in prepared:
                classifier(x)

        stand_in_run(root, build_method(spec).base_spec(), _tuned_stand_in(workbench))
        variants = wise_variants(spec, workbench, root)
        times = alternate({"bare": bare, "evaluate": lambda: evaluate(classifier, workbench)}, rounds)
        wise_times = alternate({"one pass": lambda: one_pass(variants, workbench),
                                "one by one": lambda: one_by_one(variants, workbench)}, max(1, rounds // 2))
    images = sum(len(s) for s in splits)
    return {"bare forward / evaluation (throughput of evaluation relative to bare)": ratio(times, "bare", "evaluate"),
            "WiSE 11 alphas in one pass / 11 evaluations": ratio(wise_times, "one pass", "one by one"),
            f"evaluation of {images} test images (s)": spread(times["evaluate"])}
