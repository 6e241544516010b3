"""The one evaluator: a classifier's outputs on every test split, turned into metrics.

Outputs are computed once per (checkpoint, split); every metric then comes from them and from the
zero-shot model's stored outputs on the same images (metrics.py). A split that holds a subset of
the classes (ImageNet-R, -A) is scored on the logits of those classes only.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data.benchmark import Split
from ..models.classifier import ImageClassifier
from .metrics import accuracy, macro_f1, split_metrics, worst_group_accuracy
from .workbench import Workbench

ORACLE_VAL_FRACTION = 0.2  # DomainBed's holdout fraction for its test-domain oracle


def oracle_val_mask(benchmark: str, split: str, size: int) -> torch.Tensor:
    """Which images of an OOD split the `oracle_ood_val` rule selects on: a fixed 20% drawn from a
    generator seeded by the benchmark's and the split's names, so every run, method and seed holds
    out the same images; that rule then reports the split's accuracy on the other 80%."""
    mask = torch.zeros(size, dtype=torch.bool)
    if size < 2:
        return mask
    seed = int.from_bytes(hashlib.sha256(f"{benchmark}/{split}/oracle-val".encode()).digest()[:8], "big")
    count = min(size - 1, max(1, round(ORACLE_VAL_FRACTION * size)))
    mask[torch.from_numpy(np.random.default_rng(seed).choice(size, count, replace=False))] = True
    return mask


def restrict(logits: torch.Tensor, labels: torch.Tensor, class_subset: list[int] | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of `class_subset` only, and labels as positions in it (unchanged without a subset)."""
    if class_subset is None:
        return logits, labels
    position = torch.full((int(max(class_subset)) + 1,), -1, dtype=torch.long)
    position[torch.tensor(class_subset)] = torch.arange(len(class_subset))
    mapped = position[labels]
    if (mapped < 0).any():
        raise ValueError("a label lies outside the split's class subset")
    return logits[:, class_subset], mapped


Metrics = dict[str, dict[str, float]]  # split -> metric -> value


def _groups_of(images: Split, rows: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(group id per output row, which groups compete) of a split with groups, (None, None) without.
    Undecodable files a split skipped (skip_bad_images) have no output row: their groups are left
    out by the split's `bad_images`, so each row keeps its own image's group."""
    groups = getattr(images, "groups", None)
    if groups is None:
        return None, None
    ids = groups.ids
    if len(ids) != rows:
        skipped = getattr(images, "bad_images", set())
        kept = [i for i, path in enumerate(getattr(images, "paths", [])) if path not in skipped]
        if len(kept) != rows:
            return None, None  # rows cannot be matched to images: no worst-group figure rather than a wrong one
        ids = ids[torch.tensor(kept, dtype=torch.long)]
    return ids, groups.mask()


def score(metric: str, logits: torch.Tensor, labels: torch.Tensor, images: Split) -> float:
    """One selection metric (a benchmark's `select_on`) of outputs on a split."""
    logits, labels = restrict(logits, labels, images.class_subset)
    if metric == "macro_f1":
        return macro_f1(logits, labels)
    if metric == "worst_group_acc":
        groups, counted = _groups_of(images, len(labels))
        if groups is None:
            raise ValueError("worst-group accuracy needs the split's group labels")
        return worst_group_accuracy(logits, labels, groups, counted)
    return accuracy(logits, labels)


def evaluate(classifier: nn.Module, workbench: Workbench) -> Metrics:
    """{split: {metric: value}} over the ID test split and every OOD split."""
    return evaluate_each([classifier], workbench)[0]


def evaluate_each(classifiers: Sequence[nn.Module], workbench: Workbench) -> list[Metrics]:
    """`evaluate` of every classifier, each split read once for all of them (Workbench.predict_each).
    A classifier whose `is_zeroshot` is true (WiSE at alpha 0 holds exactly the zero-shot weights)
    takes the zero-shot model's stored outputs instead of a forward pass: the same numbers."""
    return [whole for whole, _, _ in evaluate_with_oracle_parts(classifiers, workbench)]


def evaluate_with_oracle_parts(classifiers: Sequence[nn.Module], workbench: Workbench
                               ) -> list[tuple[Metrics, Metrics, Metrics]]:
    """Per classifier: (every test split's metrics, each OOD split's metrics on its held-out
    oracle part, and on the rest); see `oracle_val_mask`. The parts come from the same outputs."""
    results: list[tuple[Metrics, Metrics, Metrics]] = [({}, {}, {}) for _ in classifiers]
    is_zeroshot = [bool(getattr(c, "is_zeroshot", False)) for c in classifiers]
    run = [c for c, zs in zip(classifiers, is_zeroshot) if not zs]
    benchmark = workbench.benchmark
    for split in benchmark.test_splits:
        images = benchmark.test_set(split)
        reference = workbench.zeroshot_outputs(split)
        computed = iter(workbench.predict_each(run, images, f"evaluating {split}") if run else [])
        held_out = oracle_val_mask(benchmark.name, split, len(reference.labels)) if split != benchmark.id_split else None
        groups, counted = _groups_of(images, len(reference.labels))
        for (whole, val, rest), zs in zip(results, is_zeroshot):
            out = reference if zs else next(computed)
            logits, labels = restrict(out.logits, out.labels, images.class_subset)

            def metrics(rows=slice(None)) -> dict[str, float]:
                return split_metrics(logits[rows], labels[rows], out.features[rows], reference.features[rows],
                                     workbench.energy_text_features, workbench.logit_scale, benchmark.extra_metrics,
                                     None if groups is None else groups[rows], counted)
            whole[split] = metrics()
            if held_out is not None and held_out.any():
                val[split], rest[split] = metrics(held_out), metrics(~held_out)
    return results


def val_accuracy_each(classifiers: Sequence[nn.Module], workbench: Workbench) -> list[float]:
    """The ID validation score of every classifier, the split read once for all of them: accuracy,
    or the metric the benchmark selects on (`metrics: select_on`, iWildCam's macro-F1)."""
    return _scores(classifiers, workbench, workbench.benchmark.val_set(), "ID validation")


def _scores(classifiers: Sequence[nn.Module], workbench: Workbench, images: Split, what: str) -> list[float]:
    metric = workbench.benchmark.select_on
    return [score(metric, out.logits, out.labels, images) for out in workbench.predict_each(classifiers, images, what)]


def val_accuracy(classifier: ImageClassifier, workbench: Workbench) -> float:
    """The ID validation score (accuracy unless the benchmark selects on another metric): the
    model-selection signal."""
    return _scores([classifier], workbench, workbench.benchmark.val_set(), "ID validation")[0]


def id_test_accuracy(classifier: ImageClassifier, workbench: Workbench) -> float:
    """The same score on the ID test split: the signal of `selection: id_test`, the paper code's oracle."""
    benchmark = workbench.benchmark
    return _scores([classifier], workbench, benchmark.test_set(benchmark.id_split), "ID test")[0]
