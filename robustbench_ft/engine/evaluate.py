"""The one evaluator: a classifier's outputs on every test split, turned into metrics.

Outputs are computed once per (checkpoint, split); every metric then comes from them and from the
zero-shot model's stored outputs on the same images (metrics.py). A split that holds a subset of
the classes (ImageNet-R, -A) is scored on the logits of those classes only.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..data.benchmark import Split
from ..models.classifier import ImageClassifier
from .metrics import accuracy, split_metrics
from .workbench import Workbench


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


def evaluate(classifier: nn.Module, workbench: Workbench) -> dict[str, dict[str, float]]:
    """{split: {metric: value}} over the ID test split and every OOD split."""
    return evaluate_each([classifier], workbench)[0]


def evaluate_each(classifiers: Sequence[nn.Module], workbench: Workbench) -> list[dict[str, dict[str, float]]]:
    """`evaluate` of every classifier, each split read once for all of them (Workbench.predict_each).
    A classifier whose `is_zeroshot` is true (WiSE at alpha 0 holds exactly the zero-shot weights)
    takes the zero-shot model's stored outputs instead of a forward pass: the same numbers."""
    results: list[dict[str, dict[str, float]]] = [{} for _ in classifiers]
    is_zeroshot = [bool(getattr(c, "is_zeroshot", False)) for c in classifiers]
    run = [c for c, zs in zip(classifiers, is_zeroshot) if not zs]
    for split in workbench.benchmark.test_splits:
        images = workbench.benchmark.test_set(split)
        reference = workbench.zeroshot_outputs(split)
        computed = iter(workbench.predict_each(run, images, f"evaluating {split}") if run else [])
        for result, zs in zip(results, is_zeroshot):
            out = reference if zs else next(computed)
            logits, labels = restrict(out.logits, out.labels, images.class_subset)
            result[split] = split_metrics(logits, labels, out.features, reference.features,
                                          workbench.energy_text_features, workbench.logit_scale)
    return results


def val_accuracy_each(classifiers: Sequence[nn.Module], workbench: Workbench) -> list[float]:
    """ID validation accuracy of every classifier, the split read once for all of them."""
    return _accuracies(classifiers, workbench, workbench.benchmark.val_set(), "ID validation")


def _accuracies(classifiers: Sequence[nn.Module], workbench: Workbench, images: Split, what: str) -> list[float]:
    return [accuracy(*restrict(out.logits, out.labels, images.class_subset))
            for out in workbench.predict_each(classifiers, images, what)]


def val_accuracy(classifier: ImageClassifier, workbench: Workbench) -> float:
    """Accuracy on the ID validation split: the model-selection signal."""
    return _accuracies([classifier], workbench, workbench.benchmark.val_set(), "ID validation")[0]


def id_test_accuracy(classifier: ImageClassifier, workbench: Workbench) -> float:
    """Accuracy on the ID test split: the signal of `selection: id_test`, the paper code's oracle."""
    benchmark = workbench.benchmark
    return _accuracies([classifier], workbench, benchmark.test_set(benchmark.id_split), "ID test")[0]
