"""From a request (methods x seeds on a benchmark) to an ordered list of RunSpecs.

A spec's fields are layered: RunSpec defaults < the benchmark's `train:` budget < the method
preset's `train:` < explicit overrides (CLI flags). Dependencies (LP before LP-FT, the fine-tuned
run before WiSE) are added and put first; duplicates collapse because equal specs hash equally.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Iterable

from .config import ConfigError, read_yaml, resolve_preset
from .methods.base import METHODS, build_method
from .spec import RunSpec

SPEC_TRAIN_KEYS = {f.name for f in fields(RunSpec)} - {"benchmark", "method", "hparams"}


def method_preset(name: str) -> dict[str, Any]:
    """methods/<name>.yaml: {method, description, hparams, train, base}; optional for a method
    registered in code (its defaults then live in the code alone)."""
    from .methods import catalogue  # noqa: F401
    try:
        path = resolve_preset("methods", name)
    except ConfigError:
        if name in METHODS:
            return {}
        raise
    preset = read_yaml(path)
    unknown = sorted(set(preset.get("train", {}) or {}) - SPEC_TRAIN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown train keys {unknown}; known: {sorted(SPEC_TRAIN_KEYS)}")
    return preset


def canonical_method(name: str) -> str:
    """'wise' -> 'ft+wise': a post-hoc method alone applies to its preset's default base."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise ConfigError(f"empty method name {name!r}")
    from .methods import catalogue  # noqa: F401
    for part in parts:
        METHODS.get(part)  # raises with the list of known methods
    if len(parts) == 1:
        base = method_preset(parts[0]).get("base")
        if base:
            parts = [base, *parts]
    return "+".join(parts)


def make_spec(method: str, benchmark_defaults: dict[str, Any], benchmark: str, seed: int = 0,
              overrides: dict[str, Any] | None = None) -> RunSpec:
    """The spec of one run, layering benchmark budget, method presets and overrides."""
    method = canonical_method(method)
    fields_: dict[str, Any] = dict(benchmark_defaults)
    hparams: dict[str, Any] = {}
    for part in method.split("+"):
        preset = method_preset(part)
        fields_.update(preset.get("train", {}) or {})
        hparams.update(preset.get("hparams", {}) or {})
    overrides = dict(overrides or {})
    hparams.update(overrides.pop("hparams", {}) or {})
    unknown = sorted(set(overrides) - SPEC_TRAIN_KEYS)
    if unknown:
        raise ConfigError(f"unknown overrides {unknown}; known: {sorted(SPEC_TRAIN_KEYS)}")
    fields_.update(overrides)
    fields_["seed"] = seed
    return RunSpec(benchmark=benchmark, method=method, hparams=hparams, **fields_)


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
    """methods x seeds, with dependencies, in an order that runs them correctly one by one."""
    requested = [make_spec(m, benchmark_defaults, benchmark, s, overrides) for s in seeds for m in methods]
    return with_dependencies(requested)
