"""A class-folder benchmark's tree (family `folder`, declared in YAML alone): each split of its
`splits:` a folder of class folders, `--per-class` images each (20 by default; there is no
published count), classes as the YAML declares them (`classes:`) or `class_0` ... `class_9`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import FAKERS, FakeOptions, FakeTree, Linker

DEFAULT_PER_CLASS, DEFAULT_CLASSES = 20, 10


@FAKERS.register("folder")
def write(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    classes = options.class_names or config.get("classes") or [f"class_{i}" for i in range(DEFAULT_CLASSES)]
    per_class = options.per_class or DEFAULT_PER_CLASS
    tree = FakeTree(root)
    for split, relative in config["splits"].items():
        style = "train" if split in ("train", "val", config["id_split"]) else split
        for label, name in enumerate(classes):
            folder = root / relative / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                linker.link(style, label, i, folder / f"{i:05d}.jpg")
        tree.counts[split] = per_class * len(classes)
    return tree
