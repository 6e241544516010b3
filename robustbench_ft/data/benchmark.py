"""Benchmarks: which split trains, which split selects, which splits test, and the class prompts.

A benchmark is declared in YAML (`benchmarks/<name>.yaml`) and built by the family named in its
`family:` key (one module per family registers itself). Images travel as uint8 NCHW tensors; the
model side turns them into normalised inputs, so this package never imports the models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from ..config import ConfigError, read_yaml, require, resolve_preset
from ..registry import Registry

FAMILIES: Registry[type["Benchmark"]] = Registry("benchmark family")


@dataclass(frozen=True)
class ImageSet:
    """Images of one split held in memory as uint8 (N, 3, H, W) with int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"expected uint8 images (N, 3, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """In order, once: for evaluation."""
        for start in range(0, len(self), batch_size):
            yield self.images[start:start + batch_size], self.labels[start:start + batch_size]

    def shuffled_batches(self, batch_size: int, generator: torch.Generator
                         ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless full batches, reshuffled every epoch: for training."""
        if batch_size > len(self):
            raise ValueError(f"batch size {batch_size} exceeds the {len(self)} training images")
        while True:
            order = torch.randperm(len(self), generator=generator)
            for start in range(0, len(self) - batch_size + 1, batch_size):
                idx = order[start:start + batch_size]
                yield self.images[idx], self.labels[idx]


class Benchmark(ABC):
    """A named set of splits. Subclasses load images; this class holds the declaration."""

    def __init__(self, config: dict[str, Any], source: Path) -> None:
        self.config = config
        self.source = source
        self.name: str = require(config, "name", str, source)
        self.classes: list[str] = require(config, "classes", list, source)
        self.templates: list[str] = require(config, "templates", list, source)
        self.id_split: str = require(config, "id_split", str, source)
        self.ood_splits: list[str] = require(config, "ood_splits", list, source)
        self.train_defaults: dict[str, Any] = dict(config.get("train", {}) or {})
        self.augment: list[str] = list(config.get("augment", ["hflip"]))
        bad = [t for t in self.templates if "{}" not in t]
        if bad:
            raise ConfigError(f"{source}: every template needs a '{{}}' for the class name: {bad}")

    @property
    def test_splits(self) -> list[str]:
        return [self.id_split, *self.ood_splits]

    def role(self, split: str) -> str:
        return "id" if split == self.id_split else "ood"

    @abstractmethod
    def train_set(self) -> ImageSet: ...

    @abstractmethod
    def val_set(self) -> ImageSet: ...

    @abstractmethod
    def test_set(self, split: str) -> ImageSet: ...

    def prompts(self, class_name: str) -> list[str]:
        return [t.format(class_name) for t in self.templates]


def load_benchmark(name_or_path: str) -> Benchmark:
    """Build a benchmark from a shipped preset name or a YAML path."""
    path = resolve_preset("benchmarks", name_or_path)
    config = read_yaml(path)
    family = require(config, "family", str, path)
    from . import families  # noqa: F401  (registers the families)
    if family not in FAMILIES:
        raise ConfigError(f"{path}: unknown family {family!r}; known: {', '.join(FAMILIES.names())}")
    return FAMILIES.get(family)(config, path)
