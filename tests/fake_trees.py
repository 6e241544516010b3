"""Small data trees in the published layouts, generated for tests (a few JPEGs per class)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Label order of the real split files: not sorted folder order (sorted, cell_phone comes first).
DOMAINNET_CLASSES = ["cello", "cell_phone", "zebra"]
DOMAINNET_DOMAINS = ["real", "painting", "clipart", "infograph", "sketch"]


def jpeg(path: Path, seed: int, size: int = 24) -> Path:
    """A small JPEG whose colour depends on `seed` (so classes differ a little)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, 3)
    pixels = np.clip(base + rng.integers(-30, 30, (size, size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=90)
    return path


def make_domainnet(root: Path, train_per_class: int = 8, test_per_class: int = 2) -> Path:
    """<root>/domainnet/<domain>/<class>/<file>.jpg with <domain>_train.txt and _test.txt."""
    base = root / "domainnet"
    for d, domain in enumerate(DOMAINNET_DOMAINS):
        for part, count in (("train", train_per_class), ("test", test_per_class)):
            lines = []
            for label, cls in enumerate(DOMAINNET_CLASSES):
                for i in range(count):
                    relative = f"{domain}/{cls}/{domain}_{part}_{label}_{i}.jpg"
                    jpeg(base / relative, seed=1000 * d + 100 * label + i + (50 if part == "test" else 0))
                    lines.append(f"{relative} {label}")
            (base / f"{domain}_{part}.txt").write_text("\n".join(lines) + "\n")
    return base


def make_imagenet(root: Path, wnids: list[str], subset: list[str]) -> Path:
    """train and val with one image per wnid; v2 in index folders; -R and -A with `subset` only."""
    base = root / "imagenet"
    for i, wnid in enumerate(wnids):
        jpeg(base / "train" / wnid / "a.jpg", i, size=8)
    for i, wnid in enumerate(wnids[:5]):
        jpeg(base / "val" / wnid / "a.jpg", i, size=8)
    for index in ("2", "10", "100"):  # string order would put 10 and 100 before 2
        jpeg(base / "imagenetv2-matched-frequency-format-val" / index / "a.jpg", int(index), size=8)
    for split in ("imagenet-r", "imagenet-a", "imagenet-sketch"):
        for j, wnid in enumerate(subset):
            jpeg(base / split / wnid / f"{j}.jpg", j, size=8)
    return base


def make_shapes(root: Path, extra: str = "") -> str:
    """A class-folder benchmark declared in YAML alone: 2 classes, 3 images each in train and photo,
    the sketch split holding one class only; its YAML's path (`extra`: more YAML lines)."""
    for split, classes in (("train", ["circle", "square"]), ("test/photo", ["circle", "square"]),
                           ("test/sketch", ["square"])):
        for c in classes:
            for i in range(3):
                jpeg(root / "shapes" / split / c / f"{i}.jpg", i)
    (root / "shapes.yaml").write_text(
        "name: shapes\nfamily: folder\ndata_root: .\nsplits: {train: train, photo: test/photo, sketch: test/sketch}\n"
        "id_split: photo\nood_splits: [sketch]\ntemplates: ['a {}']\n" + extra)
    return str(root / "shapes.yaml")
