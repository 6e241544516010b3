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
                  zeroshot_features: torch.Tensor, text_features: torch.Tensor, scale: float
                  ) -> dict[str, float]:
    """All per-split metrics of one checkpoint, against the zero-shot model's features."""
    return {
        "acc": accuracy(logits, labels),
        "nll": nll(logits, labels),
        "ece": ece(logits, labels),
        "feature_distortion": feature_distortion(features, zeroshot_features),
        "energy_gap": energy_gap(features, zeroshot_features, text_features, scale),
    }
