"""What every benchmark of image files shares: finding its data, holding out validation, checking.

The data root comes from `--data-root`, else $ROBUSTBENCH_DATA, else the YAML's `data_root`
(relative to the YAML file). It may be the benchmark's own folder or a folder that holds it as
`<root>/<data_dir>` (`data_dir` defaults to the benchmark's name), so `--data-root /data` finds
`/data/domainnet`. Missing data fails within seconds, before any model loads, with one message
that names the paths tried, the layout expected and what to do.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..core.config import DATA_ROOT_ENV
from .benchmark import Benchmark, DataCheck, DataMissingError, Groups
from .files import FileSplit, default_workers, holdout, listed, undecodable


class FileBenchmark(Benchmark):
    """A benchmark whose splits are image files under a data root."""

    layout: ClassVar[str]  # the expected layout, in words, for error messages

    def __init__(self, config: dict[str, Any], source: Path, **options: Any) -> None:
        super().__init__(config, source, **options)
        self.data_dir: str = str(config.get("data_dir", self.name))
        held = config.get("holdout", {}) or {}
        self.holdout_fraction = float(held.get("fraction", 0.05))
        self.holdout_seed = int(held.get("seed", 0))
        self._test_sets: dict[str, FileSplit] = {}
        self._made: list[FileSplit] = []

    @abstractmethod
    def required(self, root: Path) -> list[Path]:
        """The files or folders that must exist under a root for it to be this benchmark's."""

    def _root_candidates(self) -> tuple[list[Path], str]:
        if self.data_root_given:
            given, origin = Path(self.data_root_given), "--data-root"
        elif os.environ.get(DATA_ROOT_ENV):
            given, origin = Path(os.environ[DATA_ROOT_ENV]), f"${DATA_ROOT_ENV}"
        elif self.config.get("data_root"):
            given, origin = self.source.parent / str(self.config["data_root"]), f"data_root in {self.source}"
        else:
            raise DataMissingError(
                f"benchmark {self.name!r} needs its data: give --data-root DIR, set ${DATA_ROOT_ENV}, or "
                f"set data_root in {self.source}; expected {self.layout}. Check a folder with "
                f"`robustbench-ft data check --dataset {self.name} --data-root DIR`, or run the embedded "
                f"benchmark (`--dataset embedded`), which needs no data.")
        return [given / self.data_dir, given], origin

    @cached_property
    def root(self) -> Path:
        """The benchmark's own folder; DataMissingError (naming what was tried) if it is not there."""
        candidates, origin = self._root_candidates()
        for candidate in candidates:
            if all(p.exists() for p in self.required(candidate)):
                return candidate
        best = next((c for c in candidates if c.is_dir()), candidates[-1])
        missing = [p for p in self.required(best) if not p.exists()]
        raise DataMissingError(
            f"benchmark {self.name!r}: no usable data at {' or '.join(map(str, candidates))} (data root from "
            f"{origin}); expected {self.layout}; missing {', '.join(map(str, missing[:5]))}. Check it with "
            f"`robustbench-ft data check --dataset {self.name} --data-root DIR`, or run the embedded "
            f"benchmark (`--dataset embedded`), which needs no data.")

    def describe(self) -> str:
        return f"image files ({type(self).__name__}); ID {self.id_split}; OOD {', '.join(self.ood_splits)}"

    def check_available(self) -> None:
        self.root  # noqa: B018  (resolving the root is the check)

    def split(self, paths: list[str], labels: list[int], class_subset: list[int] | None = None,
              groups: Groups | None = None) -> FileSplit:
        made = FileSplit(paths, torch.tensor(labels, dtype=torch.long), class_subset, self.skip_bad_images,
                         default_workers() if self.workers is None else self.workers, groups=groups)
        self._made.append(made)
        return made

    @abstractmethod
    def make_train_val(self) -> tuple[FileSplit, FileSplit]:
        """(train, ID validation): a validation split of the benchmark's own, or a part held out of train."""

    @cached_property
    def _train_val(self) -> tuple[FileSplit, FileSplit]:
        return self.make_train_val()

    def train_set(self) -> FileSplit:
        """Listed once per process and then reused, as is the validation split made with it."""
        return self._train_val[0]

    def val_set(self) -> FileSplit:
        return self._train_val[1]

    def test_set(self, split: str) -> FileSplit:
        """Each test split is listed once per process and then reused."""
        if split not in self._test_sets:
            self._test_sets[split] = self.make_test_set(self._test_split_name(split))
        return self._test_sets[split]

    @abstractmethod
    def make_test_set(self, split: str) -> FileSplit: ...

    def bad_images(self) -> list[str]:
        return sorted({str(path) for split in self._made for path in split.bad_images})

    def held_out(self, paths: list[str], labels: list[int]) -> tuple[FileSplit, FileSplit]:
        """(train, ID validation): a fixed, seeded fraction of the training files held out."""
        kept, held = holdout(len(paths), self.holdout_fraction, self.holdout_seed)
        return (self.split([paths[i] for i in kept], [labels[i] for i in kept]),
                self.split([paths[i] for i in held], [labels[i] for i in held]))

    def check(self, deep: bool = False) -> DataCheck:
        report = DataCheck()
        try:
            root = self.root
        except DataMissingError as err:
            report.errors.append(str(err))
            return report
        self.check_files(root, report)
        if deep and report.usable:
            for name, paths in self.all_files().items():
                bad = undecodable(paths)
                if bad:
                    report.errors.append(f"{name}: " + listed(bad, "images that do not decode"))
        return report

    @abstractmethod
    def check_files(self, root: Path, report: DataCheck) -> None:
        """Fill `report`: declared files present, no stray class folder, counts vs published."""

    @abstractmethod
    def all_files(self) -> dict[str, list[str]]:
        """Every image file per split (for --deep)."""

    @staticmethod
    def count_listed(files: dict[str, list[str]], report: DataCheck) -> None:
        """Count each split's listed files and name the missing ones (benchmarks whose splits are
        listed in a file, DomainNet's split files or WILDS' metadata, rather than found by a scan)."""
        for name, paths in files.items():
            report.counts[name] = len(paths)
            missing = [p for p in paths if not os.path.isfile(p)]
            if missing:
                report.errors.append(f"{name}: " + listed(missing, "missing images"))
            if not paths:
                report.errors.append(f"{name}: no images listed")

    @staticmethod
    def compare_counts(report: DataCheck, published: dict[str, int]) -> None:
        for split, expected in published.items():
            found = report.counts.get(split)
            if found is not None and found != expected:
                report.warnings.append(f"{split}: {found} images, the published count is {expected}")
