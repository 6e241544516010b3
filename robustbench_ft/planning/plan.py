"""From a request (methods x seeds on a benchmark) to a Plan: RunSpecs and their dependency edges.

A spec's fields are layered: RunSpec defaults < the benchmark's `train:` budget < the method
preset's `train:` < explicit overrides (CLI flags). Its hyper-parameters are the method's declared
defaults overlaid with the overrides' `hparams`, checked and typed. Dependencies (LP before
LP-FT, the fine-tuned run before WiSE) are added as edges and put first; duplicates collapse
because equal specs hash equally. Launchers submit a plan's waves in order (launch/).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..core.config import ConfigError
from ..core.method_info import method_info, train_keys
from ..methods.base import METHODS, build_method, completed
from ..core.spec import RunSpec


def canonical_method(name: str) -> str:
    """'wise' -> 'ft+wise': a post-hoc method alone applies to its preset's default base."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise ConfigError(f"empty method name {name!r}")
    from ..methods import catalogue  # noqa: F401
    for part in parts:
        METHODS.get(part)  # raises with the list of known methods
    if len(parts) == 1:
        base = method_info(parts[0]).base
        if base:
            parts = [base, *parts]
    return "+".join(parts)


def make_spec(method: str, benchmark_defaults: dict[str, Any], benchmark: str, seed: int = 0,
              overrides: dict[str, Any] | None = None) -> RunSpec:
    """The spec of one run, layering benchmark budget, method presets and overrides; its
    hyper-parameters are complete (every declared one, typed), so records show every value."""
    method = canonical_method(method)
    fields_: dict[str, Any] = dict(benchmark_defaults)
    for part in method.split("+"):
        fields_.update(method_info(part).train)
    overrides = dict(overrides or {})
    hparams = overrides.pop("hparams", None) or {}
    unknown = sorted(set(overrides) - set(train_keys()))
    if unknown:
        raise ConfigError(f"unknown overrides {unknown}; known: {train_keys()}")
    fields_.update(overrides)
    fields_["seed"] = seed
    return completed(RunSpec(benchmark=benchmark, method=method, hparams=hparams, **fields_))


def sibling_spec(spec: RunSpec, method: str) -> RunSpec:
    """The spec the planner makes for `method` under the same request as `spec`: same benchmark,
    seed and budget overrides, `method`'s own preset, and its hyper-parameters as `spec` gives them.

    LP-FT's LP stage is `sibling_spec(lpft_spec, "lp")`: the very `lp` run of the same grid.
    """
    from ..data.benchmark import load_benchmark
    defaults = load_benchmark(spec.benchmark).train_defaults
    planned = make_spec(spec.method, defaults, spec.benchmark, spec.seed)
    overrides = {k: getattr(spec, k) for k in train_keys() if getattr(spec, k) != getattr(planned, k)}
    return make_spec(method, defaults, spec.benchmark, spec.seed,
                     {**overrides, "hparams": {method: spec.hparams_of(method)}})


@dataclass(frozen=True)
class Plan:
    """The runs of a request and what each needs first.

    `specs` are in an order that runs them correctly one by one (dependencies first); `edges` are
    (needed, needing) digest pairs. `waves()` groups the runs into stages a launcher submits in
    order: a run's wave is one more than its latest dependency's, so every wave's runs are
    independent of each other and only wait on earlier waves.
    """

    specs: tuple[RunSpec, ...]
    edges: frozenset[tuple[str, str]] = frozenset()

    def __len__(self) -> int:
        return len(self.specs)

    def by_digest(self) -> dict[str, RunSpec]:
        return {spec.digest(): spec for spec in self.specs}

    @functools.cached_property
    def _needed_by(self) -> dict[str, list[str]]:
        """needing digest -> the digests it needs, sorted."""
        needs: dict[str, list[str]] = {}
        for needed, needing in sorted(self.edges):
            needs.setdefault(needing, []).append(needed)
        return needs

    def needs(self, spec: RunSpec) -> list[str]:
        """Digests of the runs `spec` depends on directly (planned, or dropped as done/queued)."""
        return self._needed_by.get(spec.digest(), [])

    def waves(self) -> list[list[RunSpec]]:
        depth: dict[str, int] = {}
        for spec in self.specs:  # dependencies come first, so their depth is known
            needed = [depth[n] for n in self.needs(spec) if n in depth]  # not: done already
            depth[spec.digest()] = 1 + max(needed, default=-1)
        stages: list[list[RunSpec]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
        for spec in self.specs:
            stages[depth[spec.digest()]].append(spec)
        return stages

    def without(self, finished: Callable[[RunSpec], bool]) -> "Plan":
        """The plan left once runs for which `finished` holds are dropped: what a relaunch still
        has to do. A kept run keeps its edges to dropped runs, so a launcher can still make it
        wait on a dependency that is queued already."""
        kept = tuple(spec for spec in self.specs if not finished(spec))
        keys = {spec.digest() for spec in kept}
        return Plan(kept, frozenset((a, b) for a, b in self.edges if b in keys))

    def __add__(self, other: "Plan") -> "Plan":
        merged = {**self.by_digest(), **other.by_digest()}
        return Plan(tuple(merged.values()), self.edges | other.edges)


def build_plan(specs: Iterable[RunSpec]) -> Plan:
    """Every spec preceded by what it depends on (depth first), each spec once, with the edges."""
    ordered: dict[str, RunSpec] = {}
    edges: set[tuple[str, str]] = set()

    def visit(spec: RunSpec, trail: tuple[str, ...]) -> None:
        key = spec.digest()
        if key in trail:
            raise ConfigError(f"dependency cycle through {spec.method}")
        for dep in build_method(spec).dependencies():
            edges.add((dep.digest(), key))
            visit(dep, trail + (key,))
        ordered.setdefault(key, spec)

    for spec in specs:
        visit(spec, ())
    return Plan(tuple(ordered.values()), frozenset(edges))


def with_eval_every(overrides: dict[str, Any]) -> dict[str, Any]:
    """A budget given in steps without `eval_every` evaluates five times (the presets' eval
    interval is for their own budget)."""
    if overrides.get("steps") is not None and overrides.get("eval_every") is None:
        return {**overrides, "eval_every": max(1, int(overrides["steps"]) // 5)}
    return overrides


def plan_grid(methods: list[str], seeds: list[int], benchmark: str,
              benchmark_defaults: dict[str, Any], overrides: dict[str, Any] | None = None
              ) -> Plan:
    """methods x seeds, with dependencies, in an order that runs them correctly one by one.

    `overrides["hparams"]` is keyed by method part (`{"lipsum": {"lam": 2}}`); each method gets
    the parts it has, and a part that no requested method has is an error.
    """
    overrides = dict(overrides or {})
    hparams = overrides.pop("hparams", None) or {}
    canonical = [canonical_method(m) for m in methods]
    parts = {p for m in canonical for p in m.split("+")}
    stray = sorted(set(hparams) - parts)
    if stray:
        raise ConfigError(f"hyper-parameters for {stray}, which none of the methods {canonical} has")
    requested = [make_spec(m, benchmark_defaults, benchmark, s,
                           {**overrides, "hparams": {p: v for p, v in hparams.items() if p in m.split("+")}})
                 for s in seeds for m in canonical]
    return build_plan(requested)
