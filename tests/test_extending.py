"""Adding a method is one small class; the trainer, planner and records need no edit."""

from __future__ import annotations

import json

import pytest
import torch

from robustbench_ft.core.hparams import HParam
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.execute import execute
from robustbench_ft.methods.base import METHODS, Batch
from robustbench_ft.methods.context import RunContext
from robustbench_ft.methods.finetune import FineTune
from robustbench_ft.models.classifier import ImageClassifier
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree


class L2SP(FineTune):
    """L2-SP: cross-entropy + lam * |theta - theta_0|^2 over the image encoder."""

    hparams = (HParam("lam", float, 0.1, "weight of the penalty"),)

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.params = dict(model.visual.named_parameters())
        self.start = {k: v.detach().clone() for k, v in self.params.items()}

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        distance = sum((self.params[k] - v).pow(2).sum() for k, v in self.start.items())
        terms["l2sp"] = self.hp["lam"] * distance
        return terms


@pytest.fixture
def registered():
    """The method registered for this test alone: later tests see the shipped methods only."""
    METHODS.register("test-l2sp")(L2SP)
    yield
    METHODS.unregister("test-l2sp")


def test_a_method_defined_outside_the_package_runs_through_the_shared_trainer(registered, mini_benchmark, tmp_path):
    spec = make_spec("test-l2sp", load_benchmark(mini_benchmark).train_defaults, mini_benchmark, 0,
                     {"hparams": {"lam": 0.5}, "lr": 1e-3})
    result = execute(spec, tmp_path)
    log = (ResultsTree(tmp_path).of(spec).path / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in log]
    assert rows[0]["l2sp"] == 0.0 and rows[-1]["l2sp"] > 0.0  # zero at theta_0, then grows
    assert all(abs(r["loss"] - r["ce"] - r["l2sp"]) < 1e-9 for r in rows)
    assert result.spec["method"] == "test-l2sp" and result.evaluations[0].splits
    assert result.spec["hparams"] == {"test-l2sp": {"lam": 0.5}}


def test_a_test_method_is_registered_for_its_test_only():
    from robustbench_ft.core.declarations import DECLARATIONS
    assert "test-l2sp" not in METHODS and "test-l2sp" not in DECLARATIONS.names()
