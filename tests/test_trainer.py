"""The shared trainer and the run records: schedule, logging, selection, failures, idempotence."""

from __future__ import annotations

import json

import pytest

from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.execute import RunFailed, execute
from robustbench_ft.engine.train import lr_factor
from robustbench_ft.methods.finetune import FineTune
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree


def spec_for(method: str, bench: str, **overrides):
    return make_spec(method, load_benchmark(bench).train_defaults, bench, 0, overrides)


def test_lr_schedule_warms_up_linearly_then_decays_by_cosine():
    assert lr_factor(0, 100, 0.1) == 0.0
    assert lr_factor(5, 100, 0.1) == pytest.approx(0.5)
    assert lr_factor(10, 100, 0.1) == pytest.approx(1.0)
    assert lr_factor(55, 100, 0.1) == pytest.approx(0.5)
    assert lr_factor(100, 100, 0.1) == pytest.approx(0.0)
    assert lr_factor(50, 100, 0.1, "constant") == 1.0


def test_run_folder_holds_spec_log_checkpoint_and_result(mini_benchmark, tmp_path):
    spec = spec_for("ft", mini_benchmark, warmup_frac=0.5)
    result = execute(spec, tmp_path)
    folder = ResultsTree(tmp_path).of(spec).path
    assert folder == tmp_path / "mini" / "ft" / spec.digest()
    assert {p.name for p in folder.iterdir()} == {"spec.yaml", "metrics.jsonl", "checkpoint.pt", "result.json"}
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [("val_acc" in r) for r in rows] == [False, True, False, True]
    assert [r["lr"] for r in rows] == pytest.approx([0.0, 1.5e-4, 3e-4, 1.5e-4])
    assert all(r["loss"] > 0 and r["ce"] == r["loss"] for r in rows)
    best = max(r["val_acc"] for r in rows if "val_acc" in r)
    assert result.train.best_val_acc == best
    assert result.evaluations[0].val_acc == pytest.approx(best)  # the selected checkpoint
    record = result.evaluations[0]
    assert set(record.splits) == {"photo", "sketch", "painting", "clipart", "quickdraw", "infograph"}


def test_finished_runs_are_not_recomputed(mini_benchmark, tmp_path):
    spec = spec_for("zeroshot", mini_benchmark)
    first = execute(spec, tmp_path)
    stamp = (ResultsTree(tmp_path).of(spec).path / "result.json").stat().st_mtime_ns
    assert execute(spec, tmp_path) == first
    assert (ResultsTree(tmp_path).of(spec).path / "result.json").stat().st_mtime_ns == stamp


def test_nan_loss_fails_the_run_with_a_reason_and_spares_other_runs(mini_benchmark, tmp_path, monkeypatch):
    good = spec_for("zeroshot", mini_benchmark)
    execute(good, tmp_path)
    before = {p: p.read_bytes() for p in ResultsTree(tmp_path).of(good).path.iterdir()}

    def nan_loss(self, batch, ctx):
        return {"ce": batch.logits.sum() * float("nan")}

    monkeypatch.setattr(FineTune, "loss_terms", nan_loss)
    bad = spec_for("ft", mini_benchmark)
    with pytest.raises(RunFailed, match="non-finite loss"):
        execute(bad, tmp_path)
    folder = ResultsTree(tmp_path).of(bad).path
    error = json.loads((folder / "error.json").read_text())
    assert "NonFiniteLossError" in error["reason"] and "step 0" in error["reason"]
    assert not (folder / "result.json").exists()
    assert {p: p.read_bytes() for p in ResultsTree(tmp_path).of(good).path.iterdir()} == before


def test_selection_last_keeps_final_weights(mini_benchmark, tmp_path):
    spec = spec_for("ft", mini_benchmark, selection="last", steps=3, eval_every=1, lr=1e-3)
    result = execute(spec, tmp_path)
    assert result.train.best_step == 3


def test_a_failed_run_skips_its_dependents_and_spares_the_rest(mini_benchmark, tmp_path, monkeypatch):
    from robustbench_ft.launch.job import run_pack
    from robustbench_ft.planning import plan_grid

    def nan_loss(self, batch, ctx):
        return {"ce": batch.logits.sum() * float("nan")}

    monkeypatch.setattr(FineTune, "loss_terms", nan_loss)
    defaults = load_benchmark(mini_benchmark).train_defaults
    specs = list(plan_grid(["wise", "zeroshot", "lp"], [0], mini_benchmark, defaults).specs)
    assert [s.method for s in specs] == ["ft", "ft+wise", "zeroshot", "lp"]
    outcome = run_pack(specs, tmp_path, raise_on_failure=False)
    by_method = {s.method: s.digest() for s in specs}
    assert "non-finite loss" in outcome[by_method["ft"]]
    assert outcome[by_method["ft+wise"]] == "skipped: dependency ['ft'] has no result"
    assert "skipped" in json.loads((ResultsTree(tmp_path).of(specs[1]).path / "error.json").read_text())["reason"]
    assert {k for k, v in outcome.items() if v == "done"} == {by_method["zeroshot"], by_method["lp"]}


def test_selection_id_test_keeps_the_best_id_test_checkpoint(mini_benchmark, tmp_path):
    spec = make_spec("ft", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0,
                     {"steps": 4, "eval_every": 1, "lr": 1e-3, "selection": "id_test"})
    result = execute(spec, tmp_path)
    rows = [json.loads(line) for line in (ResultsTree(tmp_path).of(spec).path / "metrics.jsonl").read_text().splitlines()]
    scores = [row["id_test_acc"] for row in rows]
    assert all("val_acc" in row for row in rows)  # validation is still logged
    assert result.train.selected_on == "id_test"
    assert result.train.best_step == 1 + scores.index(max(scores))
    assert result.train.best_val_acc == max(scores)


@pytest.mark.slow
def test_a_compiled_model_trains_to_the_same_metrics(mini_benchmark, tmp_path):
    """--compile (torch.compile with inductor, here on the CPU) is a speed option: same run, same numbers."""
    plain = make_spec("lipsum", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0, {"steps": 2})
    compiled = plain.replace(compile=True)
    assert compiled.digest() == plain.digest()
    ours = execute(compiled, tmp_path / "compiled").evaluations[0].splits
    theirs = execute(plain, tmp_path / "plain").evaluations[0].splits
    for split, metrics in theirs.items():
        for name, value in metrics.items():
            assert ours[split][name] == pytest.approx(value, abs=1e-4), (split, name)
