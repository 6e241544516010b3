"""Typed hyper-parameters: declared once per method, checked wherever a spec is made."""

from __future__ import annotations

import pytest

from robustbench_ft.cli.main import main
from robustbench_ft.core.config import ConfigError
from robustbench_ft.core.hparams import HParam
from robustbench_ft.core.method_info import method_info
from robustbench_ft.core.spec import RunSpec
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.execute import execute
from robustbench_ft.methods.base import build_method
from robustbench_ft.planning import make_spec


def lipsum(**hparams) -> RunSpec:
    return RunSpec(benchmark="embedded", method="lipsum", hparams=hparams)


def test_values_are_typed_and_defaulted():
    method = build_method(lipsum(lam=2))
    assert method.hp == {"lam": 2.0, "num_texts": 80, "text_length": 8, "text_pool": "vocabulary"}
    assert isinstance(method.hp["lam"], float)


def test_unknown_key_names_the_method_and_the_known_keys():
    with pytest.raises(ConfigError) as err:
        build_method(lipsum(lamda=5))
    assert str(err.value) == (
        "method 'lipsum': unknown hyper-parameter 'lamda'; known: lam (float, default 1.0, "
        "space [0.5, 1.0, 2.0]), num_texts (int, default 80), text_length (int, default 8), "
        "text_pool (str, default \"vocabulary\", one of ['vocabulary', 'unnamed'])")


def test_wrong_type_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"hyper-parameter 'lam' must be float, got str '5' \(method 'lipsum'\)"):
        build_method(lipsum(lam="5"))
    with pytest.raises(ConfigError, match="'num_texts' must be int, got float 8.5"):
        build_method(lipsum(num_texts=8.5))
    with pytest.raises(ConfigError, match="'alphas' must be list"):
        build_method(RunSpec(benchmark="embedded", method="ft+wise", hparams={"wise": {"alphas": 0.5}}))


def test_a_key_of_another_method_says_where_it_belongs():
    with pytest.raises(ConfigError, match=r"unknown hyper-parameter 'alphas' \('alphas' belongs to wise\)"):
        build_method(lipsum(alphas=[0.5]))
    with pytest.raises(ConfigError, match="method 'ft': unknown hyper-parameter 'lam'.*belongs to lipsum.*known: none"):
        build_method(RunSpec(benchmark="embedded", method="ft", hparams={"lam": 1.0}))


def test_composed_methods_keep_each_parts_keys_apart():
    with pytest.raises(ConfigError, match="give its hyper-parameters under each part's name"):
        RunSpec(benchmark="embedded", method="lipsum+wise", hparams={"lam": 2.0})
    spec = RunSpec(benchmark="embedded", method="lipsum+wise",
                   hparams={"lipsum": {"lam": 2.0}, "wise": {"alphas": [0, 1]}})
    assert build_method(spec).hp == {"alphas": [0.0, 1.0]}


def test_declarations_check_their_own_defaults():
    with pytest.raises(ConfigError, match="'x' must be int"):
        HParam("x", int, 0.5)


def test_a_bad_spec_fails_before_anything_is_written(tmp_path, mini_benchmark):
    spec = make_spec("lipsum", load_benchmark(mini_benchmark).train_defaults, mini_benchmark)
    with pytest.raises(ConfigError, match="lamda"):
        execute(spec.replace(hparams={"lamda": 5}), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_preset_may_not_declare_hyper_parameters(tmp_path, monkeypatch):
    import robustbench_ft.core.method_info as info
    preset = tmp_path / "lipsum.yaml"
    preset.write_text("method: lipsum\nhparams:\n  lam: 2.0\n")
    monkeypatch.setattr(info, "resolve_preset", lambda kind, name: preset)
    with pytest.raises(ConfigError, match="declared in the method's code"):
        method_info("lipsum")


def test_list_shows_every_declaration(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lipsum.lam (float, default 1.0, space [0.5, 1.0, 2.0])" in out
    assert "reference: Nam, Heo, Lee, ICLR 2024" in out


def test_run_sets_hyper_parameters_per_method(capsys, tmp_path, mini_benchmark):
    from robustbench_ft.planning import plan_grid
    specs = list(plan_grid(["ft", "lipsum+wise"], [0], mini_benchmark, {}, {"hparams": {"lipsum": {"lam": 2}}}).specs)
    assert {s.method: s.hparams_of("lipsum").get("lam") for s in specs} == {"ft": None, "lipsum": 2.0,
                                                                           "lipsum+wise": 2.0}
    args = ["run", "--methods", "ft", "--dataset", mini_benchmark, "--results", str(tmp_path)]
    assert main([*args, "--set", "lipsum.lam=2"]) == 2
    assert "hyper-parameters for ['lipsum'], which none of the methods ['ft'] has" in capsys.readouterr().err
    assert main([*args, "--methods", "lipsum", "--set", "lipsum.lamda=2"]) == 2
    assert "method 'lipsum': unknown hyper-parameter 'lamda'" in capsys.readouterr().err
    assert main([*args, "--set", "lam"]) == 2
    assert "--set expects METHOD.KEY=VALUE" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
