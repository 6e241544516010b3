"""CIFAR-10 and its shifts as their released array files (data/cifar.py reads them): the python
batches, CIFAR-10.1 v6's .npy pair, CIFAR-10.2's test .npz and STL-10's binary test files, each at
the published count times the fraction (or `per_class` images a class). Pixels are the generated
class images (images.py) shrunk to 32 px (96 px for STL-10), a few variations a class; STL-10 has
its own class order and a 'monkey' class the loader must leave out.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ...data.cifar import CLASSES, FILES, STL_CLASSES, TRAIN_BATCHES
from .base import FAKERS, FakeOptions, FakeTree, Linker, scaled, spread
from .images import render

TEST_COUNTS = {"cifar10": 10_000, "cifar10.1": 2_000, "cifar10.2": 2_000, "stl10": 8_000}


def _images(style: str, labels: list[int], size: int, options: FakeOptions, names: list[str]) -> np.ndarray:
    """(N, size, size, 3) uint8: each label's generated image (by class name, so STL-10's 'car' looks
    like CIFAR's 'automobile' only where the names agree, as with the real data's shared classes)."""
    made: dict[tuple[int, int], np.ndarray] = {}
    out = np.empty((len(labels), size, size, 3), np.uint8)
    counts: dict[int, int] = {}
    for row, label in enumerate(labels):
        variation = counts.get(label, 0) % max(1, options.sources_per_class)
        counts[label] = counts.get(label, 0) + 1
        key = (label, variation)
        if key not in made:
            shared = CLASSES.index(names[label]) if names[label] in CLASSES else 100 + label
            image = Image.fromarray(render(style, shared, variation, options.seed)).resize((size, size), Image.BICUBIC)
            made[key] = np.asarray(image)
        out[row] = made[key]
    return out


def _labels(total: int, classes: int, options: FakeOptions) -> list[int]:
    counts = [options.per_class] * classes if options.per_class else spread(total, classes)
    return [label for label, count in enumerate(counts) for _ in range(count)]


@FAKERS.register("cifar10")
def write(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    tree = FakeTree(root)
    for folder in ("cifar-10-batches-py", "CIFAR-10.1", "cifar-10.2", "stl10_binary"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    labels = _labels(scaled(50_000, options.fraction), 10, options)
    order = np.random.default_rng(options.seed).permutation(len(labels))  # batches are not class-sorted
    labels = [labels[i] for i in order]
    images = _images("cifar", labels, 32, options, CLASSES)
    for i, path in enumerate(TRAIN_BATCHES):
        rows = slice(i * len(labels) // 5, (i + 1) * len(labels) // 5)
        _pickle(root / path, images[rows], labels[rows])
    tree.counts["train"] = len(labels)
    with open(root / "cifar-10-batches-py/batches.meta", "wb") as f:
        pickle.dump({"label_names": CLASSES, "num_cases_per_batch": 10_000, "num_vis": 3072}, f)
    for split, published in TEST_COUNTS.items():
        names = STL_CLASSES if split == "stl10" else CLASSES
        labels = _labels(scaled(published, options.fraction), 10, options)
        style, size = ("cifar" if split == "cifar10" else split), (96 if split == "stl10" else 32)
        images = _images(style, labels, size, options, names)
        files = [root / f for f in FILES[split]]
        if split == "cifar10":
            _pickle(files[0], images, labels)
        elif split == "cifar10.1":
            np.save(files[0], images)
            np.save(files[1], np.asarray(labels, np.int32))
        elif split == "cifar10.2":
            np.savez(files[0], images=images, labels=np.asarray(labels, np.int64), label_names=np.asarray(CLASSES))
        else:
            files[0].write_bytes(images.transpose(0, 3, 2, 1).tobytes())  # planes column-major, as STL-10's
            files[1].write_bytes((np.asarray(labels, np.uint8) + 1).tobytes())  # labels 1..10
        tree.counts[split] = len(labels)
    return tree


def _pickle(path: Path, images: np.ndarray, labels: list[int]) -> None:
    """A CIFAR-10 python batch: rows of the R, G and B planes, bytes keys as the release has them."""
    with open(path, "wb") as f:
        pickle.dump({b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1), b"labels": list(labels)}, f)
