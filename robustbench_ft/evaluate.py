"""The one evaluator: a classifier's outputs on every test split, turned into metrics.

Outputs are computed once per (checkpoint, split); every metric then comes from them and from the
zero-shot model's cached outputs on the same images (metrics.py).
"""

from __future__ import annotations

from .metrics import accuracy, split_metrics
from .models.classifier import ImageClassifier
from .workbench import Workbench


def evaluate(classifier: ImageClassifier, bench: Workbench) -> dict[str, dict[str, float]]:
    """{split: {metric: value}} over the ID test split and every OOD split."""
    results = {}
    for split in bench.benchmark.test_splits:
        out = bench.predict(classifier, bench.benchmark.test_set(split))
        reference = bench.zeroshot_outputs(split)
        results[split] = split_metrics(out.logits, out.labels, out.features, reference.features,
                                       bench.energy_text_features, bench.logit_scale)
    return results


def val_accuracy(classifier: ImageClassifier, bench: Workbench) -> float:
    """Accuracy on the ID validation split: the model-selection signal."""
    out = bench.predict(classifier, bench.benchmark.val_set())
    return accuracy(out.logits, out.labels)
