"""Defining properties of the methods, on a miniature embedded benchmark and the shipped model."""

from __future__ import annotations

import json

import pytest
import torch

from robustbench_ft import records
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.execute import execute
from robustbench_ft.methods.base import Batch, RunContext, build_method
from robustbench_ft.methods.lipsum import lipsum_regulariser
from robustbench_ft.plan import make_spec
from robustbench_ft.workbench import open_workbench


def spec_for(method: str, bench: str, **overrides):
    return make_spec(method, load_benchmark(bench).train_defaults, bench, 0, overrides)


def context(spec, root) -> RunContext:
    bench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    return RunContext(spec, bench, root, torch.Generator().manual_seed(0))


def test_lipsum_regulariser_by_hand():
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    f0 = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # scale 2: v(x1) = [2, 0, 1.2], v0(x1) = [0, 2, 1.6] -> squares 4 + 4 + 0.16 = 8.16; x2: 0
    # R = mean_x sum_m (.)^2 / (2M) = (8.16 + 0) / 2 / 6
    assert lipsum_regulariser(f, f0, t, 2.0).item() == pytest.approx(8.16 / 2 / 6)


def _lipsum_terms(spec, root, model=None):
    ctx = context(spec, root)
    method = build_method(spec)
    model = model or ctx.bench.fresh_classifier()
    method.setup(model, ctx)
    images, labels = next(ctx.bench.benchmark.train_set().shuffled_batches(8, torch.Generator().manual_seed(1)))
    inputs = ctx.bench.inputs.train(images, torch.Generator().manual_seed(2))
    logits, features = model(inputs)
    return method.loss_terms(Batch(inputs, labels, logits, features), ctx), ctx, method


def test_lipsum_is_exactly_zero_at_step_zero(mini_benchmark, tmp_path):
    terms, _, _ = _lipsum_terms(spec_for("lipsum", mini_benchmark), tmp_path)
    assert set(terms) == {"ce", "lipsum"}
    assert terms["lipsum"].item() == 0.0 and terms["ce"].item() > 0


def test_lipsum_gradient_reaches_only_the_tuned_model(mini_benchmark, tmp_path):
    spec = spec_for("lipsum", mini_benchmark)
    bench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    model = bench.fresh_classifier()
    with torch.no_grad():
        for p in model.visual.parameters():
            p.add_(0.01 * torch.randn_like(p))
    terms, ctx, method = _lipsum_terms(spec, tmp_path, model)
    assert terms["lipsum"].item() > 0
    terms["lipsum"].backward()
    assert all(p.grad is None for p in ctx.bench.clip.model.parameters())  # text encoder etc.
    assert all(p.grad is None for p in ctx.bench.zeroshot.parameters())
    assert all(p.grad is None for p in method.reference.parameters())      # theta_0 copy
    grads = [p.grad for p in model.visual.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_lipsum_uses_fresh_texts_each_step(mini_benchmark, tmp_path):
    spec = spec_for("lipsum", mini_benchmark)
    ctx = context(spec, tmp_path)
    seen = []
    original = ctx.bench.encode_texts
    ctx.bench.encode_texts = lambda tokens: (seen.append(tokens.clone()), original(tokens))[1]
    try:
        method, model = build_method(spec), ctx.bench.fresh_classifier()
        method.setup(model, ctx)
        x = ctx.bench.inputs.eval(ctx.bench.benchmark.val_set().images[:4])
        for _ in range(2):
            logits, feats = model(x)
            method.loss_terms(Batch(x, torch.zeros(4, dtype=torch.long), logits, feats), ctx)
    finally:
        ctx.bench.encode_texts = original
    assert seen[0].shape == (80, 12) and not torch.equal(seen[0], seen[1])


def test_lp_leaves_the_encoder_bit_identical(mini_benchmark, tmp_path):
    spec = spec_for("lp", mini_benchmark, lr=1e-2)
    execute(spec, tmp_path)
    state = records.load_checkpoint(tmp_path, spec)
    zs = open_workbench(spec.benchmark, spec.model, spec.pretrained).zeroshot.state_dict()
    assert all(torch.equal(state[k], zs[k]) for k in zs if k.startswith("visual."))
    assert not torch.equal(state["head"], zs["head"])


def test_lpft_starts_from_the_lp_head(mini_benchmark, tmp_path):
    spec = spec_for("lpft", mini_benchmark, lr=1e-2)
    lp_spec = build_method(spec).dependencies()[0]
    assert lp_spec == spec_for("lp", mini_benchmark, lr=1e-2) and lp_spec.lr == 1e-2
    execute(lp_spec, tmp_path)
    ctx = context(spec, tmp_path)
    model = ctx.bench.fresh_classifier()
    build_method(spec).setup(model, ctx)
    lp_head = records.load_checkpoint(tmp_path, lp_spec)["head"]
    assert torch.equal(model.head.detach(), lp_head)
    assert not torch.equal(lp_head, ctx.bench.zeroshot.head)


def test_wise_endpoints_reproduce_zeroshot_and_the_tuned_run(mini_benchmark, tmp_path):
    ft = spec_for("ft", mini_benchmark, lr=1e-3)
    wise = spec_for("wise", mini_benchmark, lr=1e-3, hparams={"wise": {"alphas": [0.0, 0.5, 1.0]}})
    assert build_method(wise).dependencies() == [ft]
    execute(ft, tmp_path)
    ctx = context(wise, tmp_path)
    bench = ctx.bench
    val = bench.benchmark.val_set()
    tuned = bench.fresh_classifier()
    tuned.load_state_dict(records.load_checkpoint(tmp_path, ft))
    expected = {0.0: bench.predict(bench.zeroshot, val).logits, 1.0: bench.predict(tuned, val).logits}
    seen = {}
    for variant, model in build_method(wise).variants(bench.fresh_classifier(), ctx):
        seen[variant["alpha"]] = bench.predict(model, val).logits
    assert torch.equal(seen[0.0], expected[0.0])
    assert torch.equal(seen[1.0], expected[1.0])
    assert not torch.equal(seen[0.5], expected[0.0]) and not torch.equal(seen[0.5], expected[1.0])
    result = execute(wise, tmp_path)
    assert [r["alpha"] for r in result["records"]] == [0.0, 0.5, 1.0]


def test_lipsum_on_a_real_open_clip_architecture(mini_benchmark, tmp_path):
    """ViT-S-32, random init: 224 px inputs, CLIP's BPE tokenizer and its random-text range."""
    spec = spec_for("lipsum", mini_benchmark, model="ViT-S-32", pretrained=None, steps=1, batch_size=8)
    bench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    assert bench.clip.image_size == 224 and bench.clip.context_length == 77
    assert bench.energy_text_features.shape[0] == 80
    result = execute(spec, tmp_path)
    assert result["train"]["steps"] == 1
    assert set(result["records"][0]["splits"]) == set(bench.benchmark.test_splits)
