"""Model Stock's merge: its ratio by hand, the geometry it is derived from, and a planned run
that merges the base method's two seeds."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.engine.evaluate import val_accuracy
from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.workbench import open_workbench
from robustbench_ft.methods.modelstock import interpolation_ratio, layer_cosine, model_stock
from robustbench_ft.planning.plan import plan_grid
from robustbench_ft.records import ResultsTree
from robustbench_ft.records.checkpoints import load_checkpoint


def test_ratio_by_hand():
    assert interpolation_ratio(torch.tensor(1.0)).item() == pytest.approx(1.0)   # aligned: keep the average
    assert interpolation_ratio(torch.tensor(0.0)).item() == pytest.approx(0.0)   # orthogonal: back to w0
    assert interpolation_ratio(torch.tensor(0.5)).item() == pytest.approx(2 / 3)
    assert interpolation_ratio(torch.tensor(0.5), k=3).item() == pytest.approx(1.5 / 2)


def test_the_merge_is_the_projection_of_the_updates_centre_onto_the_line_to_their_average():
    """The paper's derivation: updates w_i - w0 = mu + e_i with noise e_i orthogonal to mu and to
    each other, of equal norms. Then the merged update is the point of the line from w0 through
    the average nearest to mu, which the ratio reaches from the angle alone."""
    mu, e1, e2 = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    mu[0], e1[1], e2[2] = 2.0, 1.5, 1.5
    w0 = torch.arange(5, dtype=torch.float64)
    merged, ratios = model_stock({"w": w0 + mu + e1}, {"w": w0 + mu + e2}, {"w": w0})
    update, average = merged["w"] - w0, mu + (e1 + e2) / 2
    assert torch.dot(mu - update, average).item() == pytest.approx(0.0, abs=1e-7)  # the foot of the perpendicular (up to the 1e-8)
    assert ratios["w"] == pytest.approx(4 / (4 + 2.25 / 2))  # |mu|^2 / (|mu|^2 + |e|^2 / 2)
    assert layer_cosine(w0 + mu + e1, w0 + mu + e2, w0).item() == pytest.approx(4 / (4 + 2.25))


def test_a_one_number_tensor_is_averaged_and_opposite_updates_stay_finite():
    w0 = {"scale": torch.tensor(1.0), "w": torch.zeros(2)}
    merged, ratios = model_stock({"scale": torch.tensor(2.0), "w": torch.tensor([1.0, 0.0])},
                                 {"scale": torch.tensor(0.5), "w": torch.tensor([-1.0, 0.0])}, w0)
    assert merged["scale"].item() == pytest.approx(1.25) and "scale" not in ratios
    assert torch.isfinite(merged["w"]).all()  # cos = -1: the official 1e-8 keeps t finite


def test_each_tensor_is_merged_on_its_own_and_unmoved_ones_are_kept():
    w0 = {"a": torch.zeros(2), "b": torch.ones(2), "n": torch.tensor(3)}
    first = {"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([2.0, 2.0]), "n": torch.tensor(3)}
    second = {"a": torch.tensor([1.0, 1.0]), "b": torch.ones(2), "n": torch.tensor(3)}
    merged, ratios = model_stock(first, second, w0)
    cos = 1 / 2 ** 0.5  # the updates [1, 0] and [1, 1]
    t = 2 * cos / (1 + cos)
    assert torch.allclose(merged["a"], t * torch.tensor([1.0, 0.5]), atol=1e-6)
    # "b": the second run left it at w0, so cos = 0 and t = 0: back to w0 (the official notebook)
    assert ratios["b"] == 0 and torch.equal(merged["b"], w0["b"]) and merged["n"].item() == 3


def test_the_planner_asks_for_the_second_seed_and_the_run_merges_both(mini_benchmark, tmp_path):
    budget = {"lr": 1e-3, "steps": 2, "eval_every": 2, "batch_size": 16}
    plan = plan_grid(["lipsum+modelstock"], [0], mini_benchmark, {**budget})
    assert sorted((s.method, s.seed) for s in plan.specs) == [("lipsum", 0), ("lipsum", 1000), ("lipsum+modelstock", 0)]
    for spec in plan.specs:
        result = execute(spec, tmp_path)
    tree = ResultsTree(tmp_path)
    first, second = (load_checkpoint(tree.of(s)) for s in plan.specs if s.method == "lipsum")
    stock = next(s for s in plan.specs if s.method == "lipsum+modelstock")
    assert sorted(result.built_on) == sorted(s.digest() for s in plan.specs if s.method == "lipsum")
    workbench = open_workbench(stock.benchmark, stock.model, stock.pretrained)
    expected, ratios = model_stock(first, second, {k: v.cpu() for k, v in workbench.zeroshot.state_dict().items()})
    assert ratios["head"] != 0 and ratios["bias"] == 0  # the fixed bias buffer moved in neither run
    model = workbench.fresh_classifier()
    model.load_state_dict(expected)
    assert result.evaluations[0].val_acc == pytest.approx(val_accuracy(model, workbench))
