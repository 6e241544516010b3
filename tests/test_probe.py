"""The Kumar-style linear probe against scikit-learn's logistic regression on a small problem."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.methods.logistic_regression import fit_probe, fit_probe_on_validation, probe_accuracy

sklearn = pytest.importorskip("sklearn.linear_model", reason="scikit-learn is a test dependency")


def _problem(seed: int = 0, n: int = 240, d: int = 6, k: int = 4):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=g) * 1.5
    labels = torch.randint(0, k, (n,), generator=g)
    features = centres[labels] + torch.randn(n, d, generator=g)
    return features, labels


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_the_probe_matches_scikit_learn(C):
    features, labels = _problem()
    features = features.double()  # scikit-learn solves in the input's precision
    ours = fit_probe(features, labels, 4, C, max_iter=5000, tolerance=1e-12)
    ref = sklearn.LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=10_000).fit(features.numpy(), labels.numpy())
    weight, bias = torch.tensor(ref.coef_, dtype=torch.float64), torch.tensor(ref.intercept_, dtype=torch.float64)
    assert torch.allclose(ours.weight, weight, atol=1e-4 * max(1.0, weight.abs().max().item()))
    # the softmax ignores a shift common to all biases: compare them centred
    assert torch.allclose(ours.bias - ours.bias.mean(), bias - bias.mean(), atol=1e-4 * max(1.0, bias.abs().max().item()))
    predicted = ref.predict(features.numpy())
    assert probe_accuracy(ours, features, labels) == pytest.approx((predicted == labels.numpy()).mean())


def test_c_is_chosen_on_validation_accuracy():
    features, labels = _problem(n=400)
    train, val = (features[:300], labels[:300]), (features[300:], labels[300:])
    best, fitted = fit_probe_on_validation(train, val, 4, [1e-4, 1e-2, 1.0, 100.0])
    assert [p.C for p in fitted] == [1e-4, 1e-2, 1.0, 100.0]
    assert best.val_acc == max(p.val_acc for p in fitted)
    assert fitted[0].val_acc < best.val_acc  # C = 1e-4 regularises the weights to almost nothing


def test_the_objective_in_chunks_is_the_full_batch_one(monkeypatch):
    """At ImageNet's size the objective is summed over chunks of rows (its logits would not fit);
    the probe it finds is the full-batch one, to float64 rounding."""
    from robustbench_ft.methods import logistic_regression
    features, labels = _problem(n=300)
    whole = fit_probe(features, labels, 4, 1.0, max_iter=200)
    monkeypatch.setattr(logistic_regression, "chunk_rows", lambda classes, itemsize=8: 7)  # 43 chunks
    chunked = fit_probe(features, labels, 4, 1.0, max_iter=200)
    assert torch.allclose(chunked.weight, whole.weight, atol=1e-9) and torch.allclose(chunked.bias, whole.bias, atol=1e-9)
    assert chunked.iterations == whole.iterations
