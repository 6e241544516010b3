"""RunSpec hashing and layered construction."""

from __future__ import annotations

import dataclasses

import pytest

from robustbench_ft.config import ConfigError
from robustbench_ft.plan import canonical_method, make_spec, plan_grid
from robustbench_ft.spec import RunSpec

# The digest names result folders: changing RunSpec's fields or defaults re-names every run.
GOLDEN_DIGEST = "cb11db4a909a"
CHANGED = {"benchmark": "other", "method": "lp", "model": "ViT-B-16", "pretrained": "openai",
           "seed": 1, "steps": 1, "batch_size": 2, "lr": 1e-5, "weight_decay": 0.0,
           "warmup_frac": 0.2, "schedule": "constant", "grad_clip": 1.0, "accum_steps": 2,
           "eval_every": 3, "selection": "last", "precision": "bf16", "hparams": {"lam": 2.0}}


def test_digest_is_stable():
    spec = RunSpec(benchmark="embedded", method="ft")
    assert spec.digest() == RunSpec(benchmark="embedded", method="ft").digest()
    assert spec.digest() == GOLDEN_DIGEST
    assert len(spec.digest()) == 12


def test_every_field_changes_the_digest():
    base = RunSpec(benchmark="embedded", method="ft")
    assert set(CHANGED) == {f.name for f in dataclasses.fields(RunSpec)}
    for name, value in CHANGED.items():
        assert base.replace(**{name: value}).digest() != base.digest(), name


def test_hparam_order_does_not_matter():
    a = RunSpec(benchmark="b", method="m", hparams={"x": 1, "y": [1, 2]})
    b = RunSpec(benchmark="b", method="m", hparams={"y": [1, 2], "x": 1})
    assert a.digest() == b.digest() and a.hparam("y") == [1, 2]


def test_round_trip_through_dict():
    spec = RunSpec(benchmark="b", method="m", hparams={"alphas": [0.0, 0.5]})
    assert RunSpec.from_dict(spec.to_dict()) == spec


def test_invalid_values_are_rejected():
    with pytest.raises(ConfigError, match="selection"):
        RunSpec(benchmark="b", method="m", selection="best_test")
    with pytest.raises(ConfigError, match="unknown run spec fields"):
        RunSpec.from_dict({"benchmark": "b", "method": "m", "lr_typo": 1})


def test_layering_benchmark_preset_override():
    spec = make_spec("lp", {"steps": 375, "lr": 3e-4}, "embedded", seed=2, overrides={"steps": 7})
    assert (spec.steps, spec.lr, spec.weight_decay, spec.seed) == (7, 1e-3, 0.0, 2)
    assert make_spec("lipsum", {}, "embedded").hparam("num_texts") == 80


def test_wise_alone_means_ft_plus_wise():
    assert canonical_method("wise") == "ft+wise"
    assert canonical_method("lipsum+wise") == "lipsum+wise"


def test_unknown_method_lists_known_ones():
    with pytest.raises(KeyError, match="known: .*lipsum"):
        canonical_method("fancy")


def test_plan_orders_dependencies_and_dedupes():
    specs = plan_grid(["lpft", "lp", "wise", "ft"], [0], "embedded", {"steps": 10})
    methods = [s.method for s in specs]
    assert methods.index("lp") < methods.index("lpft")
    assert methods.index("ft") < methods.index("ft+wise")
    assert sorted(methods) == sorted(["lp", "lpft", "ft", "ft+wise"])
