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

from ..config import ConfigError, require
from .benchmark import FAMILIES, DataCheck
from .file_benchmark import FileBenchmark
from .files import FileSplit, images_under, listed

PUBLISHED = {"imagenet-v2": 10_000, "imagenet-a": 7_500, "imagenet-r": 30_000, "imagenet-sketch": 50_889,
             "imagenet": 50_000}
LABEL_SCHEMES = ("wnid", "index")


@FAMILIES.register("imagenet")
class ImageNet(FileBenchmark):
    layout = ("<root>/<split folder>/<class>/<image> for each split in the YAML's `folders:`; classes "
              "are WordNet ids (n01440764, ...), ImageNet-V2's are 0..999")

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.folders: dict[str, str] = require(config, "folders", dict, source)
        self.label_schemes: dict[str, str] = dict(config.get("labels", {}) or {})
        self.train_split: str = str(config.get("train_split", "train"))
        for split in [self.train_split, *self.test_splits]:
            if split not in self.folders:
                raise ConfigError(f"{source}: split {split!r} has no entry in `folders:`")
            if self.label_schemes.get(split, "wnid") not in LABEL_SCHEMES:
                raise ConfigError(f"{source}: labels of {split!r} must be one of {LABEL_SCHEMES}")

    def required(self, root: Path) -> list[Path]:
        return [root / self.folders[s] for s in [self.train_split, *self.test_splits]]

    @cached_property
    def wnids(self) -> list[str]:
        """The 1,000 class ids in label order (sorted), from the training split's folders."""
        folder = self.root / self.folders[self.train_split]
        wnids = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if len(wnids) != len(self._classnames()):
            raise ConfigError(f"{folder}: {len(wnids)} class folders, expected {len(self._classnames())} "
                              f"(one per ImageNet class)")
        return wnids

    @staticmethod
    def _classnames() -> list[str]:
        from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
        return list(IMAGENET_CLASSNAMES)

    @property
    def classes(self) -> list[str]:
        return self._classnames()

    def _label_of(self, split: str, folder: str) -> int | None:
        if self.label_schemes.get(split, "wnid") == "index":
            return int(folder) if folder.isdigit() and int(folder) < len(self.classes) else None
        return self._wnid_index.get(folder)

    @cached_property
    def _wnid_index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.wnids)}

    def _scan(self, split: str) -> tuple[list[Path], list[int], list[str]]:
        """(files, labels, stray folders) of one split's class folders."""
        folder = self.root / self.folders[split]
        paths, labels, stray = [], [], []
        for class_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
            label = self._label_of(split, class_folder.name)
            if label is None:
                stray.append(class_folder.name)
                continue
            images = images_under(class_folder)
            paths += images
            labels += [label] * len(images)
        return paths, labels, stray

    def _split(self, split: str) -> FileSplit:
        paths, labels, stray = self._scan(split)
        if stray:
            raise ConfigError(f"{self.root / self.folders[split]}: " + listed(stray, "folders that name no ImageNet class"))
        present = sorted(set(labels))
        subset = present if len(present) < len(self.classes) and split != self.train_split else None
        return self.split(paths, labels, subset)

    @cached_property
    def _train_val(self) -> tuple[FileSplit, FileSplit]:
        train = self._split(self.train_split)
        return self.held_out(train.paths, train.labels.tolist())

    def train_set(self) -> FileSplit:
        return self._train_val[0]

    def val_set(self) -> FileSplit:
        return self._train_val[1]

    def make_test_set(self, split: str) -> FileSplit:
        return self._split(split)

    def all_files(self) -> dict[str, list[Path]]:
        return {s: self._scan(s)[0] for s in [self.train_split, *self.test_splits]}

    def check_files(self, root: Path, report: DataCheck) -> None:
        try:
            self.wnids
        except ConfigError as err:
            report.errors.append(str(err))
            return
        for split in [self.train_split, *self.test_splits]:
            paths, labels, stray = self._scan(split)
            report.counts[split] = len(paths)
            if stray:
                report.errors.append(f"{root / self.folders[split]}: " + listed(stray, "folders that name no ImageNet class"))
            if not paths:
                report.errors.append(f"{root / self.folders[split]}: no images")
        self.compare_counts(report, PUBLISHED)
