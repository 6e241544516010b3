"""Splits of image files, decoded in DataLoader workers: the form of every real benchmark.

A `FileSplit` is a list of (path, label); paths are strings (ImageNet's training split is 1.28 M
of them, listed by every job as it starts: path objects would cost seconds there). Images are
decoded with PIL and transformed to uint8 pixels by the model's own pipeline
(`inputs.eval_pixels()` / `inputs.train_pixels()`, handed in, so this module never imports the
models) inside DataLoader workers, with pinned memory and non-blocking copies to the device,
where `inputs.normalize` scales them (bit for bit what the float transforms give). Training order and augmentation are functions of the run's generator
alone: the sampler draws each epoch's permutation and one seed per sample from it, and a sample
is augmented under its own seed, so the number of workers never changes a result.

A file that fails to decode is an error naming it, unless the benchmark says
`skip_bad_images: true`: then it is left out of its batch and remembered (`bad_images`), and the
run's record lists it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate, get_worker_info

from ..core.config import ConfigError
from .benchmark import Groups, shard_rows, shuffled_index_batches
from .eval_cache import EvalCache


class BadImageError(ConfigError):
    """An image file could not be read or decoded."""


def default_workers() -> int:
    """DataLoader workers: the CPUs this process may use, less one for the training loop, up to 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(8, cpus - 1))


@dataclass(frozen=True)
class _Undecodable:
    """What a worker hands back for a file it cannot decode; the main process decides what to do."""

    index: int
    reason: str


class _Decoded(Dataset):
    """(path, label) -> (tensor, label); items are (index, seed) pairs, seed -1 for no augmentation."""

    def __init__(self, split: "FileSplit", transform: Callable) -> None:
        self.split, self.transform = split, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int] | _Undecodable:
        index, seed = item
        try:
            image = self.split.open_image(index)
        except Exception as err:  # PIL raises many kinds on a truncated or non-image file
            return _Undecodable(index, f"{type(err).__name__}: {err}")
        label = int(self.split.labels[index])
        if seed < 0:
            return self.transform(image), label
        if get_worker_info() is not None:  # a worker's own random state serves nothing else: no need to keep it
            torch.manual_seed(seed)
            return self.transform(image), label
        with torch.random.fork_rng(devices=[]):  # in the training process: leave its random state as it was
            torch.manual_seed(seed)
            return self.transform(image), label


class _SeededOrder(Sampler):
    """Endless (index, seed) batches from the run's generator: a permutation per epoch, a seed per sample."""

    def __init__(self, size: int, batch_size: int, generator: torch.Generator, skip: int = 0,
                 shard: tuple[int, int] = (0, 1)) -> None:
        self.size, self.batch_size, self.generator, self.skip = size, batch_size, generator, skip
        self.rows = shard_rows(batch_size, shard)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for index, idx in enumerate(shuffled_index_batches(self.size, self.batch_size, self.generator)):
            seeds = torch.randint(0, 2 ** 62, (len(idx),), generator=self.generator)
            if index >= self.skip:  # a resumed run passes over batches without decoding them
                yield list(zip(idx.tolist(), seeds.tolist()))[self.rows]  # this rank decodes its shard only


def _collate(items: list) -> tuple[torch.Tensor, torch.Tensor, list[_Undecodable]]:
    """(images, labels, the files that did not decode)."""
    kept = [item for item in items if not isinstance(item, _Undecodable)]
    bad = [item for item in items if isinstance(item, _Undecodable)]
    if not kept:
        return torch.empty(0), torch.empty(0, dtype=torch.long), bad
    # default_collate stacks a worker's batch straight into shared memory: one copy, not two
    return default_collate([x for x, _ in kept]), torch.tensor([y for _, y in kept], dtype=torch.long), bad


@dataclass
class FileSplit:
    """A split of image files with their labels (indices into the benchmark's classes)."""

    paths: list[str]
    labels: torch.Tensor
    class_subset: list[int] | None = None
    skip_bad_images: bool = False
    workers: int = field(default_factory=default_workers)
    bad_images: set[str] = field(default_factory=set)  # files skipped so far (skip_bad_images)
    groups: Groups | None = None

    def __post_init__(self) -> None:
        self.paths = [p if isinstance(p, str) else os.fspath(p) for p in self.paths]
        if len(self.paths) != len(self.labels):
            raise ValueError(f"{len(self.paths)} files but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, rows: list[int]) -> "FileSplit":
        """The files at `rows`; files it skips are noted in this split's `bad_images` too (the
        benchmark reports the splits it made, a subset among them through its parent)."""
        index = torch.as_tensor(rows, dtype=torch.long)
        groups = None if self.groups is None else self.groups.take(index)
        return dataclasses.replace(self, paths=[self.paths[i] for i in index.tolist()], labels=self.labels[index],
                                   bad_images=self.bad_images, groups=groups)

    def open_image(self, index: int) -> Image.Image:
        """The image at `index` as RGB (a file here; an array row in `ArraySplit`)."""
        with Image.open(self.paths[index]) as image:
            return image.convert("RGB")

    def _loader(self, pixels: Callable, inputs: Any, batch_sampler: Any, device: torch.device | str,
                persistent: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches decoded to uint8 pixels in the workers (a quarter of the bytes of float inputs
        to hand over, and to copy to a GPU), normalised where the model runs (`inputs.normalize`)."""
        loader = DataLoader(_Decoded(self, pixels), batch_sampler=batch_sampler, collate_fn=_collate,
                            num_workers=self.workers, pin_memory=torch.device(device).type == "cuda",
                            persistent_workers=persistent and self.workers > 0)
        for images, labels, bad in loader:
            self._note_bad(bad)
            if len(labels):
                yield inputs.normalize(images, device), labels.to(device, non_blocking=True)

    def _note_bad(self, bad: list[_Undecodable]) -> None:
        """Files of a batch that did not decode: an error, or with skip_bad_images noted and left out."""
        if bad and not self.skip_bad_images:
            path, reason = self.paths[bad[0].index], bad[0].reason
            raise BadImageError(f"cannot decode image {path}: {reason} (set skip_bad_images: true "
                                f"in the benchmark YAML to skip such files)")
        self.bad_images.update(self.paths[b.index] for b in bad)

    def eval_batches(self, batch_size: int, inputs: Any, device: torch.device | str = "cpu",
                     cache: Path | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """In order, once, with the model's deterministic eval transform; with a `cache` folder,
        the resized pixels are decoded once and read from disk afterwards (eval_cache.py)."""
        if cache is not None:
            stored = EvalCache(cache, self, inputs)
            if not stored.ready():
                stored.build(batch_size)
            return stored.batches(batch_size, device)
        return self._loader(inputs.eval_pixels(), inputs, self._in_order(batch_size), device, persistent=False)

    def plain_train_batches(self, batch_size: int, inputs: Any, device: torch.device | str = "cpu",
                            flip: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every training file once, in order, through the train transform without its random
        flip (deterministic when `inputs.fixed_variants()` is not None), flipped if `flip`."""
        batches = self._loader(inputs.train_pixels(random_flip=False), inputs, self._in_order(batch_size), device,
                               persistent=False)
        return ((images.flip(-1), labels) for images, labels in batches) if flip else batches

    def _in_order(self, batch_size: int) -> list[list[tuple[int, int]]]:
        return [[(i, -1) for i in range(start, min(start + batch_size, len(self)))]
                for start in range(0, len(self), batch_size)]

    def decoded_batches(self, batch_size: int, transform: Callable) -> Iterator[tuple[list[int], torch.Tensor]]:
        """(rows, transformed images) in split order; undecodable files raise or, with
        skip_bad_images, are left out of `rows` (and noted in bad_images)."""
        order = self._in_order(batch_size)
        loader = DataLoader(_Decoded(self, transform), batch_sampler=order, collate_fn=_collate,
                            num_workers=self.workers)
        for batch, (images, _, bad) in zip(order, loader):
            self._note_bad(bad)
            skipped = {b.index for b in bad}
            rows = [i for i, _ in batch if i not in skipped]
            if rows:
                yield rows, images

    def train_batches(self, batch_size: int, generator: torch.Generator, inputs: Any,
                      device: torch.device | str = "cpu", skip: int = 0, shard: tuple[int, int] = (0, 1)
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless shuffled, augmented batches; a function of `generator`, whatever the workers."""
        order = _SeededOrder(len(self), batch_size, generator, skip, shard)
        return self._loader(inputs.train_pixels(), inputs, order,
                            device, persistent=True)


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
MAX_LISTED = 20


def listed(paths: list, what: str) -> str:
    """'3 missing images: a, b, c' with at most MAX_LISTED named, then a count."""
    shown = ", ".join(str(p) for p in paths[:MAX_LISTED])
    more = f" and {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
    return f"{len(paths)} {what}: {shown}{more}"


def images_under(folder: Path | str) -> list[str]:
    """Image files directly under `folder`, sorted by name. The folder's entries say what they are
    (no stat per file where the file system reports entry types, as local and network ones do)."""
    with os.scandir(folder) as entries:
        return sorted(e.path for e in entries if e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file())


def undecodable(paths: list[str]) -> list[str]:
    """The files among `paths` that PIL cannot fully decode (data check --deep)."""
    bad = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
        except Exception:  # any decoding failure makes the file unusable
            bad.append(path)
    return bad


def holdout(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(kept, held out) indices: a fixed, seeded `fraction` of `size` (at least one) held out."""
    count = max(1, round(fraction * size))
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    held = sorted(order[:count])
    held_set = set(held)
    return [i for i in range(size) if i not in held_set], held
