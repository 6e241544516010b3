"""ImageNet's tree: each split a folder of class folders (the YAML's `folders:`), at the published
counts times the fraction. Classes are the 1,000 WordNet ids, the list timm ships (installed with
open_clip), in sorted order, which is ImageNet's label order; ImageNet-V2's folders are `0`..`999`;
ImageNet-R and -A hold the 200 classes each that timm lists for them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ...core.config import ConfigError
from ...data.imagenet import PUBLISHED as TEST_COUNTS
from .base import FAKERS, FakeOptions, FakeTree, Linker, scaled, spread

TRAIN_IMAGES = 1_281_167
SUBSETS = {"imagenet-r": "imagenet_r_synsets.txt", "imagenet-a": "imagenet_a_synsets.txt"}


def _synsets(name: str) -> list[str]:
    try:
        return (resources.files("timm.data") / "_info" / name).read_text().split()
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise ConfigError(f"the ImageNet class list comes from timm's {name} (timm is installed with "
                          f"open_clip): {err}") from err


@FAKERS.register("imagenet")
def write(config: dict[str, Any], source: Path, root: Path, options: FakeOptions, linker: Linker) -> FakeTree:
    wnids = _synsets("imagenet_synsets.txt")
    index = {w: i for i, w in enumerate(wnids)}
    folders, schemes = config["folders"], dict(config.get("labels") or {})
    train_split = str(config.get("train_split", "train"))
    tree = FakeTree(root)
    for split in dict.fromkeys([train_split, config["id_split"], *config["ood_splits"]]):
        classes = _synsets(SUBSETS[split]) if split in SUBSETS else wnids
        published = TRAIN_IMAGES if split == train_split else TEST_COUNTS.get(split)
        if published is None:
            raise ConfigError(f"{source}: no published ImageNet count for split {split!r}")
        style = "imagenet" if split in (train_split, config["id_split"], "imagenet-v2") else split
        total = 0
        for wnid, count in zip(classes, spread(scaled(published, options.fraction), len(classes))):
            label = index[wnid]
            name = str(label) if schemes.get(split, "wnid") == "index" else wnid
            folder = root / folders[split] / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                linker.link(style, label, i, folder / f"{split}_{label:04d}_{i:05d}.JPEG")
            total += count
        tree.counts[split] = total
    return tree
