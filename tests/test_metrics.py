"""Metrics against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from robustbench_ft.engine import metrics


def test_accuracy_and_nll_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    assert metrics.accuracy(logits, labels) == pytest.approx(2 / 3)
    expected = -(math.log(math.exp(2) / (math.exp(2) + 1)) + math.log(math.exp(1) / (1 + math.exp(1)))
                 + math.log(math.exp(1) / (math.exp(3) + math.exp(1)))) / 3
    assert metrics.nll(logits, labels) == pytest.approx(expected)


def test_ece_by_hand():
    # confidences 0.9 (correct), 0.9 (wrong), 0.65 (correct), 0.62 (wrong); bins of width 1/15:
    # (0.8667, 0.9333] holds the 0.9s: acc 0.5, conf 0.9; (0.6, 0.6667] the others: acc 0.5, conf 0.635
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.65, 0.35], [0.38, 0.62]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 0])
    logits = probs.log()
    expected = 2 / 4 * abs(0.5 - 0.9) + 2 / 4 * abs(0.5 - 0.635)
    assert metrics.ece(logits, labels) == pytest.approx(expected)


def test_ece_is_zero_when_perfectly_calibrated():
    probs = torch.tensor([[1.0, 0.0]] * 4).clamp_min(1e-12)
    assert metrics.ece(probs.log(), torch.zeros(4, dtype=torch.long)) == pytest.approx(0, abs=1e-9)


def test_feature_distortion_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert metrics.feature_distortion(a, b) == pytest.approx(math.sqrt(2) / 2)


def test_energy_gap_by_hand():
    f = torch.tensor([[1.0, 0.0]])
    f0 = torch.tensor([[0.0, 1.0]])
    texts = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # s<f,t> = [10, 6]; s<f0,t> = [0, 8]; squared diffs 100 and 4; mean 52
    assert metrics.energy_gap(f, f0, texts, scale=10.0) == pytest.approx(52.0)
    assert metrics.energy_gap(f, f, texts, scale=10.0) == 0.0


def test_split_metrics_keys():
    logits = torch.randn(6, 3)
    feats = torch.nn.functional.normalize(torch.randn(6, 4), dim=-1)
    out = metrics.split_metrics(logits, torch.zeros(6, dtype=torch.long), feats, feats,
                                torch.randn(5, 4), 1.0)
    assert set(out) == {"acc", "nll", "ece", "feature_distortion", "energy_gap"}
    assert out["feature_distortion"] == 0.0 and out["energy_gap"] == 0.0


def test_macro_f1_by_hand():
    # labels 0 0 1 2, predictions 0 1 1 3 (class 3 never a label: it does not count, but predicting
    # it costs class 2 its recall). F1: class 0 2*1/(1+2)=2/3, class 1 2*1/(2+1)=2/3, class 2 0.
    labels = torch.tensor([0, 0, 1, 2])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 3]), 4).float()
    assert metrics.macro_f1(logits, labels) == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_macro_f1_matches_scikit_learn_as_wilds_calls_it():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    generator = torch.Generator().manual_seed(0)
    for classes in (3, 20, 182):
        labels = torch.randint(0, classes, (500,), generator=generator)
        logits = torch.randn(500, classes, generator=generator) + 2 * torch.nn.functional.one_hot(labels, classes)
        expected = sklearn_metrics.f1_score(labels.numpy(), logits.argmax(-1).numpy(), average="macro",
                                            labels=labels.unique().numpy())
        assert metrics.macro_f1(logits, labels) == pytest.approx(expected, abs=1e-12)


def test_worst_group_accuracy_by_hand_and_with_groups_left_out():
    labels = torch.tensor([0, 1, 0, 1, 1, 0])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 1, 0, 1]), 2).float()
    groups = torch.tensor([0, 0, 1, 1, 2, 2])  # accuracies: 1, 1/2, 0
    assert metrics.worst_group_accuracy(logits, labels, groups) == 0.0
    assert metrics.worst_group_accuracy(logits, labels, groups, torch.tensor([True, True, False])) == 0.5
    # a group id with no image (3 is declared by `counted` but absent) does not compete
    assert metrics.worst_group_accuracy(logits, labels, groups, torch.tensor([True, True, False, True])) == 0.5


def test_split_metrics_adds_the_benchmarks_own_metrics():
    logits = torch.randn(6, 3)
    feats = torch.nn.functional.normalize(torch.randn(6, 4), dim=-1)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    out = metrics.split_metrics(logits, labels, feats, feats, torch.randn(5, 4), 1.0, extra=("macro_f1",),
                                groups=torch.tensor([0, 0, 0, 1, 1, 1]))
    assert out["macro_f1"] == metrics.macro_f1(logits, labels)
    assert out["worst_group_acc"] == min(metrics.accuracy(logits[:3], labels[:3]),
                                         metrics.accuracy(logits[3:], labels[3:]))
