"""Metrics as pure functions of logits, labels and features; no model, no data loading.

Every metric of a (checkpoint, split) pair is derived from the same cached logits and
L2-normalised image features, so all methods are scored by identical code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of top-1 predictions equal to the label, in [0, 1]."""
    return (logits.argmax(-1) == labels).double().mean().item()


def nll(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean negative log-likelihood of the labels under softmax(logits), in nats."""
    return F.cross_entropy(logits.double(), labels).item()


def ece(logits: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error with `bins` equal-width confidence bins over (0, 1].

    ECE = sum_b |B_b|/N * |acc(B_b) - conf(B_b)|, the bin of a confidence c being the b with
    b/bins < c <= (b+1)/bins.
    """
    probs = logits.double().softmax(-1)
    confidence, prediction = probs.max(-1)
    correct = (prediction == labels).double()
    index = (torch.ceil(confidence * bins).long() - 1).clamp(0, bins - 1)
    conf_sum = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, confidence)
    acc_sum = torch.zeros(bins, dtype=torch.float64).index_add_(0, index, correct)
    return ((acc_sum - conf_sum).abs().sum() / len(labels)).item()


def macro_f1(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over the classes present in `labels` of F1 = 2TP / (2TP + FP + FN), in [0, 1].

    As WILDS scores iWildCam (scikit-learn's f1_score, average='macro', labels=unique(y_true)): a
    class never in the labels does not count, but a prediction of it is a false positive of the
    class it took the image from."""
    prediction = logits.argmax(-1)
    present = labels.unique()
    size = int(max(labels.max().item(), prediction.max().item())) + 1
    hit = prediction == labels
    tp = torch.bincount(labels[hit], minlength=size).double()
    predicted = torch.bincount(prediction, minlength=size).double()
    actual = torch.bincount(labels, minlength=size).double()
    f1 = 2 * tp[present] / (predicted[present] + actual[present])
    return f1.mean().item()


def worst_group_accuracy(logits: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor,
                         counted: torch.Tensor | None = None) -> float:
    """The lowest accuracy over the groups that hold an image (FMoW: over regions); with
    `counted` (a bool per group id), only those groups compete (WILDS leaves FMoW's 'Other' out)."""
    correct = (logits.argmax(-1) == labels).double()
    size = int(groups.max().item()) + 1
    sizes = torch.bincount(groups, minlength=size)
    hits = torch.zeros(size, dtype=torch.float64).index_add_(0, groups, correct)
    keep = sizes > 0
    if counted is not None:
        keep &= F.pad(counted, (0, max(0, size - len(counted))))[:size]
    if not keep.any():
        return float("nan")
    return (hits[keep] / sizes[keep]).min().item()


def feature_distortion(features: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean L2 distance between matching rows of two sets of normalised image features."""
    return (features.double() - reference.double()).norm(dim=-1).mean().item()


def text_energies(features: torch.Tensor, text_features: torch.Tensor, scale: float) -> torch.Tensor:
    """s * <f(x), g(t)> for every image x and text t: (images, texts); the negative energy."""
    return scale * features.double() @ text_features.double().T


def energy_gap(features: torch.Tensor, reference: torch.Tensor, text_features: torch.Tensor,
               scale: float) -> float:
    """Mean over images and texts of (s<f(x),g(t)> - s<f0(x),g(t)>)^2 (Lipsum-FT's diagnostic)."""
    diff = text_energies(features, text_features, scale) - text_energies(reference, text_features, scale)
    return diff.pow(2).mean().item()


def split_metrics(logits: torch.Tensor, labels: torch.Tensor, features: torch.Tensor,
                  zeroshot_features: torch.Tensor, text_features: torch.Tensor, scale: float,
                  extra: tuple[str, ...] = (), groups: torch.Tensor | None = None,
                  counted: torch.Tensor | None = None) -> dict[str, float]:
    """All per-split metrics of one checkpoint, against the zero-shot model's features; `extra`
    names the benchmark's own metrics (`macro_f1`), and a split with group labels (`groups`, ids per
    image; `counted`, which groups compete) adds its worst-group accuracy."""
    out = {
        "acc": accuracy(logits, labels),
        "nll": nll(logits, labels),
        "ece": ece(logits, labels),
        "feature_distortion": feature_distortion(features, zeroshot_features),
        "energy_gap": energy_gap(features, zeroshot_features, text_features, scale),
    }
    if "macro_f1" in extra:
        out["macro_f1"] = macro_f1(logits, labels)
    if groups is not None:
        out["worst_group_acc"] = worst_group_accuracy(logits, labels, groups, counted)
    return out
