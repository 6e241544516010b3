"""From a request (methods x seeds on a benchmark) to an ordered list of RunSpecs.

A spec's fields are layered: RunSpec defaults < the benchmark's `train:` budget < the method
preset's `train:` < explicit overrides (CLI flags). Its hyper-parameters are the method's declared
defaults overlaid with the overrides' `hparams`, checked and typed. Dependencies (LP before
LP-FT, the fine-tuned run before WiSE) are added and put first; duplicates collapse because equal
specs hash equally.
"""

from __future__ import annotations

from typing import Any, Iterable

from .config import ConfigError
from .method_info import method_info, train_keys
from .methods.base import METHODS, build_method, completed
from .spec import RunSpec


def canonical_method(name: str) -> str:
    """'wise' -> 'ft+wise': a post-hoc method alone applies to its preset's default base."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise ConfigError(f"empty method name {name!r}")
    from .methods import catalogue  # noqa: F401
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
    from .data.benchmark import load_benchmark
    defaults = load_benchmark(spec.benchmark).train_defaults
    planned = make_spec(spec.method, defaults, spec.benchmark, spec.seed)
    overrides = {k: getattr(spec, k) for k in train_keys() if getattr(spec, k) != getattr(planned, k)}
    return make_spec(method, defaults, spec.benchmark, spec.seed,
                     {**overrides, "hparams": {method: spec.hparams_of(method)}})


def with_dependencies(specs: Iterable[RunSpec]) -> list[RunSpec]:
    """Every spec preceded by what it depends on (depth first), each spec once."""
    ordered: dict[str, RunSpec] = {}

    def visit(spec: RunSpec, trail: tuple[str, ...]) -> None:
        key = spec.digest()
        if key in trail:
            raise ConfigError(f"dependency cycle through {spec.method}")
        for dep in build_method(spec).dependencies():
            visit(dep, trail + (key,))
        ordered.setdefault(key, spec)

    for spec in specs:
        visit(spec, ())
    return list(ordered.values())


def plan_grid(methods: list[str], seeds: list[int], benchmark: str,
              benchmark_defaults: dict[str, Any], overrides: dict[str, Any] | None = None
              ) -> list[RunSpec]:
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
    return with_dependencies(requested)
