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

from ..core.config import ConfigError, require
from .benchmark import FAMILIES
from .class_folders import ClassFolderBenchmark


@FAMILIES.register("folder")
class FolderBenchmark(ClassFolderBenchmark):
    layout = "<root>/<split folder>/<class folder>/<image> for each split in the YAML's `splits:`"
    no_class = "folders that name no declared class"

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.folders = require(config, "splits", dict, source)
        for split in ["train", *self.test_splits]:
            if split not in self.folders:
                raise ConfigError(f"{source}: split {split!r} has no entry in `splits:`")
        self.val_split = "val" if "val" in self.folders else None
        self._declared_classes: list[str] | None = config.get("classes")
        self._class_names: list[str] | None = config.get("class_names")

    @cached_property
    def class_folders(self) -> list[str]:
        if self._declared_classes:
            return list(self._declared_classes)
        return sorted(p.name for p in (self.root / self.folders["train"]).iterdir() if p.is_dir())

    @cached_property
    def _index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.class_folders)}

    @property
    def classes(self) -> list[str]:
        names = self._class_names or [c.replace("_", " ") for c in self.class_folders]
        if len(names) != len(self.class_folders):
            raise ConfigError(f"{self.source}: {len(names)} class_names for {len(self.class_folders)} classes")
        return names

    def label_of(self, split: str, folder: str) -> int | None:
        return self._index.get(folder)
