"""CIFAR-10 and its shifts, as WiSE-FT and LP-FT test them: CIFAR-10.1 (v6), CIFAR-10.2, STL-10.

Layout: the datasets' released array files under one folder (`data_dir`, default `cifar10`):
- `cifar-10-batches-py/`: data_batch_1..5 (train), test_batch (ID test), batches.meta; Python
  pickles of {data: (10000, 3072) uint8 rows of R, G, B planes, labels: [...]}
- `CIFAR-10.1/cifar10.1_v6_data.npy` (2000, 32, 32, 3) uint8 and `cifar10.1_v6_labels.npy`
- `cifar-10.2/cifar102_test.npz` with `images` (2000, 32, 32, 3) and `labels`
- `stl10_binary/test_X.bin` (8000 images of 3 x 96 x 96 bytes, each plane column-major) and
  `test_y.bin` (labels 1..10 in STL-10's order)

STL-10 is scored on the 9 classes it shares with CIFAR-10 (its 'monkey' images are left out, and
CIFAR's 'frog' has no STL images), through the logit restriction ImageNet-R and -A use: the
evaluator ranks only the 9 shared classes. Every split is an `ArraySplit`: rows of an array in
memory, handed to the model's own PIL preprocessing in the DataLoader workers like image files
(so a 224 px model sees CIFAR's 32 px images upsampled as open_clip's transform does). ID
validation is a fixed, seeded held-out part of the 50,000 training images (`holdout.fraction`, 2%
by default: 1,000 images).
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..core.config import ConfigError
from .benchmark import FAMILIES, DataCheck
from .file_benchmark import FileBenchmark
from .files import FileSplit, default_workers, holdout

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STL_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
STL_TO_CIFAR = [0, 2, 1, 3, 4, 5, 7, -1, 8, 9]  # STL-10 label -> CIFAR-10 label; monkey: none
TRAIN_BATCHES = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
FILES = {"cifar10": ["cifar-10-batches-py/test_batch"],
         "cifar10.1": ["CIFAR-10.1/cifar10.1_v6_data.npy", "CIFAR-10.1/cifar10.1_v6_labels.npy"],
         "cifar10.2": ["cifar-10.2/cifar102_test.npz"],
         "stl10": ["stl10_binary/test_X.bin", "stl10_binary/test_y.bin"]}
PUBLISHED = {"train": 50_000, "cifar10": 10_000, "cifar10.1": 2_000, "cifar10.2": 2_000, "stl10": 7_200}


@dataclass
class ArraySplit(FileSplit):
    """A split whose images are rows of an (N, H, W, 3) uint8 array; `paths` name each row
    ('<file>#<row>') for messages and the evaluation cache's key."""

    pixels: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def open_image(self, index: int) -> Image.Image:
        return Image.fromarray(self.pixels[self.rows[index]])

    def subset(self, rows: list[int]) -> ArraySplit:
        made = super().subset(rows)
        return dataclasses.replace(made, rows=self.rows[np.asarray(rows, dtype=np.int64)])


def _unpickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images NHWC, labels) of a CIFAR-10 python batch; keys as bytes (the release) or str."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise ConfigError(f"{path}: not a CIFAR-10 python batch (no data or labels)")
    return np.asarray(data, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(labels, np.int64)


@FAMILIES.register("cifar10")
class Cifar10(FileBenchmark):
    layout = ("<root>/cifar-10-batches-py/ (python batches), <root>/CIFAR-10.1/cifar10.1_v6_{data,labels}.npy, "
              "<root>/cifar-10.2/cifar102_test.npz, <root>/stl10_binary/test_{X,y}.bin")

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        config = {"holdout": {"fraction": 0.02, "seed": 0}, **config}
        super().__init__(config, source, **options)
        unknown = [s for s in self.test_splits if s not in FILES]
        if unknown:
            raise ConfigError(f"{source}: no CIFAR-10 split {unknown}; known: {list(FILES)}")

    @property
    def classes(self) -> list[str]:
        return list(CLASSES)

    def required(self, root: Path) -> list[Path]:
        return [root / f for f in TRAIN_BATCHES] + [root / f for s in self.test_splits for f in FILES[s]]

    def _arrays(self, split: str) -> tuple[np.ndarray, np.ndarray, str]:
        """(images NHWC uint8, CIFAR-10 labels, the file rows are named by) of a split."""
        root = self.root
        try:
            if split == "train":
                parts = [_unpickle(root / f) for f in TRAIN_BATCHES]
                return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), \
                    str(root / "cifar-10-batches-py/data_batch")
            if split == "cifar10":
                return (*_unpickle(root / FILES[split][0]), str(root / FILES[split][0]))
            if split == "cifar10.1":
                data, labels = (np.load(root / f) for f in FILES[split])
                return data.astype(np.uint8), labels.astype(np.int64), str(root / FILES[split][0])
            if split == "cifar10.2":
                with np.load(root / FILES[split][0]) as arrays:
                    return arrays["images"].astype(np.uint8), arrays["labels"].astype(np.int64), \
                        str(root / FILES[split][0])
            pixels = np.fromfile(root / FILES[split][0], dtype=np.uint8)
            images = pixels.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)  # planes stored column-major
            labels = np.fromfile(root / FILES[split][1], dtype=np.uint8).astype(np.int64) - 1
            return images, np.asarray(STL_TO_CIFAR)[labels], str(root / FILES[split][0])
        except (OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError) as err:
            raise ConfigError(f"{self.root}: cannot read split {split!r} ({type(err).__name__}: {err}); "
                              f"expected {self.layout}") from err

    def _array_split(self, split: str) -> ArraySplit:
        images, labels, named = self._arrays(split)
        if images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(labels):
            raise ConfigError(f"{named}: expected (N, H, W, 3) images and N labels, got {images.shape}, {len(labels)}")
        kept = np.flatnonzero(labels >= 0)  # STL-10's monkeys have no CIFAR-10 class
        subset = sorted(set(labels[kept].tolist())) if split == "stl10" else None
        return ArraySplit([f"{named}#{i}" for i in kept], torch.as_tensor(labels[kept]), subset,
                          workers=default_workers() if self.workers is None else self.workers, pixels=images, rows=kept)

    def make_train_val(self) -> tuple[ArraySplit, ArraySplit]:
        full = self._array_split("train")
        kept, held = holdout(len(full), self.holdout_fraction, self.holdout_seed)
        return full.subset(kept), full.subset(held)

    def make_test_set(self, split: str) -> ArraySplit:
        return self._array_split(split)

    def all_files(self) -> dict[str, list[str]]:
        """Nothing to decode file by file (`data check --deep`): the arrays are the images."""
        return {}

    def check_files(self, root: Path, report: DataCheck) -> None:
        for split in ["train", *self.test_splits]:
            try:
                _, labels, _ = self._arrays(split)
            except ConfigError as err:
                report.errors.append(str(err))
                continue
            report.counts[split] = int((labels >= 0).sum())
        self.compare_counts(report, PUBLISHED)
