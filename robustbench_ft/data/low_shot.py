"""The low-shot regime: a benchmark seen through K training images per class.

`--shots K` trains on a fixed, seeded K images of each class (fewer where a class has fewer), the
same for every method and seed, so methods are compared on the same images at 1, 4, 16, ... shots.
The subsets are nested (the 4-shot images are among the 16-shot ones): one seeded permutation
of the split, and a class's first K images in it. ID validation shrinks alike (K per class of
the held-out part) unless the benchmark has its own validation split (WILDS' id_val, the
embedded world's val), which it keeps: as in Singh et al. (ICCV 2023), who select on the full
WILDS ID validation split. Test splits are untouched.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any

import torch

from .benchmark import Benchmark, Split


def per_class_rows(labels: torch.Tensor, shots: int, seed: int) -> list[int]:
    """Rows of K = `shots` images per class (all of a class with fewer), in split order."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).tolist()
    taken: dict[int, int] = {}
    rows = []
    values = labels.tolist()
    for row in order:
        label = values[row]
        if taken.get(label, 0) < shots:
            taken[label] = taken.get(label, 0) + 1
            rows.append(row)
    return sorted(rows)


def _seed(benchmark: str, part: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{benchmark}/{part}/low-shot".encode()).digest()[:8], "big") >> 1


class LowShot:
    """`benchmark` with K images per class in its training (and held-out validation) split; every
    other attribute is the benchmark's own."""

    def __init__(self, benchmark: Benchmark, shots: int) -> None:
        self.benchmark, self.shots = benchmark, int(shots)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "benchmark":  # copy/pickle probe these before __init__ ran
            raise AttributeError(name)
        return getattr(self.benchmark, name)

    @cached_property
    def _few_train(self) -> Split:
        full = self.benchmark.train_set()
        return full.subset(per_class_rows(full.labels, self.shots, _seed(self.benchmark.name, "train")))

    @cached_property
    def _few_val(self) -> Split:
        full = self.benchmark.val_set()
        if self.benchmark.own_val:
            return full
        return full.subset(per_class_rows(full.labels, self.shots, _seed(self.benchmark.name, "val")))

    def train_set(self) -> Split:
        return self._few_train

    def val_set(self) -> Split:
        return self._few_val

    def describe(self) -> str:
        return f"{self.benchmark.describe()}; {self.shots} shots a class"
