"""Deterministic generation of the embedded world's splits, with an on-disk cache.

Image i of (world seed, split, domain) is drawn from its own numpy Generator seeded with those four
numbers, so an image never depends on how many workers rendered the split or in which order, and
the same seed gives byte-identical arrays on any machine with the same PIL.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .shapes import CLASSES
from .styles import COLOURS, DOMAINS, STYLES

GENERATOR_VERSION = 1
SPLIT_IDS = {"pretrain": 1, "train": 2, "val": 3, "test": 4}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)


@dataclass(frozen=True)
class ImageArrays:
    """One split of one domain: uint8 images (N, H, W, 3) and per-image labels and attributes."""

    images: np.ndarray
    labels: np.ndarray
    colours: np.ndarray
    radii: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def digest(self) -> str:
        """SHA-256 of the pixels and labels: what the determinism tests compare."""
        h = hashlib.sha256(self.images.tobytes())
        h.update(self.labels.tobytes())
        return h.hexdigest()


def render_image(world_seed: int, split: str, domain: str, index: int, classes: tuple[str, ...],
                 size: int = 32) -> tuple[np.ndarray, int, int, float]:
    """Render image `index` of a split: (pixels, label, colour id, radius at 64 px)."""
    rng = np.random.default_rng([world_seed, SPLIT_IDS[split], DOMAINS.index(domain), index])
    label = index % len(classes)
    rendered = STYLES[domain](rng, classes[label])
    pixels = np.asarray(rendered.image.resize((size, size), Image.BOX), np.uint8)
    return pixels, label, COLOUR_NAMES.index(rendered.colour), rendered.radius


def _render_range(args: tuple[int, str, str, int, int, tuple[str, ...], int]) -> list:
    world_seed, split, domain, start, stop, classes, size = args
    return [render_image(world_seed, split, domain, i, classes, size) for i in range(start, stop)]


def generate(world_seed: int, split: str, domain: str, per_class: int,
             classes: tuple[str, ...] = CLASSES, size: int = 32, workers: int | None = None
             ) -> ImageArrays:
    """Render `per_class` images of every class, class-interleaved, in parallel processes."""
    _check(split, domain, classes)
    total = per_class * len(classes)
    workers = workers or min(os.cpu_count() or 1, 4)
    chunk = max(64, -(-total // (workers * 4)))
    jobs = [(world_seed, split, domain, s, min(s + chunk, total), classes, size)
            for s in range(0, total, chunk)]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_render_range, jobs))
    else:
        parts = [_render_range(job) for job in jobs]
    rows = [row for part in parts for row in part]
    return ImageArrays(
        images=np.stack([r[0] for r in rows]) if rows else np.zeros((0, size, size, 3), np.uint8),
        labels=np.asarray([r[1] for r in rows], np.int64),
        colours=np.asarray([r[2] for r in rows], np.int64),
        radii=np.asarray([r[3] for r in rows], np.float32),
    )


def _check(split: str, domain: str, classes: tuple[str, ...]) -> None:
    if split not in SPLIT_IDS:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLIT_IDS)}")
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; the embedded world draws {list(DOMAINS)}")
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise ValueError(f"unknown classes {unknown}; the embedded world draws {list(CLASSES)}")


def cache_dir() -> Path:
    """Where generated splits are kept: $ROBUSTBENCH_FT_CACHE or ~/.cache/robustbench-ft."""
    root = os.environ.get("ROBUSTBENCH_FT_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "robustbench-ft"


def load_split(world_seed: int, split: str, domain: str, per_class: int,
               classes: tuple[str, ...] = CLASSES, size: int = 32) -> ImageArrays:
    """Generate a split once and reuse it; the cache file is written atomically."""
    key = hashlib.sha256(repr((GENERATOR_VERSION, world_seed, split, domain, per_class, classes,
                               size)).encode()).hexdigest()[:16]
    path = cache_dir() / f"embedded-{split}-{domain}-{key}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                return ImageArrays(**{k: data[k] for k in ("images", "labels", "colours", "radii")})
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn or foreign file: regenerate it
    arrays = generate(world_seed, split, domain, per_class, classes, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, images=arrays.images, labels=arrays.labels, colours=arrays.colours,
             radii=arrays.radii)
    os.replace(tmp, path)
    return arrays
