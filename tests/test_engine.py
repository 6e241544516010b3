"""The trainer's promises, each against what it exists for: accumulated micro-batches give the large
batch's gradient, clipping bounds the norm and keeps the direction, bf16 training ends near fp32,
a method's own group learning rates follow the schedule; the workbench cache is bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine import workbench as workbench_module
from robustbench_ft.engine.context import EngineContext
from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.train import Trainer, lr_factor
from robustbench_ft.engine.workbench import open_workbench, workbench_for
from robustbench_ft.methods.base import build_method
from robustbench_ft.methods.finetune import FineTune
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree


@pytest.fixture(scope="module")
def plain_benchmark(mini_benchmark, tmp_path_factory) -> str:
    """The mini benchmark without augmentation: a batch of 16 is exactly two batches of 8."""
    config = yaml.safe_load(Path(mini_benchmark).read_text())
    config.update(name="mini-plain", augment=[])
    path = tmp_path_factory.mktemp("plain") / "mini-plain.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _spec(benchmark: str, method: str = "ft", **overrides):
    return make_spec(method, load_benchmark(benchmark).train_defaults, benchmark, 0, overrides)


def _trainer(spec, root: Path, method=None) -> Trainer:
    workbench = workbench_for(spec, root)
    method = method or build_method(spec)
    ctx = EngineContext(spec, workbench, root, torch.Generator().manual_seed(1))
    model = workbench.fresh_classifier()
    method.setup(model, ctx)
    return Trainer(model, method, ctx)


def _first_step_gradient(spec, root: Path) -> tuple[torch.Tensor, float]:
    """Every trained parameter's gradient as the optimiser sees it at the first step (flattened),
    and its norm; the optimiser does not step."""
    trainer = _trainer(spec, root)
    seen = {}

    def capture(*args, **kwargs):
        grads = [p.grad.flatten() for g in trainer.optimizer.param_groups for p in g["params"] if p.grad is not None]
        seen["grad"] = torch.cat(grads).clone()

    trainer.optimizer.step = capture
    workbench = trainer.ctx.workbench
    batches = workbench.benchmark.train_set().train_batches(spec.batch_size, torch.Generator().manual_seed(spec.seed),
                                                            workbench.inputs, workbench.device)
    trainer._step(0, batches)
    return seen["grad"], float(seen["grad"].norm())


def test_accumulated_micro_batches_give_the_large_batch_gradient(plain_benchmark, tmp_path):
    large, _ = _first_step_gradient(_spec(plain_benchmark, batch_size=16, accum_steps=1), tmp_path)
    accumulated, _ = _first_step_gradient(_spec(plain_benchmark, batch_size=8, accum_steps=2), tmp_path)
    single, _ = _first_step_gradient(_spec(plain_benchmark, batch_size=8, accum_steps=1), tmp_path)
    assert torch.allclose(accumulated, large, rtol=1e-4, atol=1e-7)
    assert not torch.allclose(single, large, rtol=1e-2, atol=1e-5)  # half the batch is another gradient


def test_clipping_bounds_the_norm_and_keeps_the_direction(plain_benchmark, tmp_path):
    free, norm = _first_step_gradient(_spec(plain_benchmark), tmp_path)
    limit = norm / 10
    clipped, clipped_norm = _first_step_gradient(_spec(plain_benchmark, grad_clip=limit), tmp_path)
    assert clipped_norm == pytest.approx(limit, rel=1e-4)
    assert torch.allclose(clipped * (norm / clipped_norm), free, rtol=1e-4, atol=1e-9)  # the same direction
    _, loose_norm = _first_step_gradient(_spec(plain_benchmark, grad_clip=norm * 10), tmp_path)
    assert loose_norm == pytest.approx(norm, rel=1e-5)  # a limit above the norm changes nothing


def test_bf16_training_ends_near_fp32(mini_benchmark, tmp_path):
    """bf16 keeps 8 bits of mantissa (a rounding of ~0.4% per operation): the loss of each step
    agrees with fp32 to a few percent, and the scores to within an image or two."""
    logs, scores = {}, {}
    for precision in ("fp32", "bf16"):
        spec = _spec(mini_benchmark, "lipsum", steps=4, eval_every=2, lr=1e-3, precision=precision)
        result = execute(spec, tmp_path / precision)
        rows = ResultsTree(tmp_path / precision).of(spec).read_metrics().rows
        logs[precision] = [row["ce"] for row in rows]
        scores[precision] = {s: m["acc"] for s, m in result.evaluations[0].splits.items()}
    assert logs["bf16"] != logs["fp32"]  # bf16 did run
    assert logs["bf16"] == pytest.approx(logs["fp32"], rel=0.05)
    for split, acc in scores["fp32"].items():
        assert abs(scores["bf16"][split] - acc) <= 0.1, split  # 24 test images a split


class HeadTenTimes(FineTune):
    """FT with the head at ten times the spec's learning rate: a method's own group lr."""

    def param_groups(self, model):
        return [{"params": list(model.visual.parameters())}, {"params": [model.head], "lr": 10 * self.spec.lr}]


def test_each_groups_own_learning_rate_follows_the_schedule(mini_benchmark, tmp_path):
    spec = _spec(mini_benchmark, steps=10, warmup_frac=0.2, lr=1e-3)
    trainer = _trainer(spec, tmp_path, HeadTenTimes(spec))
    workbench = trainer.ctx.workbench
    batches = workbench.benchmark.train_set().train_batches(spec.batch_size, torch.Generator().manual_seed(0),
                                                            workbench.inputs, workbench.device)
    for step in range(4):
        row = trainer._step(step, batches)
        factor = lr_factor(step, spec.steps, spec.warmup_frac)
        visual, head = trainer.optimizer.param_groups
        assert visual["lr"] == pytest.approx(1e-3 * factor) and head["lr"] == pytest.approx(1e-2 * factor)
        assert row["lr"] == visual["lr"]
    assert lr_factor(3, 10, 0.2) > 0  # the checks above include a step past the warm-up's start


def test_a_resume_state_from_before_base_lrs_resumes_at_the_specs_lr(mini_benchmark, tmp_path):
    spec = _spec(mini_benchmark, steps=4, eval_every=2)
    trainer = _trainer(spec, tmp_path)
    state = trainer.state_dict()
    for group in state["optimizer"]["param_groups"]:
        del group["base_lr"]  # as saved by the trainer before groups kept their own base lr
    resumed = _trainer(spec, tmp_path)
    resumed.load_state_dict(state)
    assert [g["base_lr"] for g in resumed.optimizer.param_groups] == [spec.lr]


def test_a_process_keeps_a_bounded_number_of_workbenches_open(tmp_path, monkeypatch):
    monkeypatch.setattr(workbench_module, "_OPEN", type(workbench_module._OPEN)())
    opened = [open_workbench("embedded", "tiny-clip", "embedded", torch.device("cpu"), artifacts=tmp_path / str(i))
              for i in range(workbench_module.OPEN_WORKBENCHES + 1)]
    assert len(workbench_module._OPEN) == workbench_module.OPEN_WORKBENCHES
    again = open_workbench("embedded", "tiny-clip", "embedded", torch.device("cpu"), artifacts=tmp_path / "0")
    assert again is not opened[0]  # the least recently used was closed and is built anew
    assert open_workbench("embedded", "tiny-clip", "embedded", torch.device("cpu"), artifacts=tmp_path / "0") is again
    assert len(workbench_module._OPEN) == workbench_module.OPEN_WORKBENCHES


def test_a_long_evaluation_shows_a_bar_and_logs_each_split(mini_benchmark, tmp_path, monkeypatch, capsys):
    """Evaluating a WiSE curve shows a bar (images x variants, images/s) and, once a pass takes
    long enough, a log line per split naming it, the variants and the images."""
    from robustbench_ft.engine import progress
    from robustbench_ft.engine.evaluate import evaluate_each
    monkeypatch.setenv("ROBUSTBENCH_FT_PROGRESS", "1")
    monkeypatch.setattr(progress, "LOG_AFTER_SECONDS", 0.0)
    workbench = open_workbench(mini_benchmark, "tiny-clip", "embedded", torch.device("cpu"))
    variants = [workbench.fresh_classifier() for _ in range(3)]
    for split in workbench.benchmark.test_splits:
        workbench.zeroshot_outputs(split)
    capsys.readouterr()
    evaluate_each(variants, workbench)
    err = capsys.readouterr().err
    for split in workbench.benchmark.test_splits:
        images = len(workbench.benchmark.test_set(split))
        assert f"evaluating {split}: 3 models x {images:,} images in " in err, split
    assert "img/s" in err  # tqdm's rate on the bar


def test_the_oracle_parts_split_each_ood_split_in_a_fixed_fifth_and_the_rest(mini_benchmark, tmp_path):
    """Every OOD split's metrics come also on a fixed, seeded 20% (the `oracle_ood_val` rule's
    signal) and on the other 80%; the mean metrics recombine to the whole split's."""
    from robustbench_ft.engine.evaluate import oracle_val_mask
    mask = oracle_val_mask("mini", "sketch", 1800)
    assert int(mask.sum()) == 360 and torch.equal(mask, oracle_val_mask("mini", "sketch", 1800))
    assert not torch.equal(mask, oracle_val_mask("mini", "clipart", 1800))
    assert not torch.equal(mask, oracle_val_mask("other", "sketch", 1800))
    spec = make_spec("zeroshot", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0, {"workers": 0})
    result = execute(spec, tmp_path)
    (evaluation,) = result.evaluations
    assert set(evaluation.ood_val) == set(evaluation.ood_rest) == set(result.ood_splits)
    for split in result.ood_splits:
        n = len(load_benchmark(mini_benchmark).test_set(split).labels)
        n_val = int(oracle_val_mask("mini", split, n).sum())
        for metric in ("acc", "nll", "feature_distortion", "energy_gap"):  # means over images
            whole = n_val * evaluation.ood_val[split][metric] + (n - n_val) * evaluation.ood_rest[split][metric]
            assert whole / n == pytest.approx(evaluation.splits[split][metric], rel=1e-9, abs=1e-12), (split, metric)
