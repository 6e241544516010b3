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
    assert len(frame) == 2 * 2 * 6 * 5  # methods x seeds x splits x metrics
    assert set(frame["seed"]) == {0, 1}


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
