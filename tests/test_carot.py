"""CaRot: its two terms by hand, the teacher's schedule and EMA, and a run that resumes exactly."""

from __future__ import annotations

import math

import pytest
import torch

from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.train import Trainer
from robustbench_ft.methods.base import Batch, build_method
from robustbench_ft.methods.carot import distillation_loss, orthogonality_penalty, teacher_momentum
from test_methods import _fit, context, spec_for


def test_orthogonality_penalty_by_hand():
    assert orthogonality_penalty(torch.eye(3)).item() == pytest.approx(0.0)
    assert orthogonality_penalty(2 * torch.eye(2)).item() == pytest.approx(3 * math.sqrt(2))  # ||4I - I||_F
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    assert orthogonality_penalty(q[:, :4]).item() == pytest.approx(0.0, abs=1e-5)  # orthonormal columns


def test_distillation_is_the_teachers_soft_cross_entropy_both_ways():
    student = torch.tensor([[2.0, 0.0], [0.0, 1.0]], requires_grad=True)
    teacher = torch.tensor([[1.0, 1.0], [0.0, 3.0]])
    loss = distillation_loss(student, teacher)
    rows = sum(-(teacher[i].softmax(0) * student[i].log_softmax(0)).sum() for i in range(2)) / 2
    cols = sum(-(teacher[:, j].softmax(0) * student[:, j].log_softmax(0)).sum() for j in range(2)) / 2
    assert loss.item() == pytest.approx((rows + cols).item())
    same = teacher.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(distillation_loss(same, teacher), same)
    assert torch.allclose(grad, torch.zeros(2, 2), atol=1e-7)  # a student equal to its teacher learns nothing


def test_teacher_momentum_rises_over_the_first_fifth():
    assert teacher_momentum(0, 100, 0.9) == pytest.approx(0.05)
    assert teacher_momentum(10, 100, 0.9) == pytest.approx(0.475)
    assert teacher_momentum(20, 100, 0.9) == teacher_momentum(99, 100, 0.9) == 0.9


def test_the_teacher_is_the_scheduled_average_of_the_student(mini_benchmark, tmp_path):
    spec = spec_for("carot", mini_benchmark, lr=1e-3, steps=4, eval_every=4, batch_size=16,
                    hparams={"carot": {"teacher_every": 0.5}})  # every 2 steps: after steps 0 and 2
    ctx = context(spec, tmp_path)
    torch.manual_seed(0)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    expected = model.visual.proj.detach().clone()
    students = []
    trainer = Trainer(model, method, ctx)
    original = method.after_step

    def record(m, c):
        students.append(m.visual.proj.detach().clone())
        original(m, c)
    method.after_step = record
    for step in range(4):
        batch_terms = trainer._step(step, iter(_batches(ctx)))
        assert ("distillation" in batch_terms) == (step > 0)
    for step in (0, 2):
        m = teacher_momentum(step, 4, 0.9)
        expected = m * expected + (1 - m) * students[step]
    assert torch.allclose(method.teacher_visual.proj, expected, atol=1e-6)
    assert not torch.allclose(method.teacher_visual.proj, students[-1])


def test_the_terms_at_the_start(mini_benchmark, tmp_path):
    spec = spec_for("carot", mini_benchmark, batch_size=16)
    ctx = context(spec, tmp_path)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    images, labels = next(iter(_batches(ctx)))
    logits, features = model(images)
    ctx.step = 1  # the teacher is still the zero-shot model, as is the student: nothing to distil
    terms = method.loss_terms(Batch(images, labels, logits, features), ctx)
    assert terms["orthogonality"].item() == pytest.approx(0.2 * orthogonality_penalty(model.visual.proj).item())
    (grad,) = torch.autograd.grad(terms["distillation"], features, retain_graph=True)
    assert grad.abs().max().item() < 1e-5


def test_carot_resumes_exactly_and_records_a_result(mini_benchmark, tmp_path):
    spec = spec_for("carot", mini_benchmark, lr=1e-3, steps=4, eval_every=2, checkpoint_every=2, batch_size=16,
                    hparams={"carot": {"teacher_every": 0.25}})
    straight, straight_method, _, saved = _fit(spec, tmp_path)
    resumed, resumed_method, _, _ = _fit(spec, tmp_path, until=saved[0])
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in straight.state_dict().items())
    for k, v in straight_method.state_dict()["teacher_visual"].items():
        assert torch.equal(v, resumed_method.state_dict()["teacher_visual"][k])
    result = execute(spec, tmp_path / "run")
    assert 0 <= result.evaluations[0].splits[result.id_split]["ece"] <= 1


def _batches(ctx):
    spec = ctx.spec
    return ctx.workbench.benchmark.train_set().train_batches(
        spec.batch_size, torch.Generator().manual_seed(0), ctx.workbench.inputs, ctx.workbench.device)
