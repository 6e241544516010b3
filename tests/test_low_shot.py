"""The low-shot regime: K images per class, fixed and nested, in the run's identity and the report."""

from __future__ import annotations

from collections import Counter

import torch

from robustbench_ft.cli import main
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.data.low_shot import per_class_rows
from robustbench_ft.tools.fakedata.base import FakeOptions, write_fake


def test_k_per_class_fixed_and_nested():
    labels = torch.tensor([0] * 10 + [1] * 3 + [2] * 7)
    four = per_class_rows(labels, 4, seed=5)
    assert Counter(labels[four].tolist()) == {0: 4, 1: 3, 2: 4}  # a class with fewer gives all it has
    assert four == sorted(four) and four == per_class_rows(labels, 4, seed=5)
    assert set(per_class_rows(labels, 1, seed=5)) <= set(four) <= set(per_class_rows(labels, 6, seed=5))
    assert per_class_rows(labels, 4, seed=6) != four


def test_held_out_validation_shrinks_alike_an_own_split_does_not(tmp_path, mini_benchmark):
    write_fake("cifar10", tmp_path, FakeOptions(per_class=30, sources_per_class=1))
    from robustbench_ft.core.config import resolve_preset
    halved = tmp_path / "cifar10-half.yaml"  # half the training images held out: 15 a class for validation
    halved.write_text(resolve_preset("benchmarks", "cifar10").read_text().replace(
        "holdout: {fraction: 0.02, seed: 0}", "holdout: {fraction: 0.5, seed: 0}"))
    full = load_benchmark(str(halved), data_root=str(tmp_path), workers=0)
    few = load_benchmark(str(halved), data_root=str(tmp_path), workers=0, shots=2)
    assert min(Counter(full.val_set().labels.tolist()).values()) >= 2  # so the shrink below is real
    assert Counter(few.train_set().labels.tolist()) == {c: 2 for c in range(10)}
    assert Counter(few.val_set().labels.tolist()) == {c: 2 for c in range(10)}  # held out of train: shrinks too
    assert set(few.train_set().paths) <= set(full.train_set().paths)
    assert set(few.val_set().paths) <= set(full.val_set().paths)
    assert few.test_set("stl10").paths == full.test_set("stl10").paths
    own = load_benchmark(mini_benchmark, shots=1)  # the embedded world has its own validation split
    assert len(own.val_set()) == len(load_benchmark(mini_benchmark).val_set())
    assert Counter(own.train_set().labels.tolist()) == {c: 1 for c in range(len(own.classes))}


def test_shots_name_the_run_and_report_per_shot_count_with_a_figure(tmp_path, mini_benchmark):
    from robustbench_ft.records.layout import ResultsTree
    from robustbench_ft.report.collect import collect
    results = tmp_path / "results"
    for shots in (["--shots", "1"], ["--shots", "2"], []):
        assert main(["run", "--methods", "zeroshot,ft", "--dataset", mini_benchmark, "--steps", "2",
                     "--batch-size", "4", "--eval-every", "1", "--results", str(results), *shots]) == 0
    done = [f.read_result() for f in ResultsTree(results).runs()]
    assert len({r.run for r in done}) == 6  # the shot count names the run (zero-shot's too, alike but apart)
    assert sorted(str(r.spec.get("shots")) for r in done) == ["1", "1", "2", "2", "None", "None"]
    ft = next(f for f in ResultsTree(results).runs() if f.read_result().spec.get("shots") == 2
              and f.read_result().method == "ft")
    steps = [line for line in (ft.path / "metrics.jsonl").read_text().splitlines() if '"loss"' in line]
    assert steps  # it trained, on its 2 images a class (the batch of 4 is drawn from them)
    frame = collect(results).frame
    assert set(frame["benchmark"].astype(str)) == {"mini", "mini/1-shot", "mini/2-shot"}
    assert sorted(frame["shots"].dropna().unique().tolist()) == [1, 2]
    out = tmp_path / "report"
    assert main(["report", "--results", str(results), "--out", str(out), "--plots", "--format", "md"]) == 0
    assert (out / "figures" / "accuracy_vs_shots_mini.png").is_file()
    assert (out / "mini" / "2-shot" / "accuracy.md").is_file()


def test_a_batch_larger_than_the_low_shot_training_set_is_one_line_before_any_run(tmp_path, mini_benchmark, capsys):
    code = main(["run", "--methods", "zeroshot,ft", "--dataset", mini_benchmark, "--shots", "1", "--batch-size", "64",
                 "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--shots 1 on" in err and "fewer than the batch size 64" in err
    assert "Traceback" not in err and not any(tmp_path.iterdir())


def test_a_low_shot_workbench_shares_the_full_ones_model_and_zero_shot_outputs(mini_benchmark):
    from robustbench_ft.engine.workbench import open_workbench
    full = open_workbench(mini_benchmark, "tiny-clip", "embedded", torch.device("cpu"))
    few = open_workbench(mini_benchmark, "tiny-clip", "embedded", torch.device("cpu"), shots=1)
    assert few.clip is full.clip and few.zeroshot is full.zeroshot  # one model load for every shot count
    assert few._zeroshot_outputs is full._zeroshot_outputs
    assert len(few.benchmark.train_set()) == len(full.benchmark.classes) < len(full.benchmark.train_set())
    assert few.benchmark.test_set("photo") is full.benchmark.test_set("photo")


def test_the_dry_run_counts_a_low_shot_runs_shrunk_validation(tmp_path, capsys):
    write_fake("cifar10", tmp_path, FakeOptions(per_class=30, sources_per_class=1))
    benchmark = load_benchmark("cifar10", data_root=str(tmp_path), shots=1)
    val, tests = len(benchmark.val_set()), sum(len(benchmark.test_set(s)) for s in benchmark.test_splits)
    assert val < len(load_benchmark("cifar10", data_root=str(tmp_path)).val_set())
    assert main(["run", "--methods", "ft", "--dataset", "cifar10", "--data-root", str(tmp_path), "--shots", "1",
                 "--steps", "4", "--eval-every", "2", "--batch-size", "4", "--results", str(tmp_path / "r"),
                 "--dry-run"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| ft |"))
    assert row.endswith(f"| {4 * 4:,} | {2 * val + val + tests:,} |")  # 2 evaluations, the final one, the tests
