"""Any benchmark of class folders, declared in YAML alone (no code).

    name: pets-shift
    family: folder
    data_dir: pets                     # under the data root (default: the name)
    classes: [cat, dog]                # class folder names in label order (default: sorted folders of train)
    class_names: [cat, dog]            # prompt names (default: folder names with _ as spaces)
    splits: {train: train, val: val, photo: test/photo, sketch: test/sketch}
    id_split: photo
    ood_splits: [sketch]
    templates: simple                  # a list, openai, simple, or a file

`splits.train` is required; without `splits.val` the ID validation split is a fixed, seeded
held-out part of train (`holdout.fraction`, 5% by default). A test split may hold a subset of
the classes; the evaluator then restricts the logits to them.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from ..config import ConfigError, require
from .benchmark import FAMILIES, DataCheck
from .file_benchmark import FileBenchmark
from .files import FileSplit, images_under, listed


@FAMILIES.register("folder")
class FolderBenchmark(FileBenchmark):
    layout = "<root>/<split folder>/<class folder>/<image> for each split in the YAML's `splits:`"

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.folders: dict[str, str] = require(config, "splits", dict, source)
        for split in ["train", *self.test_splits]:
            if split not in self.folders:
                raise ConfigError(f"{source}: split {split!r} has no entry in `splits:`")
        self._declared_classes: list[str] | None = config.get("classes")
        self._class_names: list[str] | None = config.get("class_names")

    def required(self, root: Path) -> list[Path]:
        return [root / folder for folder in self.folders.values()]

    @cached_property
    def class_folders(self) -> list[str]:
        if self._declared_classes:
            return list(self._declared_classes)
        return sorted(p.name for p in (self.root / self.folders["train"]).iterdir() if p.is_dir())

    @property
    def classes(self) -> list[str]:
        names = self._class_names or [c.replace("_", " ") for c in self.class_folders]
        if len(names) != len(self.class_folders):
            raise ConfigError(f"{self.source}: {len(names)} class_names for {len(self.class_folders)} classes")
        return names

    def _scan(self, split: str) -> tuple[list[Path], list[int], list[str]]:
        folder = self.root / self.folders[split]
        index = {c: i for i, c in enumerate(self.class_folders)}
        paths, labels, stray = [], [], []
        for class_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
            if class_folder.name not in index:
                stray.append(class_folder.name)
                continue
            images = images_under(class_folder)
            paths += images
            labels += [index[class_folder.name]] * len(images)
        return paths, labels, stray

    def _split(self, split: str, allow_subset: bool = True) -> FileSplit:
        paths, labels, stray = self._scan(split)
        if stray:
            raise ConfigError(f"{self.root / self.folders[split]}: " + listed(stray, "folders that name no declared class"))
        present = sorted(set(labels))
        subset = present if allow_subset and len(present) < len(self.class_folders) else None
        return self.split(paths, labels, subset)

    @cached_property
    def _train_val(self) -> tuple[FileSplit, FileSplit]:
        train = self._split("train", allow_subset=False)
        if "val" in self.folders:
            return train, self._split("val", allow_subset=False)
        return self.held_out(train.paths, train.labels.tolist())

    def train_set(self) -> FileSplit:
        return self._train_val[0]

    def val_set(self) -> FileSplit:
        return self._train_val[1]

    def make_test_set(self, split: str) -> FileSplit:
        return self._split(split)

    def all_files(self) -> dict[str, list[Path]]:
        return {s: self._scan(s)[0] for s in self.folders}

    def check_files(self, root: Path, report: DataCheck) -> None:
        for split in self.folders:
            paths, _, stray = self._scan(split)
            report.counts[split] = len(paths)
            if stray:
                report.errors.append(f"{root / self.folders[split]}: " + listed(stray, "folders that name no declared class"))
            if not paths:
                report.errors.append(f"{root / self.folders[split]}: no images")
