"""FTP's learned projection: its norms and projection by hand, the radius gradient against
autograd, the constraint holding at every step, and a short run that resumes exactly."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.train import Trainer
from robustbench_ft.methods.base import build_method
from robustbench_ft.methods.ftp import BETAS, Constraint, project_rows, row_l1
from test_methods import _fit, context, spec_for


def test_row_norms_and_projection_by_hand():
    c = torch.tensor([[3.0, -1.0], [0.5, 0.5]])
    norms = row_l1(c)
    assert torch.allclose(norms.squeeze(), torch.tensor([4.0, 1.0]), atol=1e-6)
    assert row_l1(torch.tensor([1.0, -2.0])).item() == pytest.approx(3.0)  # a vector: one norm
    # gamma 2: row 1 (norm 4) is halved, row 2 (norm 1) is inside and stays
    out = project_rows(torch.zeros(2, 2), c, norms, torch.tensor(2.0))
    assert torch.allclose(out, torch.tensor([[1.5, -0.5], [0.5, 0.5]]), atol=1e-6)


def test_the_radius_gradient_is_the_derivative_of_the_loss_through_the_last_projection():
    """g = sum_rows <grad, c_prev> / n_prev is dL/dgamma of L(W0 + gamma c_prev / n_prev) while
    no row is clipped; Adam's first moment after one update is (1 - beta1) g."""
    torch.manual_seed(0)
    start, weights = torch.randn(3, 4), torch.randn(3, 4)
    param = torch.nn.Parameter(start.clone())
    constraint = Constraint(param)
    param.data += 0.5 * torch.randn(3, 4)  # AdamW's first step
    param.grad = torch.zeros(3, 4)
    constraint.step(param, 1, k=1.0, gamma_lr=1e-2)  # t = 1: gamma stays 1e-8, nothing learned
    assert constraint.gamma.item() == pytest.approx(1e-8)
    gamma = torch.tensor(constraint.gamma.item(), requires_grad=True)
    projected = start + gamma * constraint.c / constraint.norms
    loss = (weights * projected ** 2).sum()
    (expected,) = torch.autograd.grad(loss, gamma)
    param.grad = 2 * weights * param.detach()  # dL/dW at the projected weights
    param.data += 0.1 * torch.randn(3, 4)
    constraint.step(param, 2, k=1.0, gamma_lr=1e-2)
    assert (constraint.m / (1 - BETAS[0])).item() == pytest.approx(expected.item(), rel=1e-4)


def test_a_tensor_without_a_gradient_is_left_alone():
    param = torch.nn.Parameter(torch.zeros(2, 2))
    constraint = Constraint(param)
    param.data += 1.0
    constraint.step(param, 1, k=1.0, gamma_lr=1e-2)
    assert torch.equal(param.data, torch.ones(2, 2)) and constraint.c is None


def test_positive_gradient_annealing_damps_only_shrinking():
    def gamma_after(k, sign):
        start = torch.zeros(2, 2)
        param = torch.nn.Parameter(start.clone())
        constraint = Constraint(param)
        for t in range(1, 4):
            param.data += 0.1  # moves away by 0.2 per row each step
            param.grad = sign * torch.ones(2, 2)
            constraint.step(param, t, k=k, gamma_lr=1e-2)
        return constraint.gamma.item()
    grow = gamma_after(0.0, -1.0)
    assert grow > 1e-3 and gamma_after(1.0, -1.0) == pytest.approx(grow)  # growing: k does nothing
    assert gamma_after(0.0, 1.0) == pytest.approx(1e-8)  # k = 0: a shrinking gradient is ignored


def test_every_encoder_row_stays_within_its_radius_and_the_head_is_free(mini_benchmark, tmp_path):
    spec = spec_for("ftp", mini_benchmark, lr=1e-3, steps=6, eval_every=6, selection="last")
    ctx = context(spec, tmp_path)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    start = {k: v.clone() for k, v in model.visual.state_dict().items()}
    head = model.head.detach().clone()
    trainer = Trainer(model, method, ctx)
    assert [g["weight_decay"] for g in trainer.optimizer.param_groups] == [0.0, 0.1]
    trainer.fit()
    radii = method.radii()
    assert max(radii.values()) > 1e-6  # the radii opened
    for name, param in method.params.items():
        distance = row_l1(param.detach().float() - start[name].float()) - 1e-8
        assert (distance <= radii[name] * (1 + 1e-4) + 1e-6).all(), name
    assert not torch.allclose(model.head, head)


def test_ftp_resumes_exactly(mini_benchmark, tmp_path):
    spec = spec_for("ftp", mini_benchmark, lr=1e-3, steps=4, eval_every=2, checkpoint_every=2)
    straight, straight_method, _, saved = _fit(spec, tmp_path)
    resumed, resumed_method, _, _ = _fit(spec, tmp_path, until=saved[0])
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in straight.state_dict().items())
    assert straight_method.radii() == resumed_method.radii()


def test_a_short_ftp_run_records_a_result(mini_benchmark, tmp_path):
    result = execute(spec_for("ftp", mini_benchmark, lr=1e-3, steps=2, eval_every=2), tmp_path)
    assert result.train.steps == 2 and 0 < result.evaluations[0].val_acc <= 1
