"""Benchmarks whose splits are folders of class folders (`<split>/<class>/<image>`).

A family says which folder holds each split (`folders`) and how a class folder's name becomes a
label (`label_of`); this class lists the images, refuses folders that name no class, derives a
test split's class subset from the classes it holds, holds out validation when there is no
validation folder, and checks the layout.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import ClassVar

from ..core.config import ConfigError
from .benchmark import DataCheck
from .file_benchmark import FileBenchmark
from .files import FileSplit, images_under, listed


class ClassFolderBenchmark(FileBenchmark):
    folders: dict[str, str]              # split name -> folder under the root
    train_split: str = "train"
    val_split: str | None = None         # a validation folder's split name; None: hold out of train
    no_class: ClassVar[str] = "folders that name no class"
    published: ClassVar[dict[str, int]] = {}

    @abstractmethod
    def label_of(self, split: str, folder: str) -> int | None:
        """The label a class folder of `split` names, or None if it names no class."""

    @property
    def own_val(self) -> bool:
        return bool(self.val_split)

    def required(self, root: Path) -> list[Path]:
        return [root / self.folders[s] for s in self._splits()]

    def _splits(self) -> list[str]:
        return list(dict.fromkeys([self.train_split, *([self.val_split] if self.val_split else []),
                                   *self.test_splits]))

    def _scan(self, split: str) -> tuple[list[str], list[int], list[str]]:
        """(files, labels, folders that name no class) of one split."""
        folder = self.root / self.folders[split]
        paths, labels, stray = [], [], []
        for class_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
            label = self.label_of(split, class_folder.name)
            if label is None:
                stray.append(class_folder.name)
                continue
            images = images_under(class_folder)
            paths += images
            labels += [label] * len(images)
        return paths, labels, stray

    def _split(self, split: str, allow_subset: bool = True) -> FileSplit:
        paths, labels, stray = self._scan(split)
        if stray:
            raise ConfigError(f"{self.root / self.folders[split]}: " + listed(stray, self.no_class))
        present = sorted(set(labels))
        subset = present if allow_subset and len(present) < len(self.classes) else None
        return self.split(paths, labels, subset)

    def make_train_val(self) -> tuple[FileSplit, FileSplit]:
        train = self._split(self.train_split, allow_subset=False)
        if self.val_split:
            return train, self._split(self.val_split, allow_subset=False)
        return self.held_out(train.paths, train.labels.tolist())

    def make_test_set(self, split: str) -> FileSplit:
        return self._split(split)

    def all_files(self) -> dict[str, list[str]]:
        return {s: self._scan(s)[0] for s in self._splits()}

    def check_files(self, root: Path, report: DataCheck) -> None:
        try:
            self.classes
        except ConfigError as err:
            report.errors.append(str(err))
            return
        for split in self._splits():
            paths, _, stray = self._scan(split)
            report.counts[split] = len(paths)
            if stray:
                report.errors.append(f"{root / self.folders[split]}: " + listed(stray, self.no_class))
            if not paths:
                report.errors.append(f"{root / self.folders[split]}: no images")
        self.compare_counts(report, self.published)
