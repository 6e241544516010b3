"""The 'synthetic' benchmark family: the embedded procedural world (see synthetic.py).

Fine-tuning trains on one domain's train split, selects on its val split, and tests on the test
split of every domain: the ID domain and the shifted ones.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from ..core.config import ConfigError, require
from .benchmark import FAMILIES, Benchmark, ImageSet
from .styles import DOMAINS
from .synthetic import load_split


@lru_cache(maxsize=32)
def _cached_set(world_seed: int, split: str, domain: str, per_class: int,
                classes: tuple[str, ...], size: int) -> ImageSet:
    arrays = load_split(world_seed, split, domain, per_class, classes, size)
    return ImageSet(torch.from_numpy(arrays.images).permute(0, 3, 1, 2).contiguous(),
                    torch.from_numpy(arrays.labels))


@FAMILIES.register("synthetic")
class SyntheticBenchmark(Benchmark):
    """Splits of the embedded world; the domain of a test split is the split's name."""

    own_val = True  # the world draws a validation split of its own

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self._classes: list[str] = require(config, "classes", list, source)
        self.world_seed = int(config.get("world_seed", 0))
        self.image_size = int(config.get("image_size", 32))
        sizes = require(config, "per_class", dict, source)
        self.per_class = {k: int(require(sizes, k, int, f"{source}: per_class")) for k in ("train", "val", "test")}
        unknown = [d for d in self.test_splits if d not in DOMAINS]
        if unknown:
            raise ConfigError(f"{source}: unknown domains {unknown}; the world draws {list(DOMAINS)}")

    @property
    def classes(self) -> list[str]:
        return self._classes

    def _set(self, split: str, domain: str) -> ImageSet:
        return _cached_set(self.world_seed, split, domain, self.per_class[split],
                           tuple(self.classes), self.image_size)

    def train_set(self) -> ImageSet:
        return self._set("train", self.id_split)

    def val_set(self) -> ImageSet:
        return self._set("val", self.id_split)

    def test_set(self, split: str) -> ImageSet:
        return self._set("test", self._test_split_name(split))
