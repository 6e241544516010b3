"""The command line: listing, bad input with clear errors, and an end-to-end run."""

from __future__ import annotations

from robustbench_ft.cli.main import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("zeroshot", "lp", "ft", "lpft", "lipsum", "wise", "embedded"):
        assert name in out


def test_list_gives_every_method_a_description_and_a_reference(capsys):
    from robustbench_ft.core.config import preset_names
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name in preset_names("methods"):  # every shipped method (tests may register more)
        line = next(i for i, text in enumerate(out) if text.strip().startswith(name + " "))
        assert len(out[line].split(":", 1)[1].strip()) > 20, name  # "label: description"
        assert out[line + 1].strip().startswith("reference: "), name


def test_unknown_method_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "--methods", "nope", "--results", str(tmp_path)]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err


def test_unknown_benchmark_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "--dataset", "imagenet-typo", "--results", str(tmp_path)]) == 2
    assert "unknown benchmark 'imagenet-typo'" in capsys.readouterr().err


def test_invalid_yaml_names_file_and_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nclasses: [a, b\n")
    assert main(["run", "--dataset", str(bad), "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "invalid YAML" in err and "bad.yaml:" in err


def test_benchmark_missing_keys_is_a_clear_error(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfamily: synthetic\n")
    assert main(["run", "--dataset", str(bad), "--results", str(tmp_path)]) == 2
    assert "missing required key 'templates'" in capsys.readouterr().err


def test_run_prints_a_table(mini_benchmark, tmp_path, capsys):
    code = main(["run", "--methods", "zeroshot,ft,wise", "--dataset", mini_benchmark,
                 "--steps", "2", "--results", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "| Zero-shot |" in out and "| FT |" in out and "WiSE-FT (α=0.5)" in out


def test_sweep_to_report(mini_benchmark, tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "report"
    assert main(["run", "--methods", "zeroshot,lipsum", "--seeds", "0,1", "--dataset", mini_benchmark,
                 "--steps", "2", "--results", str(results)]) == 0
    assert main(["report", "--results", str(results), "--out", str(out), "--format", "md,csv"]) == 0
    table = (out / "mini" / "accuracy.md").read_text()
    assert table.splitlines()[0] == ("| Method | photo | sketch | painting | clipart | quickdraw | "
                                     "infograph | OOD mean |")
    assert "| Zero-shot |" in table and "| Lipsum-FT |" in table and "±" in table
    import pandas as pd
    frame = pd.read_csv(out / "records.csv")
    # methods x seeds x (6 splits + 5 OOD splits without their held-out oracle part) x metrics
    assert len(frame) == 2 * 2 * (6 + 5) * 5 and (frame["role"] == "ood_rest").sum() == 2 * 2 * 5 * 5
    assert set(frame["seed"]) == {0, 1} and frame["ood_val_acc"].between(0, 1).all()
    assert frame["requested"].all() and set(frame.loc[frame["method"] == "lipsum", "train_steps"]) == {2}


def test_report_on_an_empty_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no finished runs" in capsys.readouterr().err


def test_model_without_weights_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "--model", "ViT-B-16", "--results", str(tmp_path)]) == 2
    assert "--model needs --pretrained" in capsys.readouterr().err


def test_missing_weights_file_through_the_cli(capsys, tmp_path, mini_benchmark):
    code = main(["run", "--methods", "zeroshot", "--dataset", mini_benchmark, "--model", "tiny-clip",
                 "--pretrained", str(tmp_path / "missing.pt"), "--results", str(tmp_path)])
    assert code == 2  # found while planning (the file's digest names the run): nothing ran
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_report_format_is_a_clear_error(capsys, tmp_path):
    assert main(["report", "--results", str(tmp_path), "--format", "md,xlsx"]) == 2
    assert "unknown report formats ['xlsx']" in capsys.readouterr().err


SAMPLE_VALUES = {  # a value other than the default for every RunSpec field a run flag sets
    "model": "tiny-clip", "pretrained": "none", "steps": 7, "batch_size": 8, "lr": 0.002, "weight_decay": 0.0,
    "warmup_frac": 0.2, "schedule": "constant", "grad_clip": 1.5, "accum_steps": 2, "eval_every": 3,
    "selection": "last", "precision": "fp32", "templates": "simple", "shots": 4, "data_root": "/data/elsewhere", "workers": 0,
    "cache_dir": "/scratch/cache",
    "checkpoint_every": 5, "log": "tensorboard", "compile": True,
}


def test_every_run_field_is_a_flag_and_means_what_its_yaml_key_means(mini_benchmark, tmp_path):
    """Each RunSpec field a request may set is a `run` flag made from the field, and giving it on
    the command line makes the same spec as giving it in the benchmark's `train:` block."""
    import yaml

    from robustbench_ft.cli.experiments import SPEC_FLAGS, _spec_overrides
    from robustbench_ft.cli.main import build_parser
    from robustbench_ft.core.method_info import train_keys
    from robustbench_ft.planning import make_spec, plan_grid
    assert sorted(SAMPLE_VALUES) == sorted(SPEC_FLAGS) == train_keys()
    base = yaml.safe_load(open(mini_benchmark))
    for name, value in SAMPLE_VALUES.items():
        given = {name: value, "eval_every": 3} if name == "steps" else {name: value}  # steps alone sets eval_every
        if name == "model":
            given["pretrained"] = "embedded"
        flags = [a for k, v in given.items() for a in
                 ([f"--{k.replace('_', '-')}"] if v is True else [f"--{k.replace('_', '-')}", str(v)])]
        args = build_parser().parse_args(["run", "--dataset", mini_benchmark, *flags])
        by_flag = plan_grid(["ft"], [0], mini_benchmark, base["train"], _spec_overrides(args)).specs[0]
        declared = tmp_path / f"{name}.yaml"
        declared.write_text(yaml.safe_dump({**base, "train": {**base["train"], **given}}))
        by_yaml = make_spec("ft", yaml.safe_load(declared.read_text())["train"], mini_benchmark, 0)
        assert by_flag == by_yaml, name
        assert getattr(by_flag, name) == (None if value == "none" else value), name


def test_pretrained_none_in_a_benchmark_yaml_is_random_initialisation(mini_benchmark, tmp_path, capsys):
    import json

    import yaml
    config = yaml.safe_load(open(mini_benchmark))
    config["train"]["pretrained"] = "none"
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", "--methods", "zeroshot", "--dataset", str(path), "--results", str(tmp_path / "r")]) == 0
    result = json.loads(next((tmp_path / "r").rglob("result.json")).read_text())
    assert result["spec"]["pretrained"] is None and result["identity"]["pretrained"] is None


def test_report_rule_and_its_old_spelling(fixture_results, tmp_path, capsys):
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "a"), "--rule", "all"]) == 0
    assert "note:" not in capsys.readouterr().err
    assert main(["report", "--results", str(fixture_results), "--out", str(tmp_path / "b"), "--selection", "all"]) == 0
    err = capsys.readouterr().err
    assert "note: `report --selection` is now `report --rule`" in err and len([x for x in err.splitlines()
                                                                                 if x.startswith("note:")]) == 1
    assert (tmp_path / "a" / "toy" / "accuracy.md").read_text() == (tmp_path / "b" / "toy" / "accuracy.md").read_text()
