"""A sweep YAML: benchmarks x methods x seeds x a grid of settings, and how to launch it.

    benchmarks: [embedded]
    methods: [ft, lipsum, lipsum+wise]
    seeds: [0, 1, 2]
    settings: {steps: 200}            # the same for every run
    grid:                             # the product of these lists
      lr: [1.0e-4, 3.0e-4]
      lipsum.lam: [0.5, 1, 2]
    launcher: {name: slurm, partition: gpu, time: 120, gpus_per_job: 1}

A key with a dot (`lipsum.lam`) is a method hyper-parameter, any other a run field (`lr`, `steps`,
`model`, ...). A grid value applies to the methods that have it: FT's runs do not multiply by
`lipsum.lam` (equal specs collapse). Planning adds dependencies, so `lpft` brings its `lp` runs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..core.compose import canonical_method, with_eval_every
from ..core.config import ConfigError, read_yaml
from ..core.spec import RunSpec
from .plan import Plan, build_plan, grid_specs

SWEEP_KEYS = ("benchmarks", "methods", "seeds", "settings", "grid", "launcher")


@dataclass(frozen=True)
class Sweep:
    name: str
    benchmarks: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    settings: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    launcher: Mapping[str, Any] = field(default_factory=dict)

    def points(self, method: str) -> Iterator[dict[str, Any]]:
        """Every combination of the grid keys that apply to `method`, on top of the settings that
        do: the product is taken per method, so FT is planned once however large Lipsum-FT's grid."""
        parts = canonical_method(method).split("+")
        applies = [k for k in self.grid if _applies(k, parts)]
        settings = {k: v for k, v in self.settings.items() if _applies(k, parts)}
        for values in itertools.product(*(self.grid[k] for k in applies)):
            yield {**settings, **dict(zip(applies, values))}

    def plan(self, data_root: str | None = None) -> Plan:
        from ..data.benchmark import load_benchmark
        self._check_parts()
        requested: list[RunSpec] = []
        for benchmark in self.benchmarks:
            defaults = load_benchmark(benchmark, data_root=data_root).train_defaults
            for method in self.methods:
                for point in self.points(method):
                    overrides = with_eval_every(as_overrides(point, f"sweep {self.name}"))
                    if data_root is not None:
                        overrides["data_root"] = data_root
                    requested += grid_specs([method], list(self.seeds), benchmark, defaults, overrides)
        return build_plan(requested)  # once: equal specs collapse, each digest computed once

    def _check_parts(self) -> None:
        """A `METHOD.KEY` setting or grid key names a part that some method of the sweep has."""
        parts = {p for m in self.methods for p in canonical_method(m).split("+")}
        for key in [*self.settings, *self.grid]:
            part, dot, _ = key.partition(".")
            if dot and part not in parts:
                raise ConfigError(f"sweep {self.name}: {key!r} is a hyper-parameter of {part!r}, which none of "
                                  f"the methods {list(self.methods)} has")


def _applies(key: str, parts: list[str]) -> bool:
    """A run field applies to every method, `part.key` to the methods that have `part`."""
    part, dot, _ = key.partition(".")
    return not dot or part in parts


def as_overrides(point: Mapping[str, Any], where: str) -> dict[str, Any]:
    """{'lr': 1e-4, 'lipsum.lam': 2} -> {'lr': 1e-4, 'hparams': {'lipsum': {'lam': 2}}}."""
    out: dict[str, Any] = {}
    for key, value in point.items():
        part, dot, name = key.partition(".")
        if dot:
            if not (part and name):
                raise ConfigError(f"{where}: {key!r} is not METHOD.KEY")
            out.setdefault("hparams", {}).setdefault(part, {})[name] = value
        else:
            out[key] = value
    return out


def load_sweep(path: str | Path) -> Sweep:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist")
    data = read_yaml(path)
    unknown = sorted(set(data) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; a sweep has {list(SWEEP_KEYS)}")
    benchmarks = _names(data, "benchmarks", path, default=["embedded"])
    methods = _names(data, "methods", path)
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ConfigError(f"{path}: seeds must be a list of integers, got {seeds!r}")
    settings = _mapping(data, "settings", path)
    grid = _mapping(data, "grid", path)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: grid.{key} must be a non-empty list of values, got {values!r} "
                              f"(a fixed value goes under settings)")
    return Sweep(path.stem, tuple(benchmarks), tuple(methods), tuple(seeds), settings,
                 {k: tuple(v) for k, v in grid.items()}, _mapping(data, "launcher", path))


def _names(data: dict[str, Any], key: str, path: Path, default: list[str] | None = None) -> list[str]:
    value = data.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a non-empty list of names, got {value!r}")
    return value


def _mapping(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a mapping (key: value lines), got {value!r}")
    return value
