"""RunSpec: typed fields, layered construction, the planner's dependencies."""

from __future__ import annotations

import pytest

from robustbench_ft.core.config import ConfigError
from robustbench_ft.core.spec import RunSpec
from robustbench_ft.methods.base import build_method
from robustbench_ft.planning import canonical_method, make_spec, plan_grid

BUDGET = {"steps": 375, "batch_size": 128, "lr": 3e-4, "weight_decay": 0.1, "eval_every": 75}


def test_round_trip_through_dict():
    spec = RunSpec(benchmark="b", method="ft+wise", hparams={"wise": {"alphas": [0.0, 0.5]}})
    assert RunSpec.from_dict(spec.to_dict()) == spec
    assert spec.hparams_of("wise") == {"alphas": [0.0, 0.5]} and spec.hparams_of("ft") == {}


def test_invalid_values_are_rejected():
    with pytest.raises(ConfigError, match="selection"):
        RunSpec(benchmark="b", method="m", selection="best_test")
    with pytest.raises(ConfigError, match="unknown run spec fields"):
        RunSpec.from_dict({"benchmark": "b", "method": "m", "lr_typo": 1})


def test_field_types_are_checked_and_ints_widen_to_floats():
    assert RunSpec(benchmark="b", method="ft", lr=1).lr == 1.0
    with pytest.raises(ConfigError, match=r"run spec field 'lr' must be float, got str '3e-4'"):
        RunSpec(benchmark="b", method="ft", lr="3e-4")  # what YAML makes of 3e-4 without a dot
    with pytest.raises(ConfigError, match="'steps' must be int, got float 1.5"):
        RunSpec(benchmark="b", method="ft", steps=1.5)
    with pytest.raises(ConfigError, match="'seed' must be int, got bool"):
        RunSpec(benchmark="b", method="ft", seed=True)


def test_layering_benchmark_preset_override():
    spec = make_spec("lp-zs", {"steps": 375, "lr": 3e-4}, "embedded", seed=2, overrides={"steps": 7})
    assert (spec.steps, spec.lr, spec.weight_decay, spec.seed) == (7, 1e-3, 0.0, 2)
    assert make_spec("lipsum", {}, "embedded").hparams_of("lipsum") == {"lam": 1.0, "num_texts": 80,
                                                                        "text_length": 8,
                                                                        "text_pool": "vocabulary"}


def test_wise_alone_means_ft_plus_wise():
    assert canonical_method("wise") == "ft+wise"
    assert canonical_method("lipsum+wise") == "lipsum+wise"


def test_unknown_method_lists_known_ones():
    with pytest.raises(KeyError, match="known: .*lipsum"):
        canonical_method("fancy")


def test_plan_orders_dependencies_and_dedupes():
    specs = list(plan_grid(["lpft", "lp", "wise", "ft"], [0], "embedded", {"steps": 10}).specs)
    methods = [s.method for s in specs]
    assert methods.index("lp") < methods.index("lpft")
    assert methods.index("ft") < methods.index("ft+wise")
    assert sorted(methods) == sorted(["lp", "lpft", "ft", "ft+wise"])


@pytest.mark.parametrize("overrides", [{}, {"lr": 1e-4, "steps": 50}])
def test_lpft_stage_is_the_grids_own_lp_run(overrides):
    """LP-FT's LP stage is derived from `lp`'s own spec: the same run the grid plans for `lp`."""
    specs = list(plan_grid(["lp", "lpft"], [3], "embedded", BUDGET, overrides).specs)
    lp = [s for s in specs if s.method == "lp"]
    lpft = next(s for s in specs if s.method == "lpft")
    assert len(lp) == 1 and build_method(lpft).dependencies() == lp and lp[0].seed == 3


def test_lpft_on_the_zero_shot_initialised_head_uses_that_probe_and_its_preset():
    specs = list(plan_grid(["lpft"], [0], "embedded", BUDGET, {"hparams": {"lpft": {"probe": "lp-zs"}}}).specs)
    assert [s.method for s in specs] == ["lp-zs", "lpft"]
    assert (specs[0].lr, specs[0].weight_decay) == (1e-3, 0.0)  # lp-zs's own recipe


def test_wise_base_keeps_only_the_base_parts_hyper_parameters():
    spec = make_spec("lipsum+wise", BUDGET, "embedded", 0,
                     {"hparams": {"lipsum": {"lam": 2.0}, "wise": {"alphas": [0.0, 1.0]}}})
    base = build_method(spec).dependencies()[0]
    assert base == make_spec("lipsum", BUDGET, "embedded", 0, {"hparams": {"lam": 2.0}})
    assert base.hparams_dict() == {"lipsum": {"lam": 2.0, "num_texts": 80, "text_length": 8,
                                              "text_pool": "vocabulary"}}
