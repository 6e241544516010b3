"""`robustbench-ft data fake`: a benchmark's tree, generated, at its published size or a fraction.

The tree has the benchmark's real layout (folders, split files, class folder names and label
order), each split at the published image count times `fraction`; every image is a hard link to
one of a few JPEGs generated per class and split (images.py), so the tree costs little disk and a
model can still learn the classes apart. A user runs a whole cluster set-up on it (`data check`,
`--dry-run`, a short sweep) before downloading the real data; `robustbench-ft bench --scale`
measures the harness at full size on it. One module per benchmark family registers its writer.
"""

from __future__ import annotations

from . import cifar, domainnet, folder, imagenet, wilds  # noqa: F401  (register the writers)
from .base import FAKERS, FakeTree, write_fake

__all__ = ["FAKERS", "FakeTree", "write_fake"]
