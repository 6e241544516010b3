"""Every bad input is one clear line (exit 2, no traceback) that says what was expected, and
touches nothing; a run that hits a bad checkpoint or a full disk fails alone, leaving the rest."""

from __future__ import annotations

import errno
import json

import pytest
import torch
import yaml

from robustbench_ft.cli.main import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.execute import RunFailed, execute
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree, checkpoints


def _fails_cleanly(capsys, tmp_path, *args: str) -> str:
    results = tmp_path / "results"
    assert main([*args, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robustbench-ft: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not results.exists()  # nothing written
    return err


@pytest.mark.parametrize("args, expected", [
    (["--seeds", "a"], "--seeds expects comma-separated integers, got 'a'"),
    (["--seeds", "0,1,0"], "--seeds expects distinct integers, got '0,1,0'"),
    (["--methods", "ft,fancy"], "unknown method 'fancy'; known: "),
    (["--dataset", "imagenet-typo"], "unknown benchmark 'imagenet-typo'; shipped: "),
    (["--model", "NoSuchNet", "--pretrained", "none"], "unknown model 'NoSuchNet'"),
    (["--methods", "lipsum", "--set", "lipsum.lamda=2"], "method 'lipsum': unknown hyper-parameter 'lamda'; known: lam"),
    (["--methods", "lipsum", "--set", "lipsum.lam=high"], "hyper-parameter 'lam' must be float, got str 'high'"),
    (["--steps", "0"], "expected steps, batch_size, accum_steps and eval_every >= 1"),
    (["--batch-size", "-4"], "expected steps, batch_size, accum_steps and eval_every >= 1"),
    (["--shots", "0"], "expected shots >= 1 (or none: every training image)"),
])
def test_bad_run_arguments(capsys, tmp_path, args, expected):
    assert expected in _fails_cleanly(capsys, tmp_path, "run", *args)


def test_a_value_of_the_wrong_type_in_a_preset(capsys, tmp_path, mini_benchmark):
    config = yaml.safe_load(open(mini_benchmark))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config).replace("lr: 0.0003", "lr: 3e-4"))  # YAML reads 3e-4 as a string
    err = _fails_cleanly(capsys, tmp_path, "run", "--dataset", str(bad))
    assert "run spec field 'lr' must be float, got str '3e-4'" in err and str(bad) in err


def test_a_results_folder_of_a_newer_version(tmp_path, capsys):
    folder = tmp_path / "results" / "embedded" / "ft" / "abc"
    folder.mkdir(parents=True)
    (folder / "spec.yaml").write_text("spec_version: 5\nmethod: ft\n")
    assert main(["migrate", "--results", str(tmp_path / "results")]) == 1
    assert "written by a newer robustbench-ft (spec version 5, this one reads up to 4): upgrade" in capsys.readouterr().err
    assert (folder / "spec.yaml").read_text() == "spec_version: 5\nmethod: ft\n"


def _spec(benchmark: str, method: str, **overrides):
    return make_spec(method, load_benchmark(benchmark).train_defaults, benchmark, 0, {"steps": 2, **overrides})


def test_a_checkpoint_that_does_not_fit_the_model(tmp_path, mini_benchmark):
    lp = _spec(mini_benchmark, "lp")
    execute(lp, tmp_path)
    path = ResultsTree(tmp_path).of(lp).path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    state["head"] = state["head"][:, :10]
    torch.save(state, path)
    with pytest.raises(RunFailed, match=r"does not fit model tiny-clip: 1 tensors differ, e.g. head is "
                                        r"\(12, 10\) there, \(12, \d+\) here"):
        execute(_spec(mini_benchmark, "lpft"), tmp_path)


def test_no_space_left_fails_the_run_and_keeps_earlier_records(tmp_path, mini_benchmark, monkeypatch):
    done = execute(_spec(mini_benchmark, "zeroshot"), tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.torch, "save", full_disk)
    ft = _spec(mini_benchmark, "ft")
    with pytest.raises(RunFailed, match="No space left on device"):
        execute(ft, tmp_path)
    folder = ResultsTree(tmp_path).of(ft).path
    assert "No space left on device" in json.loads((folder / "error.json").read_text())["reason"]
    assert not (folder / "result.json").exists() and list(tmp_path.rglob("*.tmp")) == []
    assert all(p.read_bytes() == content for p, content in before.items())  # earlier records intact
    assert done.evaluations


@pytest.mark.parametrize("metrics, expected", [
    ("{primary: [top5]}", "metrics ['top5'] in 'metrics:'; known: acc, macro_f1, worst_group_acc"),
    ("{select_on: worst_group_acc}", "'worst_group_acc' needs 'metrics: groups:'"),
    ("[macro_f1]", "'metrics' must be a mapping (primary, select_on, groups)"),
])
def test_a_benchmarks_metric_declaration_is_checked(capsys, tmp_path, mini_benchmark, metrics, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(mini_benchmark).read() + f"metrics: {metrics}\n")
    err = _fails_cleanly(capsys, tmp_path, "run", "--dataset", str(bad))
    assert expected in err and str(bad) in err
