"""The few JPEGs a fake tree's images link to: per split style and class, a few variations.

Each class has its own colour and shape placement (so a classifier can tell the classes apart);
each split style (a domain, a shift) its own rendering (photo-like texture, grayscale strokes,
flat clip art, ...), so ID and OOD splits differ as they do in the real benchmarks. Images are
500 x 375 (ImageNet's typical size) JPEGs at quality 90, so decoding them costs what decoding
real photos costs; made once, on first use, deterministically from the seed.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 500, 375


def _unit(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@functools.lru_cache(maxsize=8)
def _canvas(style: str, seed: int) -> tuple[np.ndarray, bool]:
    """A style's background (a coloured gradient with grain, twice the image's width so instances
    can take shifted views of it) and whether the style draws strokes (a sketch-like domain)."""
    look = _unit(seed, "style", style)
    y, x = np.mgrid[0:HEIGHT, 0:2 * WIDTH].astype(np.float32)
    base = look.integers(0, 256, 3).astype(np.float32)
    canvas = base + (x / WIDTH)[..., None] * look.normal(0, 40, 3).astype(np.float32) \
        + (y / HEIGHT)[..., None] * look.normal(0, 40, 3).astype(np.float32)
    canvas += look.normal(0, float(look.uniform(4, 18)), canvas.shape).astype(np.float32)
    return canvas, bool(look.random() < 0.4)


_Y, _X = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)


def render(style: str, label: int, variation: int, seed: int) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) uint8: the class's shape and colour in the style's rendering."""
    klass, instance = _unit(seed, "class", label), _unit(seed, style, label, variation)
    colour = klass.integers(40, 216, 3).astype(np.float32)
    cx, cy = klass.uniform(0.3, 0.7) * WIDTH, klass.uniform(0.3, 0.7) * HEIGHT
    radius = klass.uniform(0.15, 0.3) * HEIGHT
    sides = int(klass.integers(0, 3))  # 0: disc, 1: square, 2: diamond
    canvas, strokes = _canvas(style, seed)
    shift = int(instance.integers(0, WIDTH))
    image = canvas[:, shift:shift + WIDTH].copy()
    dx, dy = _X - cx - float(instance.normal(0, 12)), _Y - cy - float(instance.normal(0, 12))
    inside = [dx ** 2 + dy ** 2 < radius ** 2, np.maximum(abs(dx), abs(dy)) < radius, abs(dx) + abs(dy) < radius][sides]
    image[inside] = colour + (image[inside] - image[inside].mean(0)) * 0.5  # the class colour, with grain
    if strokes:  # a sketch-like style: grayscale, edges only
        gray = image.mean(-1)
        image = np.repeat((255 - np.abs(np.diff(gray, axis=1, prepend=gray[:, :1])) * 6)[..., None], 3, axis=-1)
    return np.clip(image, 0, 255).astype(np.uint8)


class SourceImages:
    """Made once under `folder`: `per_class` JPEGs for each (style, class) that a tree asks for."""

    def __init__(self, folder: Path, per_class: int, seed: int) -> None:
        self.folder, self.per_class, self.seed, self.made = Path(folder), max(1, per_class), seed, 0

    def path(self, style: str, label: int, index: int) -> Path:
        variation = index % self.per_class
        path = self.folder / style / f"{label:05d}-{variation}.jpg"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            Image.fromarray(render(style, label, variation, self.seed)).save(tmp, format="JPEG", quality=90)
            tmp.replace(path)
            self.made += 1
        return path
