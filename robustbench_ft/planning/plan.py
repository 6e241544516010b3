"""From a request (methods x seeds on a benchmark) to a Plan: RunSpecs and their dependency edges.

Each run's spec is composed by core.compose (presets, budget, overrides, hyper-parameters).
Dependencies (LP before LP-FT, the fine-tuned run before WiSE) are added as edges and put first;
duplicates collapse because equal specs hash equally. Launchers submit a plan's waves in order
(launch/).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..core.compose import canonical_method, make_spec
from ..core.config import ConfigError
from ..core.spec import RunSpec
from ..methods.base import build_method


@dataclass(frozen=True)
class Plan:
    """The runs of a request and what each needs first.

    `specs` are in an order that runs them correctly one by one (dependencies first); `edges` are
    (needed, needing) digest pairs; `requested` the runs asked for, as opposed to those planned
    only because another run builds on them (a method's tuning budget counts the first). `waves()` groups the runs into stages a launcher submits in
    order: a run's wave is one more than its latest dependency's, so every wave's runs are
    independent of each other and only wait on earlier waves.
    """

    specs: tuple[RunSpec, ...]
    edges: frozenset[tuple[str, str]] = frozenset()
    requested: frozenset[str] = frozenset()  # digests the request named (not only built on)

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
        return Plan(kept, frozenset((a, b) for a, b in self.edges if b in keys), self.requested & keys)

    def requested_specs(self) -> list[RunSpec]:
        return [spec for spec in self.specs if spec.digest() in self.requested]

    def __add__(self, other: "Plan") -> "Plan":
        merged = {**self.by_digest(), **other.by_digest()}
        return Plan(tuple(merged.values()), self.edges | other.edges, self.requested | other.requested)


def dependencies(spec: RunSpec) -> list[RunSpec]:
    """The finished runs `spec` builds on (LP-FT's probe, WiSE's fine-tuned run), as its method says."""
    return build_method(spec).dependencies()


def build_plan(specs: Iterable[RunSpec]) -> Plan:
    """Every spec preceded by what it depends on (depth first), each spec once, with the edges."""
    ordered: dict[str, RunSpec] = {}
    edges: set[tuple[str, str]] = set()

    def visit(spec: RunSpec, trail: tuple[str, ...]) -> None:
        key = spec.digest()
        if key in trail:
            raise ConfigError(f"dependency cycle through {spec.method}")
        for dep in dependencies(spec):
            edges.add((dep.digest(), key))
            visit(dep, trail + (key,))
        ordered.setdefault(key, spec)

    specs = list(specs)
    for spec in specs:
        visit(spec, ())
    return Plan(tuple(ordered.values()), frozenset(edges), frozenset(spec.digest() for spec in specs))


def plan_grid(methods: list[str], seeds: list[int], benchmark: str,
              benchmark_defaults: dict[str, Any], overrides: dict[str, Any] | None = None
              ) -> Plan:
    """methods x seeds, with dependencies, in an order that runs them correctly one by one."""
    return build_plan(grid_specs(methods, seeds, benchmark, benchmark_defaults, overrides))


def grid_specs(methods: list[str], seeds: list[int], benchmark: str,
               benchmark_defaults: dict[str, Any], overrides: dict[str, Any] | None = None) -> list[RunSpec]:
    """The requested runs of methods x seeds, without their dependencies.

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
    return [make_spec(m, benchmark_defaults, benchmark, s,
                      {**overrides, "hparams": {p: v for p, v in hparams.items() if p in m.split("+")}})
            for s in seeds for m in canonical]
