"""Benchmarks: which split trains, which split selects, which splits test, and the class prompts.

A benchmark is declared in YAML (`benchmarks/<name>.yaml`) and built by the family named in its
`family:` key (one module per family registers itself). Every split offers the same two
iterators of model-ready batches, `eval_batches` (in order, once) and `train_batches` (endless,
shuffled and augmented from a generator), given the model's input pipeline, so this package never
imports the models. The embedded world's splits live in memory as uint8 tensors (`ImageSet`);
real benchmarks' splits are files decoded in DataLoader workers (`files.FileSplit`). A split may
cover a subset of the benchmark's classes (`class_subset`): the evaluator then restricts the
logits to those classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Protocol

import torch

from ..core.config import ConfigError, read_yaml, require, resolve_preset, train_budget
from ..core.registry import Registry

FAMILIES: Registry[type["Benchmark"]] = Registry("benchmark family")


@dataclass(frozen=True)
class Groups:
    """Which group each image of a split belongs to (FMoW: its region), for worst-group accuracy.
    `counted` says which groups compete for the worst (WILDS leaves FMoW's 'Other' region out)."""

    ids: torch.Tensor                  # (N,) int64 group id per image
    names: tuple[str, ...]             # group id -> name
    counted: tuple[bool, ...]          # group id -> whether it competes

    def mask(self) -> torch.Tensor:
        return torch.tensor(self.counted, dtype=torch.bool)

    def take(self, rows: list[int] | torch.Tensor) -> "Groups":
        return Groups(self.ids[torch.as_tensor(rows, dtype=torch.long)], self.names, self.counted)


class Split(Protocol):
    """What the trainer and the evaluator need of a split, wherever its images live."""

    labels: torch.Tensor               # (N,) int64, indices into the benchmark's classes
    class_subset: list[int] | None     # the classes this split can hold; None: all of them
    groups: Groups | None              # group labels for worst-group accuracy; None: no groups

    def subset(self, rows: list[int]) -> "Split":
        """The split's images at `rows` (in that order): a low-shot training set."""

    def __len__(self) -> int: ...

    def eval_batches(self, batch_size: int, inputs: Any, device: torch.device | str,
                     cache: Path | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...

    def plain_train_batches(self, batch_size: int, inputs: Any, device: torch.device | str,
                            flip: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Every training image once, in order, as the training transform makes it with every
        flip drawn as `flip`; only for a pipeline whose `fixed_variants()` is not None (no
        augmentation, or flips only), where that is every input training can see."""

    def train_batches(self, batch_size: int, generator: torch.Generator, inputs: Any,
                      device: torch.device | str, skip: int = 0, shard: tuple[int, int] = (0, 1)
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless training batches, a function of the generator's seed; the first `skip` are
        passed over (a resumed run), leaving the stream where an uninterrupted one would be.
        With `shard=(rank, world)`, only that rank's slice of every global batch is produced;
        the slices of all ranks together are exactly the one-process batch."""


@dataclass(frozen=True)
class ImageSet:
    """Images of one split held in memory as uint8 (N, 3, H, W) with int64 labels.

    Batches are transformed whole on the model's device (`inputs.eval` / `inputs.train`), which
    keeps the embedded benchmark's CPU training fast.
    """

    images: torch.Tensor
    labels: torch.Tensor
    class_subset: list[int] | None = None
    groups: Groups | None = None

    def subset(self, rows: list[int]) -> "ImageSet":
        index = torch.as_tensor(rows, dtype=torch.long)
        return ImageSet(self.images[index], self.labels[index], self.class_subset,
                        None if self.groups is None else self.groups.take(index))

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"expected uint8 images (N, 3, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """In order, once: for evaluation."""
        for start in range(0, len(self), batch_size):
            yield self.images[start:start + batch_size], self.labels[start:start + batch_size]

    def shuffled_batches(self, batch_size: int, generator: torch.Generator
                         ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Endless full batches of uint8 images, reshuffled every epoch."""
        for idx in shuffled_index_batches(len(self), batch_size, generator):
            yield self.images[idx], self.labels[idx]

    def eval_batches(self, batch_size: int, inputs: Any, device: torch.device | str = "cpu",
                     cache: Path | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """In order, once; held in memory already, so `cache` is not needed."""
        for images, labels in self.batches(batch_size):
            yield inputs.eval(images, device), labels

    def plain_train_batches(self, batch_size: int, inputs: Any, device: torch.device | str = "cpu",
                            flip: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, labels in self.batches(batch_size):
            yield inputs.fixed(images, flip, device), labels

    def train_batches(self, batch_size: int, generator: torch.Generator, inputs: Any,
                      device: torch.device | str = "cpu", skip: int = 0, shard: tuple[int, int] = (0, 1)
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rows = shard_rows(batch_size, shard)
        for index, (images, labels) in enumerate(self.shuffled_batches(batch_size, generator)):
            batch = inputs.train(images, generator, device, rows)  # draws its flips even when skipped
            if index >= skip:
                yield batch, labels[rows].to(device)


def shard_rows(batch_size: int, shard: tuple[int, int]) -> slice:
    """The rows of a global batch that rank `shard[0]` of `shard[1]` trains on (contiguous, equal)."""
    rank, world = shard
    per = batch_size // world
    return slice(rank * per, (rank + 1) * per)


def shuffled_index_batches(size: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless full batches of indices, a new permutation from `generator` every epoch."""
    if batch_size > size:
        raise ValueError(f"batch size {batch_size} exceeds the {size} training images")
    while True:
        order = torch.randperm(size, generator=generator)
        for start in range(0, size - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


class DataMissingError(ConfigError):
    """A benchmark's files are not where it looked; the message says where and what it expected."""


@dataclass
class DataCheck:
    """What `data check` found: errors make the layout unusable, warnings do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.errors


def resolve_templates(value: Any, where: Path | str) -> list[str]:
    """A list of templates, a named set of open_clip's ('openai': 80, 'simple': 7) or a text file
    with one template per line; each template has a '{}' for the class name."""
    if isinstance(value, str) and value in TEMPLATE_SETS:
        templates = TEMPLATE_SETS[value]()
    elif isinstance(value, str):
        path = Path(value)
        if not path.is_file():
            raise ConfigError(f"{where}: templates {value!r} is neither {' nor '.join(TEMPLATE_SETS)} nor a file")
        templates = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        templates = list(value)
    else:
        raise ConfigError(f"{where}: 'templates' must be a list of strings, {' or '.join(TEMPLATE_SETS)}, or a file")
    bad = [t for t in templates if "{}" not in t]
    if bad or not templates:
        raise ConfigError(f"{where}: every template needs a '{{}}' for the class name: {bad or 'none given'}")
    return templates


def _open_clip_templates(name: str):
    def load() -> list[str]:
        from open_clip import zero_shot_metadata
        return [t("{}") for t in getattr(zero_shot_metadata, name)]
    return load


TEMPLATE_SETS = {"openai": _open_clip_templates("OPENAI_IMAGENET_TEMPLATES"),
                 "simple": _open_clip_templates("SIMPLE_IMAGENET_TEMPLATES")}


class Benchmark(ABC):
    """A named set of splits. Subclasses load images; this class holds the declaration.

    `templates` (a list, 'openai', 'simple' or a file) overrides the YAML's prompt templates;
    `data_root` and `workers` say where the files are and how many processes decode them.
    """

    def __init__(self, config: dict[str, Any], source: Path, data_root: str | None = None,
                 workers: int | None = None, templates: str | None = None) -> None:
        self.config = config
        self.source = source
        self.name: str = require(config, "name", str, source)
        self._templates = templates or require(config, "templates", (list, str), source)
        if not (isinstance(self._templates, str) and self._templates in TEMPLATE_SETS):
            self.templates  # noqa: B018  (a file or a list is read and checked now; a named set when used)
        self.id_split: str = require(config, "id_split", str, source)
        self.ood_splits: list[str] = require(config, "ood_splits", list, source)
        self.train_defaults: dict[str, Any] = train_budget(config)
        self.augment: list[str] = list(config.get("augment", ["hflip"]))
        self.primary_metrics, self.select_on, self.group_name = _metric_roles(config, source)
        self.skip_bad_images: bool = bool(config.get("skip_bad_images", False))
        self.workers = workers
        self.data_root_given = data_root

    @property
    @abstractmethod
    def classes(self) -> list[str]:
        """Class names as prompts use them, in label order."""

    own_val: bool = False  # whether ID validation is a split of its own (not held out of train): low_shot.py

    @property
    def extra_metrics(self) -> tuple[str, ...]:
        """Metrics beyond every split's own (acc, nll, ece, ...) that this benchmark reports or selects on."""
        return tuple(m for m in ("macro_f1",) if m in (*self.primary_metrics, self.select_on))

    def metric_roles(self) -> dict[str, Any]:
        """What a run's record says of the benchmark's metrics (the report reads it, not the YAML)."""
        roles: dict[str, Any] = {"primary": list(self.primary_metrics), "select_on": self.select_on}
        return {**roles, "groups": self.group_name} if self.group_name else roles

    @property
    def test_splits(self) -> list[str]:
        return [self.id_split, *self.ood_splits]

    def role(self, split: str) -> str:
        return "id" if split == self.id_split else "ood"

    @abstractmethod
    def train_set(self) -> Split: ...

    @abstractmethod
    def val_set(self) -> Split: ...

    @abstractmethod
    def test_set(self, split: str) -> Split: ...

    @cached_property
    def templates(self) -> list[str]:
        """The prompt templates; a named set (open_clip's 'openai', 'simple') is loaded when first
        used, since open_clip takes seconds to import and planning a sweep needs no prompt."""
        return resolve_templates(self._templates, self.source)

    def prompts(self, class_name: str) -> list[str]:
        return [t.format(class_name) for t in self.templates]

    def bad_images(self) -> list[str]:
        """Undecodable files skipped so far in this process (`skip_bad_images: true`)."""
        return []

    def check_available(self) -> None:
        """Raise DataMissingError within seconds when the data is not there (before any model loads)."""

    def check(self, deep: bool = False) -> DataCheck:
        """Every declared file present, no stray class folder, counts against the published ones;
        `deep` decodes every image. Benchmarks without files have nothing to check."""
        return DataCheck()

    def describe(self) -> str:
        return f"{len(self.classes)} classes; ID {self.id_split}; OOD {', '.join(self.ood_splits)}"

    def _test_split_name(self, split: str) -> str:
        if split not in self.test_splits:
            raise ConfigError(f"benchmark {self.name!r} has no test split {split!r}; it has {self.test_splits}")
        return split


METRICS = ("acc", "macro_f1", "worst_group_acc")  # what `metrics: primary / select_on` may name


def _metric_roles(config: dict[str, Any], source: Path) -> tuple[list[str], str, str | None]:
    """(primary metrics in table order, the ID validation metric of model selection, the name of the
    worst-group metric's grouping) from the YAML's `metrics:` (default: accuracy, no groups):

        metrics: {primary: [worst_group_acc, acc], select_on: acc, groups: region}   # FMoW
    """
    declared = config.get("metrics") or {}
    if not isinstance(declared, dict):
        raise ConfigError(f"{source}: 'metrics' must be a mapping (primary, select_on, groups)")
    primary = declared.get("primary", ["acc"])
    primary = [primary] if isinstance(primary, str) else list(primary)
    select_on = str(declared.get("select_on", "acc"))
    unknown = [m for m in [*primary, select_on] if m not in METRICS]
    if unknown or not primary:
        raise ConfigError(f"{source}: metrics {unknown or 'none'} in 'metrics:'; known: {', '.join(METRICS)}")
    groups = declared.get("groups")
    if "worst_group_acc" in [*primary, select_on] and not groups:
        raise ConfigError(f"{source}: 'worst_group_acc' needs 'metrics: groups:' (what the groups are, e.g. region)")
    return primary, select_on, None if groups is None else str(groups)


def load_benchmark(name_or_path: str, data_root: str | None = None, workers: int | None = None,
                   templates: str | None = None, shots: int | None = None) -> Benchmark:
    """Build a benchmark from a shipped preset name or a YAML path; with `shots`, seen through K
    training images per class (low_shot.py)."""
    path = resolve_preset("benchmarks", name_or_path)
    config = read_yaml(path)
    family = require(config, "family", str, path)
    from . import families  # noqa: F401  (registers the families)
    if family not in FAMILIES:
        raise ConfigError(f"{path}: unknown family {family!r}; known: {', '.join(FAMILIES.names())}")
    loaded = FAMILIES.get(family)(config, path, data_root=data_root, workers=workers, templates=templates)
    if shots is None:
        return loaded
    from .low_shot import LowShot
    return LowShot(loaded, shots)  # type: ignore[return-value]  (a Benchmark in all but its type)
