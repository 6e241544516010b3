"""Multinomial logistic regression on frozen features, solved to convergence (Kumar et al.'s probe).

Minimises, as scikit-learn's LogisticRegression(C, lbfgs) does,
    C * sum_i CE(W f_i + b, y_i) + ||W||^2 / 2        (the bias is not penalised)
with full-batch L-BFGS (strong Wolfe line search) from W = 0, b = 0, in float64 on the CPU and
float32 on a GPU. `fit_probe_on_validation` sweeps C over a log grid, warm-starting each fit from
the previous one, and keeps the C with the best validation accuracy.

The objective is the full-batch one, but computed in chunks of rows (each chunk's loss and
gradient added up): at ImageNet's size (1.28 M features of 512 dimensions, 1,000 classes) the
whole logits matrix alone would be 10 GB in float64, and its softmax and gradient as much again.
Chunked, a probe holds the features as given (float32: 2.6 GB) and a chunk's logits (~256 MB):
the same sums, in another order of additions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Probe:
    weight: torch.Tensor  # (K, D)
    bias: torch.Tensor    # (K,)
    C: float
    val_acc: float = float("nan")
    iterations: int = 0

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return features.to(self.weight.dtype) @ self.weight.T + self.bias


CHUNK_BYTES = 256 * 2 ** 20  # a chunk's logits at most (its softmax and gradient take as much again)


def chunk_rows(num_classes: int, itemsize: int = 8) -> int:
    return max(1024, CHUNK_BYTES // (num_classes * itemsize))


def fit_probe(features: torch.Tensor, labels: torch.Tensor, num_classes: int, C: float,
              max_iter: int = 1000, tolerance: float = 1e-10, start: Probe | None = None) -> Probe:
    """The L2-regularised multinomial logistic regression of `labels` on `features`."""
    dtype = torch.float64 if features.device.type == "cpu" else torch.float32
    n, device = len(features), features.device
    weight = (start.weight.clone() if start else torch.zeros(num_classes, features.shape[1], dtype=dtype,
                                                                 device=device)).requires_grad_(True)
    bias = (start.bias.clone() if start else torch.zeros(num_classes, dtype=dtype,
                                                         device=device)).requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, history_size=20,
                                  tolerance_grad=tolerance, tolerance_change=tolerance * 1e-2,
                                  line_search_fn="strong_wolfe")
    scale = 1.0 / (C * n)  # the objective divided by C * N, for well-scaled tolerances
    rows = chunk_rows(num_classes, torch.finfo(dtype).bits // 8)

    def objective() -> torch.Tensor:
        """mean_i CE + scale * ||W||^2 / 2, its gradient accumulated chunk by chunk."""
        optimizer.zero_grad()
        total = torch.zeros((), dtype=dtype, device=device)
        for begin in range(0, n, rows):
            x = features[begin:begin + rows].to(dtype)
            part = F.cross_entropy(x @ weight.T + bias, labels[begin:begin + rows], reduction="sum") / n
            part.backward()
            total += part.detach()
        penalty = 0.5 * scale * weight.pow(2).sum()
        penalty.backward()
        return total + penalty.detach()

    optimizer.step(objective)
    iterations = optimizer.state[weight].get("n_iter", 0)
    return Probe(weight.detach(), bias.detach(), C, iterations=int(iterations))


def probe_accuracy(probe: Probe, features: torch.Tensor, labels: torch.Tensor) -> float:
    return (probe.logits(features).argmax(-1) == labels).float().mean().item()


def fit_probe_on_validation(train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
                            num_classes: int, Cs: list[float], max_iter: int = 1000) -> tuple[Probe, list[Probe]]:
    """The probe of the C (from small to large, warm-started) with the best validation accuracy;
    ties go to the smaller C, the stronger regularisation. Also every fitted probe, for the record."""
    fitted: list[Probe] = []
    previous = None
    for C in sorted(Cs):
        probe = fit_probe(*train, num_classes, C, max_iter, start=previous)
        probe.val_acc = probe_accuracy(probe, *val)
        fitted.append(probe)
        previous = probe
    best = max(fitted, key=lambda p: (p.val_acc, -p.C))
    return best, fitted
