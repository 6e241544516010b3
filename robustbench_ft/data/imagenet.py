"""ImageNet and its distribution shifts: V2, Sketch, R and A (Lipsum-FT's ImageNet table).

Layout: each split is a folder of class folders under the data root (`folders:` in the YAML
maps split names to them). Classes are the 1,000 WordNet ids in sorted order, with open_clip's
`IMAGENET_CLASSNAMES` as prompt names. Per split, `labels:` says how a class folder names its
class: `wnid` (train, val, ImageNet-Sketch, -R, -A) or `index` (ImageNet-V2: folders `0`..`999`,
label `int(folder)`, not sorted string order). ImageNet-R and -A hold 200 of the classes each:
their `class_subset` is derived from their folder names (each checked against the 1,000 wnids),
and the evaluator restricts the logits to it. Training uses the train split less a fixed, seeded
held-out part (`holdout.fraction`, 1% by default: 12,812 images) as ID validation; the ID test
split is the official validation set.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from ..core.config import ConfigError, require
from .benchmark import FAMILIES
from .class_folders import ClassFolderBenchmark

PUBLISHED = {"imagenet-v2": 10_000, "imagenet-a": 7_500, "imagenet-r": 30_000, "imagenet-sketch": 50_889,
             "imagenet": 50_000}
LABEL_SCHEMES = ("wnid", "index")
CLASSES = 1_000


@FAMILIES.register("imagenet")
class ImageNet(ClassFolderBenchmark):
    layout = ("<root>/<split folder>/<class>/<image> for each split in the YAML's `folders:`; classes "
              "are WordNet ids (n01440764, ...), ImageNet-V2's are 0..999")
    no_class = "folders that name no ImageNet class"
    published = PUBLISHED

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.folders = require(config, "folders", dict, source)
        self.label_schemes: dict[str, str] = dict(config.get("labels", {}) or {})
        self.train_split = str(config.get("train_split", "train"))
        for split in [self.train_split, *self.test_splits]:
            if split not in self.folders:
                raise ConfigError(f"{source}: split {split!r} has no entry in `folders:`")
            if self.label_schemes.get(split, "wnid") not in LABEL_SCHEMES:
                raise ConfigError(f"{source}: labels of {split!r} must be one of {LABEL_SCHEMES}")

    @cached_property
    def wnids(self) -> list[str]:
        """The 1,000 class ids in label order (sorted), from the training split's folders."""
        folder = self.root / self.folders[self.train_split]
        wnids = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if len(wnids) != CLASSES:
            raise ConfigError(f"{folder}: {len(wnids)} class folders, expected {CLASSES} "
                              f"(one per ImageNet class)")
        return wnids

    @cached_property
    def _wnid_index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    @property
    def classes(self) -> list[str]:
        self.wnids  # noqa: B018  (the class folders must be there and complete)
        from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES  # on use: open_clip is slow to import
        return list(IMAGENET_CLASSNAMES)

    def label_of(self, split: str, folder: str) -> int | None:
        if self.label_schemes.get(split, "wnid") == "index":
            return int(folder) if folder.isdigit() and int(folder) < CLASSES else None
        return self._wnid_index.get(folder)
