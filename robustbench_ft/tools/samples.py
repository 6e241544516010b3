"""A picture of the embedded world: one row per domain, one column per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..data.shapes import CLASSES
from ..data.styles import DOMAINS
from ..data.synthetic import render_image


def sample_grid(out: Path, per_domain: int = 12, scale: int = 3, world_seed: int = 0) -> Path:
    """Render the first `per_domain` test images of each domain into one PNG."""
    rows = []
    for domain in DOMAINS:
        tiles = [render_image(world_seed, "test", domain, i, CLASSES)[0] for i in range(per_domain)]
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    image = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out
