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

Instead of (or beside) a grid, `search: {trials: 8, seed: 0, over: [lr, "*"]}` gives every method
the same number of random configurations from its declared spaces (search.py): DomainBed's equal
budget. Beside a grid, each grid point gets `trials` draws of the keys the grid does not fix.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..core.compose import canonical_method, with_eval_every
from ..core.config import ConfigError, read_yaml
from ..core.declarations import DECLARATIONS
from ..core.method_info import method_info, train_keys
from ..core.spec import RunSpec
from .plan import Plan, build_plan, grid_specs
from .search import RUN_FIELD_SPACES, Choice, Search, Space, load_search

SWEEP_KEYS = ("benchmarks", "methods", "seeds", "settings", "grid", "search", "launcher")


@dataclass(frozen=True)
class Sweep:
    name: str
    benchmarks: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    settings: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    launcher: Mapping[str, Any] = field(default_factory=dict)
    search: Search | None = None

    def points(self, method: str, benchmark: str = "embedded",
               defaults: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every combination of the grid keys that apply to `method`, on top of the settings that
        do: the product is taken per method, so FT is planned once however large Lipsum-FT's grid.
        With a search, each combination comes `trials` times with the drawn values of the keys it
        does not fix (`defaults`: the benchmark's budget, the base of relative spaces)."""
        parts = canonical_method(method).split("+")
        applies = [k for k in self.grid if _applies(k, parts)]
        settings = {k: v for k, v in self.settings.items() if _applies(k, parts)}
        searched = self.searched_keys(parts)
        for values in itertools.product(*(self.grid[k] for k in applies)):
            point = {**settings, **dict(zip(applies, values))}
            if self.search is None:
                yield point
                continue
            free = {k: space for k, space in searched.items() if k not in point}
            start = {k: _default(k, parts, defaults or {}) for k in free}
            for trial in range(self.search.trials):
                drawn = {k: self.search.value(k, space, trial, benchmark, start[k]) for k, space in free.items()}
                # a value at its default is left out, so trial 0 is the very run the plain point makes
                yield {**point, **{k: v for k, v in drawn.items() if v != start[k]}}

    def searched_keys(self, parts: list[str]) -> dict[str, Space]:
        """The keys the search draws for a method of these parts, each with its space."""
        if self.search is None:
            return {}
        given = dict(self.search.spaces or {})
        out: dict[str, Space] = {}
        for key in self.search.over:
            part, dot, name = key.partition(".")
            if not dot and key != "*":
                out[key] = given.get(key) or RUN_FIELD_SPACES[key]
                continue
            for p in (parts if key == "*" else [part] if part in parts else []):
                for h in DECLARATIONS.of(p):
                    full = f"{p}.{h.name}"
                    if name in ("", "*") and full not in given and not h.space:
                        continue  # a wildcard takes the hyper-parameters that declare a space
                    if name in ("", "*", h.name):
                        out[full] = given.get(full) or Choice(h.space)
        return out

    def plan(self, data_root: str | None = None) -> Plan:
        from ..data.benchmark import load_benchmark
        self._check_parts()
        requested: list[RunSpec] = []
        for benchmark in self.benchmarks:
            defaults = load_benchmark(benchmark, data_root=data_root).train_defaults
            for method in self.methods:
                for point in self.points(method, benchmark, defaults):
                    overrides = with_eval_every(as_overrides(point, f"sweep {self.name}"))
                    if data_root is not None:
                        overrides["data_root"] = data_root
                    requested += grid_specs([method], list(self.seeds), benchmark, defaults, overrides)
        return build_plan(requested)  # once: equal specs collapse, each digest computed once

    def _check_parts(self) -> None:
        """A `METHOD.KEY` setting, grid or search key names a part that some method of the sweep
        has; a searched key has a space; a searched run field is one a search can draw."""
        parts = {p for m in self.methods for p in canonical_method(m).split("+")}
        searched = [*self.search.over, *(self.search.spaces or {})] if self.search else []
        for key in [*self.settings, *self.grid, *searched]:
            part, dot, name = key.partition(".")
            if dot and part not in parts:
                raise ConfigError(f"sweep {self.name}: {key!r} is a hyper-parameter of {part!r}, which none of "
                                  f"the methods {list(self.methods)} has")
            if dot and name != "*" and key in searched and name not in {h.name for h in DECLARATIONS.of(part)}:
                known = ", ".join(h.describe() for h in DECLARATIONS.of(part)) or "none"
                raise ConfigError(f"sweep {self.name}: search key {key!r}: {part!r} has no hyper-parameter "
                                  f"{name!r}; known: {known}")
        for key in self.search.over if self.search else ():
            part, dot, name = key.partition(".")
            given = self.search.spaces or {}
            if not dot and key != "*" and key not in RUN_FIELD_SPACES and key not in given:
                raise ConfigError(f"sweep {self.name}: search.over names {key!r}, which is neither METHOD.KEY, "
                                  f"METHOD.*, * nor a run field with a space ({', '.join(RUN_FIELD_SPACES)}; "
                                  f"give another field one under search.spaces)")
            if not dot and key != "*" and key not in train_keys():
                raise ConfigError(f"sweep {self.name}: search.over names {key!r}, which is not a run field "
                                  f"({', '.join(train_keys())})")
            if dot and name != "*" and key not in given and not next(
                    h for h in DECLARATIONS.of(part) if h.name == name).space:
                raise ConfigError(f"sweep {self.name}: {key!r} declares no search space: give one under "
                                  f"search.spaces")
            if key in self.settings or key in self.grid:
                raise ConfigError(f"sweep {self.name}: {key!r} is both searched and fixed (settings or grid)")


def _default(key: str, parts: list[str], benchmark_defaults: Mapping[str, Any]) -> Any:
    """What `key` is for a method of these parts when nothing is searched: a hyper-parameter's
    declared default; a run field's value from the method preset, the benchmark or RunSpec."""
    part, dot, name = key.partition(".")
    if dot:
        return next(h.default for h in DECLARATIONS.of(part) if h.name == name)
    for p in reversed(parts):
        if key in method_info(p).train:
            return method_info(p).train[key]
    if key in benchmark_defaults:
        return benchmark_defaults[key]
    return RunSpec.__dataclass_fields__[key].default


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
    search = load_search(data["search"], str(path)) if data.get("search") is not None else None
    return Sweep(path.stem, tuple(benchmarks), tuple(methods), tuple(seeds), settings,
                 {k: tuple(v) for k, v in grid.items()}, _mapping(data, "launcher", path), search)


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
