"""The full-size fake trees the scale measurements run on, made once in the scale folder."""

from __future__ import annotations

import time
from pathlib import Path

from ....tools.fakedata import write_fake
from ....tools.fakedata.base import MARKER, FakeOptions


def full_size_trees(folder: Path, with_imagenet: bool = True) -> tuple[Path, Path | None, list]:
    """(DomainNet's data root, ImageNet's or None, rows saying what making them took)."""
    from .. import Row
    rows = []
    roots = {}
    for like in ("domainnet", "imagenet") if with_imagenet else ("domainnet",):
        root = folder / f"fake-{like}"
        if not (root / like / MARKER).is_file():
            started = time.perf_counter()
            tree = write_fake(like, root, FakeOptions())
            rows.append(Row("generated trees (data fake)", f"{like}: {sum(tree.counts.values()):,} images, "
                            f"{tree.sources:,} generated JPEGs (s)", f"{time.perf_counter() - started:.0f}"))
        roots[like] = root
    return roots["domainnet"], roots.get("imagenet"), rows
