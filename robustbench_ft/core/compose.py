"""A run's spec composed from presets and overrides: the one rule every request goes through.

A spec's fields are layered: RunSpec defaults < the benchmark's `train:` budget < the method
preset's `train:` < explicit overrides (flags, a sweep's settings). A method that trains nothing
(zero-shot, Kumar et al.'s probe, a post-hoc step on such a run) keeps the benchmark's training
fields whatever the request says: a sweep over `lr` runs zero-shot once, under one name. Its hyper-parameters are the
method's declared defaults overlaid with the overrides' `hparams`, checked and typed. The planner
composes the runs of a grid with it, and a method that builds on another run (LP-FT on its probe)
composes that run with `sibling_spec`, so both always name the same run. Torch-free: the method
declarations come from core.declarations.
"""

from __future__ import annotations

from typing import Any

from .config import ConfigError, benchmark_budget
from .declarations import DECLARATIONS, IMPLIED_METHOD, completed
from .method_info import method_info, train_keys
from .spec import RunSpec, training_fields


def canonical_method(name: str) -> str:
    """'wise' -> 'ft+wise': a post-hoc method alone applies to its preset's default base;
    'ft+ema' -> 'ema': a modifier alone modifies FT, and FT's part is left out of the name (so EMA
    runs kept the names they had before EMA became a modifier)."""
    parts = [p.strip() for p in name.split("+") if p.strip()]
    if not parts:
        raise ConfigError(f"empty method name {name!r}")
    for part in parts:
        DECLARATIONS.of(part)  # raises with the list of known methods
    check_order(name, parts)
    if len(parts) == 1:
        base = method_info(parts[0]).base
        if base:
            parts = [base, *parts]
    if len(parts) > 1 and parts[0] == IMPLIED_METHOD and DECLARATIONS.modifies(parts[1]):
        parts = parts[1:]
    return "+".join(parts)


def check_order(name: str, parts: list[str]) -> None:
    """A composed method is one method (trained or not), then modifiers of its training, then
    post-hoc steps: 'lipsum+ema+wise'. A modifier first modifies FT ('ema+wise')."""
    if len(set(parts)) < len(parts):
        raise ConfigError(f"method {name!r} names a part twice")
    stage = 0  # 0: the method, 1: its modifiers, 2: post-hoc steps
    for index, part in enumerate(parts):
        kind = 1 if DECLARATIONS.modifies(part) else 2 if method_info(part).base else 0
        if kind == 1 and (stage == 2 or (index and not DECLARATIONS.trains(parts[0]))):
            raise ConfigError(f"method {name!r}: modifier {part!r} must follow a method that trains (e.g. "
                              f"'lipsum+{part}'); post-hoc steps come after it ('lipsum+{part}+wise')")
        if kind == 0 and index:
            raise ConfigError(f"method {name!r}: {part!r} is a method of its own and can only come first; after "
                              "it come modifiers of its training (ema) and post-hoc steps (wise, soup, ...)")
        stage = max(stage, kind)


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
    if not DECLARATIONS.trains(method):  # zero-shot, LP: lr, steps, ... change nothing, so name nothing
        fields_ = untrained(fields_, benchmark)
    fields_["seed"] = seed
    return completed(RunSpec(benchmark=benchmark, method=method, hparams=hparams, **fields_))


def untrained(fields_: dict[str, Any], benchmark: str) -> dict[str, Any]:
    """`fields_` with every training field as the benchmark's own budget has it (else RunSpec's
    default): what a method that trains nothing is run with, whatever was asked."""
    budget = benchmark_budget(benchmark)  # the benchmark's own, whatever the caller's defaults
    out = {k: v for k, v in fields_.items() if k not in training_fields()}
    out.update({k: budget[k] for k in training_fields() if k in budget})
    return out


def sibling_spec(spec: RunSpec, method: str) -> RunSpec:
    """The spec the planner makes for `method` under the same request as `spec`: same benchmark,
    seed and budget overrides, `method`'s own preset, and its hyper-parameters as `spec` gives them.

    LP-FT's LP stage is `sibling_spec(lpft_spec, "lp")`: the very `lp` run of the same grid.
    """
    defaults = benchmark_budget(spec.benchmark)
    planned = make_spec(spec.method, defaults, spec.benchmark, spec.seed)
    overrides = {k: getattr(spec, k) for k in train_keys() if getattr(spec, k) != getattr(planned, k)}
    return make_spec(method, defaults, spec.benchmark, spec.seed,
                     {**overrides, "hparams": {method: spec.hparams_of(method)}})


def with_eval_every(overrides: dict[str, Any]) -> dict[str, Any]:
    """A budget given in steps without `eval_every` evaluates five times (the presets' eval
    interval is for their own budget)."""
    if overrides.get("steps") is not None and overrides.get("eval_every") is None:
        return {**overrides, "eval_every": max(1, int(overrides["steps"]) // 5)}
    return overrides
