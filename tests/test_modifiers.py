"""Modifiers of any trained method (EMA on Lipsum-FT, ...) and the parameter-efficient baselines."""

from __future__ import annotations

import pytest
import torch

from robustbench_ft.core.compose import canonical_method
from robustbench_ft.core.config import ConfigError
from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.train import Trainer
from robustbench_ft.methods.base import build_method
from robustbench_ft.methods.ema import EMA
from robustbench_ft.methods.finetune import FineTune
from robustbench_ft.methods.lipsum import LipsumFT
from robustbench_ft.records import ResultsTree
from robustbench_ft.records.checkpoints import load_checkpoint
from test_methods import _fit, context, spec_for


def test_a_modifier_composes_onto_any_trained_method_and_ft_is_implied():
    assert canonical_method("ft+ema") == "ema"  # one run, one name: the name EMA runs always had
    assert canonical_method("lipsum+ema") == "lipsum+ema"
    assert canonical_method("ft+ema+wise") == "ema+wise"
    for bad in ("zeroshot+ema", "ft+wise+ema", "lp+ema", "ema+ema", "ft+lipsum+ema", "ema+lipsum", "ft+wise+lipsum"):
        with pytest.raises(ConfigError):
            canonical_method(bad)


def test_the_ema_method_keeps_its_digest(mini_benchmark):
    """'ema' was a method of its own before; as FT with the modifier it names the same runs."""
    plain = spec_for("ema", mini_benchmark, hparams={"ema": {"decay": 0.999}})
    assert spec_for("ft+ema", mini_benchmark, hparams={"ema": {"decay": 0.999}}).digest() == plain.digest()
    assert plain.identity()["method"] == "ema" and plain.identity()["hparams"] == {"ema": {"decay": 0.999}}


def test_build_method_gives_the_trained_method_with_its_modifiers(mini_benchmark):
    ema = build_method(spec_for("ema", mini_benchmark))
    assert type(ema) is FineTune and [type(m) for m in ema.modifiers] == [EMA]
    lipsum = build_method(spec_for("lipsum+ema", mini_benchmark, hparams={"lipsum": {"lam": 2.0},
                                                                          "ema": {"decay": 0.9}}))
    assert type(lipsum) is LipsumFT and lipsum.hp["lam"] == 2.0 and lipsum.modifiers[0].hp["decay"] == 0.9
    assert build_method(spec_for("lipsum+ema+wise", mini_benchmark)).base_spec().method == "lipsum+ema"
    with pytest.raises(ConfigError, match="text tower"):
        build_method(spec_for("flyp+ema", mini_benchmark))
    with pytest.raises(ConfigError, match="W \\+ BA"):
        build_method(spec_for("lora+ema", mini_benchmark))


def test_lipsum_with_ema_is_lipsum_trained_with_the_average_delivered(mini_benchmark, tmp_path):
    """The same iterates as plain Lipsum-FT (the modifier changes no gradient); the run keeps
    their average, here decay 0.5 over 3 steps by hand."""
    budget = {"lr": 1e-3, "steps": 3, "eval_every": 3, "selection": "last"}
    iterates = []
    spec = spec_for("lipsum", mini_benchmark, **budget)
    ctx = context(spec, tmp_path)
    torch.manual_seed(0)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, method, ctx)
    trainer.method.after_step = lambda m, c: iterates.append({k: v.clone() for k, v in m.state_dict().items()})
    trainer.fit()
    averaged, _, _, _ = _fit(spec_for("lipsum+ema", mini_benchmark, hparams={"ema": {"decay": 0.5}}, **budget),
                             tmp_path)
    state = averaged.state_dict()
    for key in ("head", "visual.proj"):
        by_hand = start[key]
        for w in iterates:
            by_hand = 0.5 * by_hand + 0.5 * w[key]
        assert torch.allclose(state[key], by_hand, atol=1e-6), key
    assert not torch.allclose(state["head"], iterates[-1]["head"])


def test_a_resumed_modified_run_continues_its_average(mini_benchmark, tmp_path):
    spec = spec_for("lipsum+ema", mini_benchmark, lr=1e-3, steps=4, eval_every=2, checkpoint_every=2,
                    selection="last", hparams={"ema": {"decay": 0.7}})  # last: the final average, whatever it scores
    straight, *_ , saved = _fit(spec, tmp_path)
    resumed, *_ = _fit(spec, tmp_path, until=saved[0])
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in straight.state_dict().items())


def test_bitfit_moves_only_biases_and_the_head(mini_benchmark, tmp_path):
    spec = spec_for("bitfit", mini_benchmark, lr=1e-3, steps=3, eval_every=3, selection="last")
    execute(spec, tmp_path)
    kept = load_checkpoint(ResultsTree(tmp_path).of(spec))
    zeroshot = context(spec, tmp_path).workbench.zeroshot.state_dict()
    moved = {k for k in kept if not torch.equal(kept[k], zeroshot[k].cpu())}
    assert "head" in moved and any(k.startswith("visual.") for k in moved)
    assert all(k == "head" or k.endswith("bias") for k in moved), sorted(moved)
    groups = Trainer(*_fresh(spec, tmp_path)).optimizer.param_groups
    assert [(g["lr"], g["weight_decay"]) for g in groups] == [(pytest.approx(1e-2), 0.0), (1e-3, 0.1)]


def _fresh(spec, root):
    ctx = context(spec, root)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    return model, method, ctx


@pytest.mark.parametrize("targets", ["attention", "attention+mlp"])
def test_lora_is_w_plus_scaled_ba_from_zero_shot_and_is_delivered_merged(mini_benchmark, tmp_path, targets):
    """B = 0 at the start: the adapted model is the zero-shot one. After training, what the model
    computes and what the run delivers are the encoder with W + (alpha / r) B A written in by hand
    (the fused q/k/v weight; with attention+mlp the MLP's Linears too), and nothing else moved."""
    spec = spec_for("lora", mini_benchmark, lr=1e-3, steps=3, eval_every=3, selection="last",
                    hparams={"lora": {"rank": 4, "alpha": 8.0, "targets": targets}})
    model, method, ctx = _fresh(spec, tmp_path)
    images = torch.randn(4, 3, 32, 32)
    zeroshot = ctx.workbench.zeroshot
    with torch.no_grad():
        assert torch.allclose(model(images)[0], zeroshot(images)[0], atol=1e-5)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in n or n == "head" for n in trainable)
    assert any(".attn.lora_A" in n for n in trainable) and any("mlp" in n for n in trainable) == (targets != "attention")
    trainer = Trainer(model, method, ctx)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-2)  # lr_factor 10
    for step in range(3):
        trainer._step(step, iter(_batches(ctx)))
    adapters = dict(model.named_parameters())
    by_hand = zeroshot.frozen_copy()
    by_hand.head.data.copy_(model.head)
    with torch.no_grad():
        for i, block in enumerate(by_hand.visual.transformer.resblocks):
            def delta(name):
                a = adapters[f"visual.model.transformer.resblocks.{i}.{name}.lora_A.default.weight"]
                return 2.0 * adapters[f"visual.model.transformer.resblocks.{i}.{name}.lora_B.default.weight"] @ a
            assert delta("attn").abs().max() > 0  # B left zero
            block.attn.in_proj_weight += delta("attn")
            if targets != "attention":
                block.mlp.c_fc.weight += delta("mlp.c_fc")
                block.mlp.c_proj.weight += delta("mlp.c_proj")
        delivered = method.delivered_model(model)
        assert torch.allclose(model(images)[0], by_hand(images)[0], atol=1e-4)
        assert torch.allclose(delivered(images)[0], by_hand(images)[0], atol=1e-4)
    assert delivered.state_dict().keys() == zeroshot.state_dict().keys()
    execute(spec, tmp_path / "run")
    kept = load_checkpoint(ResultsTree(tmp_path / "run").of(spec))
    moved = {k for k in kept if not torch.equal(kept[k], zeroshot.state_dict()[k].cpu())}
    expected = {"head"} | {k for k in kept if k.endswith("attn.in_proj_weight")}
    if targets != "attention":
        expected |= {k for k in kept if k.endswith(("c_fc.weight", "c_proj.weight")) and "mlp" in k}
    assert kept.keys() == zeroshot.state_dict().keys() and moved == expected


def _batches(ctx):
    spec = ctx.spec
    return ctx.workbench.benchmark.train_set().train_batches(
        spec.batch_size, torch.Generator().manual_seed(0), ctx.workbench.inputs, ctx.workbench.device)


def test_a_resume_state_saved_when_ema_was_a_method_still_loads(mini_benchmark, tmp_path):
    """Before modifiers, EMA's average was the method's state; such a resume.pt continues the average."""
    spec = spec_for("ema", mini_benchmark, lr=1e-3, steps=4, eval_every=2)
    model, method, ctx = _fresh(spec, tmp_path)
    trainer = Trainer(model, method, ctx)
    state = trainer.state_dict()
    average = {k: v + 1.0 if v.is_floating_point() else v for k, v in state["model"].items()}
    state["method"] = {"average": average, "updates": 5}
    del state["modifiers"]
    resumed = Trainer(*_fresh(spec, tmp_path))
    resumed.load_state_dict(state)
    (ema,) = resumed.modifiers
    assert ema.updates == 5 and torch.equal(ema.average.state_dict()["head"], average["head"])
