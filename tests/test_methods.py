"""Defining properties of the methods, on a miniature embedded benchmark and the shipped model."""

from __future__ import annotations

import json

import pytest
import torch

from robustbench_ft.core.config import ConfigError
from robustbench_ft.data.benchmark import load_benchmark
from robustbench_ft.engine.context import EngineContext
from robustbench_ft.engine.execute import execute
from robustbench_ft.engine.workbench import open_workbench
from robustbench_ft.methods.base import Batch, build_method
from robustbench_ft.methods.lipsum import lipsum_regulariser
from robustbench_ft.models.tokenizers import random_token_sequences
from robustbench_ft.planning import make_spec
from robustbench_ft.records import ResultsTree
from robustbench_ft.records.checkpoints import load_checkpoint


def spec_for(method: str, benchmark: str, **overrides):
    return make_spec(method, load_benchmark(benchmark).train_defaults, benchmark, 0, overrides)


def context(spec, root) -> EngineContext:
    workbench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    return EngineContext(spec, workbench, root, torch.Generator().manual_seed(0))


def test_lipsum_regulariser_by_hand():
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    f0 = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # scale 2: v(x1) = [2, 0, 1.2], v0(x1) = [0, 2, 1.6] -> squares 4 + 4 + 0.16 = 8.16; x2: 0
    # R = mean_x sum_m (.)^2 / (2M) = (8.16 + 0) / 2 / 6
    assert lipsum_regulariser(f, f0, t, 2.0).item() == pytest.approx(8.16 / 2 / 6)


def _method_terms(spec, root, model=None):
    ctx = context(spec, root)
    method = build_method(spec)
    model = model or ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    images, labels = next(ctx.workbench.benchmark.train_set().shuffled_batches(8, torch.Generator().manual_seed(1)))
    inputs = ctx.workbench.inputs.train(images, torch.Generator().manual_seed(2))
    logits, features = model(inputs)
    return method.loss_terms(Batch(inputs, labels, logits, features), ctx), ctx, method


def test_lipsum_is_exactly_zero_at_step_zero(mini_benchmark, tmp_path):
    terms, _, _ = _method_terms(spec_for("lipsum", mini_benchmark), tmp_path)
    assert set(terms) == {"ce", "lipsum"}
    assert terms["lipsum"].item() == 0.0 and terms["ce"].item() > 0


def test_lipsum_gradient_reaches_only_the_tuned_model(mini_benchmark, tmp_path):
    spec = spec_for("lipsum", mini_benchmark)
    workbench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    model = workbench.fresh_classifier()
    with torch.no_grad():
        for p in model.visual.parameters():
            p.add_(0.01 * torch.randn_like(p))
    terms, ctx, method = _method_terms(spec, tmp_path, model)
    assert terms["lipsum"].item() > 0
    terms["lipsum"].backward()
    assert all(p.grad is None for p in ctx.workbench.clip.model.parameters())  # text encoder etc.
    assert all(p.grad is None for p in ctx.workbench.zeroshot.parameters())
    assert all(p.grad is None for p in method.reference.parameters())      # theta_0 copy
    grads = [p.grad for p in model.visual.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_lipsum_uses_fresh_texts_each_step(mini_benchmark, tmp_path):
    spec = spec_for("lipsum", mini_benchmark)
    ctx = context(spec, tmp_path)
    seen = []
    original = ctx.workbench.encode_texts
    ctx.workbench.encode_texts = lambda tokens: (seen.append(tokens.clone()), original(tokens))[1]
    try:
        method, model = build_method(spec), ctx.workbench.fresh_classifier()
        method.setup(model, ctx)
        x = ctx.workbench.inputs.eval(ctx.workbench.benchmark.val_set().images[:4])
        for step in (0, 0, 0, 1):  # three micro-batches of one optimiser step, then the next step
            ctx.step = step
            logits, feats = model(x)
            method.loss_terms(Batch(x, torch.zeros(4, dtype=torch.long), logits, feats), ctx)
    finally:
        ctx.workbench.encode_texts = original
    assert len(seen) == 2  # drawn once per optimiser step, shared by its micro-batches
    assert seen[0].shape == (80, 12) and not torch.equal(seen[0], seen[1])


def test_lipsum_unnamed_pool_draws_no_class_or_template_word(mini_benchmark, tmp_path):
    spec = spec_for("lipsum", mini_benchmark, hparams={"lipsum": {"text_pool": "unnamed"}})
    ctx = context(spec, tmp_path)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    tokenizer = ctx.workbench.clip.tokenizer
    words = {tokenizer.decode([i]) for i in method.pool.tolist()}
    assert words == {"as", "black", "blue", "brown", "cyan", "drawn", "gray", "green", "in", "is", "large",
                     "object", "on", "orange", "pink", "purple", "red", "shape", "shows", "small", "the",
                     "thing", "this", "white", "yellow"}  # the 51 words less 12 classes and 14 template words
    texts = [tokenizer.decode(row) for row in random_token_sequences(tokenizer, 200, 8, torch.Generator(), 12,
                                                                      method.pool)]
    assert all(set(text.split()) <= words for text in texts)
    with pytest.raises(ConfigError, match=r"'text_pool' must be one of \['vocabulary', 'unnamed'\]"):
        spec_for("lipsum", mini_benchmark, hparams={"lipsum": {"text_pool": "words"}})


def test_lp_leaves_the_encoder_bit_identical(mini_benchmark, tmp_path):
    spec = spec_for("lp", mini_benchmark, lr=1e-2)
    execute(spec, tmp_path)
    state = load_checkpoint(ResultsTree(tmp_path).of(spec))
    zs = open_workbench(spec.benchmark, spec.model, spec.pretrained).zeroshot.state_dict()
    assert all(torch.equal(state[k], zs[k]) for k in zs if k.startswith("visual."))
    assert not torch.equal(state["head"], zs["head"])


def test_lpft_starts_from_the_lp_head(mini_benchmark, tmp_path):
    spec = spec_for("lpft", mini_benchmark, lr=1e-2)
    lp_spec = build_method(spec).dependencies()[0]
    assert lp_spec == spec_for("lp", mini_benchmark) == spec_for("lp", mini_benchmark, lr=1e-2)  # reads no lr
    execute(lp_spec, tmp_path)
    ctx = context(spec, tmp_path)
    model = ctx.workbench.fresh_classifier()
    build_method(spec).setup(model, ctx)
    lp_state = load_checkpoint(ResultsTree(tmp_path).of(lp_spec))
    assert torch.equal(model.head.detach(), lp_state["head"]) and torch.equal(model.bias, lp_state["bias"])
    assert not torch.equal(lp_state["head"], ctx.workbench.zeroshot.head) and lp_state["bias"].abs().sum() > 0


def test_lp_is_the_validation_chosen_probe_on_frozen_features(mini_benchmark, tmp_path):
    from robustbench_ft.methods.logistic_regression import fit_probe_on_validation
    spec = spec_for("lp", mini_benchmark, hparams={"lp": {"Cs": [0.1, 10.0, 1000.0]}})
    result = execute(spec, tmp_path)
    ctx = context(spec, tmp_path)
    workbench = ctx.workbench
    train = workbench.predict(workbench.zeroshot, workbench.benchmark.train_set())
    val = workbench.predict(workbench.zeroshot, workbench.benchmark.val_set())
    best, fitted = fit_probe_on_validation((train.features, train.labels), (val.features, val.labels),
                                           len(workbench.benchmark.classes), [0.1, 10.0, 1000.0])
    model = workbench.fresh_classifier()
    model.load_state_dict(load_checkpoint(ResultsTree(tmp_path).of(spec)))
    logits, _ = model(workbench.inputs.eval(workbench.benchmark.val_set().images))
    assert torch.allclose(logits.double(), best.logits(val.features), atol=1e-4)  # the probe's logits
    assert result.evaluations[0].val_acc == pytest.approx(best.val_acc)
    assert result.train is None  # nothing went through the trainer


def test_a_checkpoint_from_before_the_bias_loads_with_a_zero_bias(mini_benchmark, tmp_path):
    spec = spec_for("ft", mini_benchmark, steps=2)
    execute(spec, tmp_path)
    path = ResultsTree(tmp_path).of(spec).path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    torch.save({k: v for k, v in state.items() if k != "bias"}, path)  # as spec version 2 saved it
    ctx = context(spec, tmp_path)
    loaded = ctx.checkpoint_of(spec, fits=ctx.workbench.fresh_classifier())
    assert torch.equal(loaded["bias"], torch.zeros(len(ctx.workbench.benchmark.classes)))


def test_wise_endpoints_reproduce_zeroshot_and_the_tuned_run(mini_benchmark, tmp_path):
    ft = spec_for("ft", mini_benchmark, lr=1e-3)
    wise = spec_for("wise", mini_benchmark, lr=1e-3, hparams={"wise": {"alphas": [0.0, 0.5, 1.0]}})
    assert build_method(wise).dependencies() == [ft]
    execute(ft, tmp_path)
    ctx = context(wise, tmp_path)
    workbench = ctx.workbench
    val = workbench.benchmark.val_set()
    tuned = workbench.fresh_classifier()
    tuned.load_state_dict(load_checkpoint(ResultsTree(tmp_path).of(ft)))
    expected = {0.0: workbench.predict(workbench.zeroshot, val).logits, 1.0: workbench.predict(tuned, val).logits}
    seen = {}
    for variant, model in build_method(wise).variants(workbench.fresh_classifier(), ctx):
        seen[variant["alpha"]] = workbench.predict(model, val).logits
    assert torch.equal(seen[0.0], expected[0.0])
    assert torch.equal(seen[1.0], expected[1.0])
    assert not torch.equal(seen[0.5], expected[0.0]) and not torch.equal(seen[0.5], expected[1.0])
    result = execute(wise, tmp_path)
    assert [r.alpha for r in result.evaluations] == [0.0, 0.5, 1.0]
    assert result.built_on == [ft.digest()]  # what it cost includes its FT run (report/budget.py)


def test_the_one_pass_wise_curve_equals_evaluating_each_alpha_alone(mini_benchmark, tmp_path, monkeypatch):
    from robustbench_ft.engine.evaluate import evaluate, evaluate_each, val_accuracy
    from robustbench_ft.models.classifier import interpolate_state
    ft = spec_for("ft", mini_benchmark, lr=1e-3)
    wise = spec_for("wise", mini_benchmark, lr=1e-3, hparams={"wise": {"alphas": [0.0, 0.3, 1.0]}})
    execute(ft, tmp_path)
    result = execute(wise, tmp_path)
    workbench = context(wise, tmp_path).workbench
    tuned = load_checkpoint(ResultsTree(tmp_path).of(ft))
    for record in result.evaluations:
        alone = workbench.fresh_classifier().eval()
        alone.load_state_dict(interpolate_state(workbench.zeroshot.state_dict(), tuned, record.alpha))
        assert record.splits == evaluate(alone, workbench)  # every metric, exactly
        assert record.val_acc == val_accuracy(alone, workbench)
    decoded = []
    real_eval = workbench.inputs.eval
    monkeypatch.setattr(workbench.inputs, "eval", lambda *a, **k: decoded.append(1) or real_eval(*a, **k))
    variants = [m for _, m in build_method(wise).variants(workbench.fresh_classifier(), context(wise, tmp_path))]
    evaluate_each(variants, workbench)
    one_pass = len(decoded)
    decoded.clear()
    evaluate(variants[1], workbench)
    assert one_pass == len(decoded) > 0  # three alphas, each split transformed once
    decoded.clear()
    assert evaluate(variants[0], workbench) == result.evaluations[0].splits and not decoded  # alpha 0: stored zero-shot outputs


@pytest.mark.slow
def test_lipsum_on_a_real_open_clip_architecture(mini_benchmark, tmp_path):
    """ViT-S-32, random init: 224 px inputs, CLIP's BPE tokenizer and its random-text range."""
    spec = spec_for("lipsum", mini_benchmark, model="ViT-S-32", pretrained=None, steps=1, batch_size=8)
    workbench = open_workbench(spec.benchmark, spec.model, spec.pretrained)
    assert workbench.clip.image_size == 224 and workbench.clip.context_length == 77
    assert workbench.energy_text_features.shape[0] == 80
    result = execute(spec, tmp_path)
    assert result.train.steps == 1
    assert set(result.evaluations[0].splits) == set(workbench.benchmark.test_splits)


def test_l2sp_penalty_and_gradient_by_hand():
    from robustbench_ft.methods.l2sp import l2sp_penalty
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    q = torch.tensor([[3.0]], requires_grad=True)
    penalty = l2sp_penalty([p, q], [torch.zeros(2), torch.tensor([[1.0]])], alpha=0.5)
    assert penalty.item() == pytest.approx(0.25 * (1 + 4 + 4))  # alpha/2 * (1 + 4 + (3-1)^2)
    penalty.backward()
    assert torch.allclose(p.grad, torch.tensor([0.5, 1.0])) and torch.allclose(q.grad, torch.tensor([[1.0]]))


def test_l2sp_is_zero_at_the_start_and_counts_only_the_image_encoder(mini_benchmark, tmp_path):
    spec = spec_for("l2sp", mini_benchmark, hparams={"l2sp": {"alpha": 2.0}})
    terms, ctx, method = _method_terms(spec, tmp_path)
    assert terms["l2sp"].item() == 0.0
    model = ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    with torch.no_grad():
        model.head.add_(1.0)  # the head is free
        first = next(model.visual.parameters())
        first.add_(0.1)
    x = ctx.workbench.inputs.eval(ctx.workbench.benchmark.val_set().images[:4])
    logits, feats = model(x)
    terms = method.loss_terms(Batch(x, torch.zeros(4, dtype=torch.long), logits, feats), ctx)
    assert terms["l2sp"].item() == pytest.approx(0.5 * 2.0 * 0.01 * first.numel(), rel=1e-4)


def test_distillation_loss_by_hand_and_zero_with_zero_gradient_when_the_models_agree():
    from robustbench_ft.methods.kd import distillation_loss
    teacher = torch.log(torch.tensor([[0.75, 0.25]]))
    student = torch.zeros(1, 2)
    expected = 0.75 * torch.log(torch.tensor(1.5)) + 0.25 * torch.log(torch.tensor(0.5))  # KL(t || s)
    assert distillation_loss(student, teacher, 1.0).item() == pytest.approx(expected.item(), rel=1e-6)
    assert distillation_loss(student, teacher * 2, 2.0).item() == pytest.approx(4 * expected.item(), rel=1e-6)
    same = teacher.clone().requires_grad_(True)
    loss = distillation_loss(same, teacher, 3.0)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-7) and same.grad.abs().max().item() < 1e-7


def test_kd_term_is_zero_at_the_zero_shot_model(mini_benchmark, tmp_path):
    terms, _, _ = _method_terms(spec_for("kd", mini_benchmark), tmp_path)
    assert set(terms) == {"ce", "kd"} and terms["kd"].item() == pytest.approx(0.0, abs=1e-6)


def test_the_ensemble_at_weight_one_is_the_fine_tuned_model_and_at_zero_the_zero_shot(mini_benchmark, tmp_path):
    spec = spec_for("ensemble", mini_benchmark, lr=1e-3, hparams={"ensemble": {"weights": [0.0, 0.5, 1.0]}})
    assert spec.method == "ft+ensemble"
    tuned = execute(build_method(spec).dependencies()[0], tmp_path).evaluations[0].splits
    result = execute(spec, tmp_path)
    by_weight = {r.alpha: r.splits for r in result.evaluations}
    zeroshot = execute(spec_for("zeroshot", mini_benchmark), tmp_path).evaluations[0].splits
    for weight, reference in ((1.0, tuned), (0.0, zeroshot)):  # equal up to re-normalising features
        for split, metrics in reference.items():
            for name, value in metrics.items():
                assert by_weight[weight][split][name] == pytest.approx(value, abs=1e-6), (weight, split, name)
    assert {s: m["acc"] for s, m in by_weight[1.0].items()} == {s: m["acc"] for s, m in tuned.items()}
    assert by_weight[0.5] != tuned


def test_context_kl_by_hand():
    from robustbench_ft.methods.carft import context_kl
    contexts = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    reference = torch.tensor([[1.0, 0.0]])  # scale 1: p_ref = softmax([1, 0])
    tuned = torch.tensor([[0.0, 1.0]])      #          p     = softmax([0, 1])
    p_ref = torch.softmax(torch.tensor([1.0, 0.0]), 0)
    p = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    expected = (p_ref * (p_ref.log() - p.log())).sum()
    assert context_kl(tuned, reference, contexts, 1.0).item() == pytest.approx(expected.item(), rel=1e-6)


def test_carft_term_is_zero_at_the_zero_shot_model_and_contexts_are_the_templates(mini_benchmark, tmp_path):
    terms, ctx, method = _method_terms(spec_for("carft", mini_benchmark), tmp_path)
    assert set(terms) == {"ce", "carft"} and terms["carft"].item() == pytest.approx(0.0, abs=1e-6)
    assert method.contexts.shape == (len(ctx.workbench.benchmark.templates), ctx.workbench.zeroshot.head.shape[1])
    assert torch.allclose(method.contexts.norm(dim=-1), torch.ones(len(method.contexts)))


def test_ema_update_by_hand():
    from robustbench_ft.methods.ema import ema_update
    average = {"w": torch.tensor([0.0, 4.0]), "n": torch.tensor(1)}
    for w in ([2.0, 0.0], [4.0, 0.0]):
        ema_update(average, {"w": torch.tensor(w), "n": torch.tensor(7)}, decay=0.5)
    # 0.5 * (0.5 * [0, 4] + 0.5 * [2, 0]) + 0.5 * [4, 0] = [2.5, 1.0]
    assert torch.equal(average["w"], torch.tensor([2.5, 1.0])) and average["n"].item() == 7


@pytest.mark.parametrize("decay, twin", [(0.0, "ft"), (1.0, "zeroshot")])
def test_ema_delivers_the_average(mini_benchmark, tmp_path, decay, twin):
    """decay 0: the average is the last iterate (FT kept at its last step); decay 1: theta_0."""
    budget = {"lr": 1e-3, "steps": 4, "eval_every": 2, "selection": "last"}
    ema = spec_for("ema", mini_benchmark, hparams={"ema": {"decay": decay}}, **budget)
    execute(ema, tmp_path)
    kept = load_checkpoint(ResultsTree(tmp_path).of(ema))
    if twin == "ft":
        ft = spec_for("ft", mini_benchmark, **budget)
        execute(ft, tmp_path)
        expected = load_checkpoint(ResultsTree(tmp_path).of(ft))
    else:
        expected = open_workbench(ema.benchmark, ema.model, ema.pretrained).zeroshot.state_dict()
    assert all(torch.equal(kept[k], expected[k].cpu()) for k in expected)
    log = [json.loads(x) for x in (ResultsTree(tmp_path).of(ema).path / "metrics.jsonl").read_text().splitlines()]
    zeroshot_val = execute(spec_for("zeroshot", mini_benchmark), tmp_path).evaluations[0].val_acc
    if twin == "zeroshot":
        assert {row["val_acc"] for row in log if "val_acc" in row} == {zeroshot_val}  # the average was scored


def test_tpgm_projection_stays_in_its_balls_and_keeps_what_they_contain():
    from robustbench_ft.methods.tpgm import project
    start = {"a": torch.zeros(2), "b": torch.zeros(3), "n": torch.tensor(3)}
    tuned = {"a": torch.tensor([3.0, 4.0]), "b": torch.tensor([1.0, 0.0, 0.0]), "n": torch.tensor(3)}
    out = project(start, tuned, {"a": torch.tensor(2.5), "b": torch.tensor(5.0)})
    assert torch.allclose(out["a"], torch.tensor([1.5, 2.0]))  # |d| = 5 -> radius 2.5, same direction
    assert (out["a"] - start["a"]).norm().item() == pytest.approx(2.5)
    assert torch.equal(out["b"], tuned["b"]) and out["n"].item() == 3  # inside its ball: unchanged


def test_tpgm_learns_radii_within_the_fine_tuned_distance(mini_benchmark, tmp_path):
    from robustbench_ft.methods.tpgm import project
    budget = {"lr": 1e-3, "steps": 4, "eval_every": 2}
    ft = spec_for("ft", mini_benchmark, **budget)
    execute(ft, tmp_path)
    spec = spec_for("tpgm", mini_benchmark, hparams={"tpgm": {"steps": 5, "init": 0.0}}, **budget)
    assert spec.method == "ft+tpgm" and build_method(spec).dependencies() == [ft]
    ctx = context(spec, tmp_path)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    tuned = ctx.checkpoint_of(ft, fits=model)
    start = ctx.workbench.zeroshot.state_dict()
    radii = method.learn_radii(model, start, tuned, ctx)
    assert radii and all(0 < radii[k] < (tuned[k] - start[k]).norm() for k in radii)
    projected = project(start, tuned, radii)
    assert all((projected[k] - start[k]).norm() <= radii[k] * (1 + 1e-5) for k in radii)
    result = execute(spec, tmp_path)
    assert len(result.evaluations) == 1
    untouched = spec_for("tpgm", mini_benchmark, hparams={"tpgm": {"steps": 0, "init": 30.0}}, **budget)
    kept, tuned_metrics = (execute(s, tmp_path).evaluations[0].splits for s in (untouched, ft))
    for split, metrics in tuned_metrics.items():  # radii = the whole distance: the fine-tuned run
        for name, value in metrics.items():
            assert kept[split][name] == pytest.approx(value, abs=1e-6), (split, name)


def test_a_greedy_soup_never_lowers_its_score_when_it_adds_a_run():
    from robustbench_ft.methods.soup import average, greedy_soup
    target = torch.tensor([1.0, 1.0])
    states = [{"w": torch.tensor(w)} for w in ([1.2, 0.8], [0.0, 3.0], [0.8, 1.2], [2.0, 2.0])]
    calls = []

    def score(state):
        value = -float((state["w"] - target).norm())
        calls.append(value)
        return value

    soup, kept = greedy_soup(states, score)
    assert kept == [0, 2]  # [1.2, 0.8] then [0.8, 1.2]: their mean is the target; the others hurt
    assert torch.allclose(soup["w"], target) and score(soup) >= max(score(s) for s in states)
    assert torch.allclose(average(states)["w"], torch.tensor([1.0, 1.75]))


def test_a_soup_depends_on_the_base_runs_at_its_learning_rates(mini_benchmark):
    spec = spec_for("soup", mini_benchmark, lr=1e-3, hparams={"soup": {"kind": "uniform"}})
    assert spec.method == "ft+soup"
    assert [s.lr for s in build_method(spec).dependencies()] == [5e-4, 1e-3, 2e-3]
    assert all(s.method == "ft" for s in build_method(spec).dependencies())


def test_a_greedy_soup_scores_at_least_its_best_ingredient_on_validation(mini_benchmark, tmp_path):
    spec = spec_for("soup", mini_benchmark, lr=1e-3, steps=2, eval_every=1)
    ingredients = [execute(s, tmp_path).evaluations[0].val_acc for s in build_method(spec).dependencies()]
    result = execute(spec, tmp_path)
    assert len(result.evaluations) == 1 and result.evaluations[0].val_acc >= max(ingredients)


def test_flyp_loss_is_clips_contrastive_loss_by_hand():
    from open_clip.loss import ClipLoss

    from robustbench_ft.methods.flyp import contrastive_loss
    images = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    texts = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    # scale 2: logits [[2, 1.2], [0, 1.6]]; image->text rows, text->image columns, pair i positive
    log1p_exp = lambda x: torch.log1p(torch.exp(torch.tensor(x))).item()  # noqa: E731
    image_to_text = (log1p_exp(-0.8) + log1p_exp(-1.6)) / 2
    text_to_image = (log1p_exp(-2.0) + log1p_exp(-0.4)) / 2
    loss = contrastive_loss(images, texts, torch.tensor(2.0))
    assert loss.item() == pytest.approx((image_to_text + text_to_image) / 2, abs=1e-6)
    assert loss.item() == pytest.approx(ClipLoss()(images, texts, torch.tensor(2.0)).item(), abs=1e-6)


def _fit(spec, root, until=None):
    """A trainer on `spec`, fitted from scratch or from `until`'s saved state (bytes)."""
    import io

    from robustbench_ft.engine.train import Trainer
    torch.manual_seed(spec.seed)
    ctx = context(spec, root)
    method, model = build_method(spec), ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    saved = []
    trainer = Trainer(model, method, ctx, save=lambda state: saved.append(_to_bytes(state)))
    if until is not None:
        trainer.load_state_dict(torch.load(io.BytesIO(until), weights_only=False))
    trainer.fit()
    return model, method, ctx, saved


def _to_bytes(state) -> bytes:
    import io
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def test_flyp_trains_both_towers_and_delivers_the_tuned_text_towers_zero_shot_head(mini_benchmark, tmp_path):
    from robustbench_ft.models.classifier import zeroshot_head
    spec = spec_for("flyp", mini_benchmark, lr=1e-3, steps=3, eval_every=3, selection="last")
    model, method, ctx, _ = _fit(spec, tmp_path)
    workbench = ctx.workbench
    prompts = [workbench.benchmark.prompts(c) for c in workbench.benchmark.classes]
    pretrained_head = zeroshot_head(workbench.clip.model, workbench.clip.tokenizer, prompts)
    assert torch.allclose(pretrained_head, workbench.zeroshot.head)  # the shared CLIP was not tuned
    tuned_head = zeroshot_head(method.text.clip, workbench.clip.tokenizer, prompts)
    assert not torch.allclose(tuned_head, pretrained_head, atol=1e-4)  # the text tower trained
    assert torch.allclose(model.head, tuned_head, atol=1e-6)  # the kept classifier uses it
    assert model.logit_scale.item() == pytest.approx(method.text.log_scale.exp().item())
    moved = [k for k, v in model.visual.state_dict().items() if not torch.equal(v, workbench.zeroshot.visual.state_dict()[k])]
    assert moved  # and the image tower trained


def test_flyp_at_learning_rate_zero_delivers_the_zero_shot_classifier(mini_benchmark, tmp_path):
    spec = spec_for("flyp", mini_benchmark, lr=0.0, steps=2, eval_every=2)
    execute(spec, tmp_path)
    kept = load_checkpoint(ResultsTree(tmp_path).of(spec))
    zeroshot = open_workbench(spec.benchmark, spec.model, spec.pretrained).zeroshot.state_dict()
    assert kept.keys() == zeroshot.keys()
    assert all(torch.allclose(kept[k], zeroshot[k].cpu(), atol=1e-6) for k in kept)


@pytest.mark.parametrize("method", ["flyp", "ema", "lipsum"])
def test_a_resumed_method_state_continues_exactly(mini_benchmark, tmp_path, method):
    """Methods that carry state across steps (FLYP's text tower and its optimiser moments, EMA's
    average, Lipsum-FT's text sampler) end a run resumed from step 2 exactly as an unbroken one."""
    spec = spec_for(method, mini_benchmark, lr=1e-3, steps=4, eval_every=2, checkpoint_every=2,
                    selection="last")  # the final weights, not a step-2 checkpoint both runs could keep
    straight, straight_method, _, saved = _fit(spec, tmp_path)
    resumed, resumed_method, _, _ = _fit(spec, tmp_path, until=saved[0])
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in straight.state_dict().items())
    for k, v in straight_method.state_dict().get("text", {}).items():
        assert torch.equal(v, resumed_method.state_dict()["text"][k])


@pytest.fixture()
def unaugmented_benchmark(mini_benchmark, tmp_path):
    import yaml
    config = yaml.safe_load(open(mini_benchmark))
    config.update(name="mini-plain", augment=[])
    path = tmp_path / "mini-plain.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize("policy,artifact,flips", [([], "train-features", 1), (["hflip"], "train-features-hflip", 2)])
def test_lipsum_with_known_inputs_reads_cached_zero_shot_features_and_ends_as_the_plain_run(
        unaugmented_benchmark, tmp_path, monkeypatch, policy, artifact, flips):
    """Without augmentation or with flips only, every frozen forward of training is done once up
    front (each image in each orientation), and the run equals one that runs it every step."""
    import yaml

    from robustbench_ft.methods import frozen_features
    from robustbench_ft.models.classifier import ImageClassifier
    config = yaml.safe_load(open(unaugmented_benchmark))
    config.update(name=f"mini-{len(policy)}", augment=policy)
    benchmark = tmp_path / "benchmark.yaml"
    benchmark.write_text(yaml.safe_dump(config))
    spec = spec_for("lipsum", str(benchmark), lr=1e-3, steps=6, eval_every=3)
    forwards = []
    real_features = ImageClassifier.features
    monkeypatch.setattr(ImageClassifier, "features",
                        lambda self, x: forwards.append(self.training) or real_features(self, x))
    cached = execute(spec, tmp_path / "cached")
    cached_forwards = forwards.count(True)
    assert len(list((tmp_path / "cached" / "_artifacts").rglob(f"{artifact}.pt"))) == 1
    forwards.clear()
    monkeypatch.setattr(frozen_features.FrozenFeatures, "__call__",  # the plain path: a frozen forward per step
                        lambda self, x: self.reference.features(x))
    plain = execute(spec, tmp_path / "plain")
    # train-mode feature calls: 6 tuned steps + 3 batches of the 48 training images per flip,
    # computed once (both runs), + 6 frozen forwards in the plain run only
    assert (cached_forwards, forwards.count(True)) == (6 + 3 * flips, 6 + 3 * flips + 6)
    for ours, theirs in zip(cached.evaluations, plain.evaluations):
        for split, metrics in theirs.splits.items():
            for name, value in metrics.items():
                assert ours.splits[split][name] == pytest.approx(value, abs=1e-5), (split, name)


def test_random_crops_leave_the_frozen_forward_in_every_step():
    from robustbench_ft.models.inputs import InputPipeline
    mean, std = (0.5,) * 3, (0.25,) * 3
    assert InputPipeline(mean, std, 32, ["random_resized_crop", "hflip"]).fixed_variants() is None
    assert InputPipeline(mean, std, 32, ["hflip"]).fixed_variants() == (False, True)
    assert InputPipeline(mean, std, 32, []).fixed_variants() == (False,)


def test_fingerprints_see_every_bit_and_ignore_the_batch():
    from robustbench_ft.methods.frozen_features import fingerprints
    x = torch.randn(5, 3, 4, 4)
    y = x.clone()
    y[2, 1, 3, 3] = torch.nextafter(y[2, 1, 3, 3], torch.tensor(10.0))  # one ulp in one pixel
    a, b = fingerprints(x), fingerprints(y)
    assert torch.equal(a[[0, 1, 3, 4]], b[[0, 1, 3, 4]]) and not torch.equal(a[2], b[2])
    assert torch.equal(fingerprints(x[2:4]), a[2:4])  # a row's digest does not depend on its batch


@pytest.mark.parametrize("method, term", [("lipsum", "lipsum"), ("carft", "carft")])
@pytest.mark.parametrize("policy, precompute", [([], True), (["hflip"], True), (["hflip"], False)],
                         ids=["features computed once", "both flips computed once", "frozen forward every step"])
def test_the_regulariser_is_exactly_zero_at_the_start_under_bf16(mini_benchmark, tmp_path, monkeypatch, method,
                                                                 term, policy, precompute):
    """Under bf16 autocast (GPUs, or `precision: bf16` on a CPU) the zero-shot features a regulariser
    compares with are computed under the same autocast as the tuned forward, also when they are
    computed once up front: at theta_0 the term is exactly 0, as in fp32."""
    import yaml

    from robustbench_ft.methods.frozen_features import FrozenFeatures
    from robustbench_ft.methods.lipsum import lipsum_regulariser
    monkeypatch.setattr(FrozenFeatures, "precompute", precompute)  # False: the path random crops take
    config = yaml.safe_load(open(mini_benchmark))
    config.update(name=f"mini-bf16-{len(policy)}", augment=policy)
    path = tmp_path / "benchmark.yaml"
    path.write_text(yaml.safe_dump(config))
    spec = spec_for(method, str(path), precision="bf16")
    ctx = context(spec, tmp_path)
    assert ctx.precision == "bf16"
    chosen = build_method(spec)
    model = ctx.workbench.fresh_classifier()
    chosen.setup(model, ctx)
    batches = ctx.workbench.benchmark.train_set().train_batches(8, torch.Generator().manual_seed(3),
                                                                  ctx.workbench.inputs, "cpu")
    for _ in range(3):
        inputs, labels = next(batches)
        with ctx.autocast():
            logits, features = model(inputs)
            terms = chosen.loss_terms(Batch(inputs, labels, logits, features), ctx)
        assert features.dtype == torch.bfloat16 and terms[term].item() == 0.0
    if method == "lipsum":  # the fault this guards against: fp32 reference features, bf16 tuned ones
        with torch.no_grad():
            fp32 = chosen.reference.features(inputs)
        texts = chosen.text_features(ctx)
        assert lipsum_regulariser(features, fp32, texts, ctx.workbench.logit_scale).item() > 0
    stored = list((tmp_path / "_artifacts").rglob("train-features*.pt")) if (tmp_path / "_artifacts").exists() else []
    assert all(p.stem.endswith("-bf16") for p in stored)


def test_flyp_can_leave_same_class_captions_out_of_the_negatives_by_hand():
    """Labels [0, 0, 1]: rows 0 and 1 share a class, so each drops the other from both softmaxes
    (FLYP's ClipLoss with ignore=True); with all-distinct labels nothing changes."""
    from robustbench_ft.methods.flyp import contrastive_loss
    images = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.3, 1.0], [-1.0, 0.5]]), dim=-1)
    texts = torch.nn.functional.normalize(torch.tensor([[0.9, 0.1], [0.2, 1.0], [-0.8, 0.7]]), dim=-1)
    logits = 3.0 * images @ texts.T
    keep = torch.tensor([[1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=torch.bool)

    def ce(rows):  # -log softmax of the diagonal over the kept entries of each row
        return torch.stack([-(rows[i, i] - rows[i][keep[i]].logsumexp(0)) for i in range(3)]).mean()
    expected = (ce(logits) + ce(logits.T)) / 2
    masked = contrastive_loss(images, texts, torch.tensor(3.0), torch.tensor([0, 0, 1]))
    assert masked.item() == pytest.approx(expected.item(), abs=1e-6)
    assert contrastive_loss(images, texts, torch.tensor(3.0), torch.tensor([0, 1, 2])).item() == \
        pytest.approx(contrastive_loss(images, texts, torch.tensor(3.0)).item(), abs=1e-7)
    assert masked.item() < contrastive_loss(images, texts, torch.tensor(3.0)).item()


def test_ema_warmup_follows_tensorflows_num_updates_decay(mini_benchmark, tmp_path):
    from robustbench_ft.methods.ema import EMA
    method = EMA(spec_for("ema", mini_benchmark, hparams={"ema": {"decay": 0.999, "warmup": True}}))
    ctx = context(method.spec, tmp_path)
    model = ctx.workbench.fresh_classifier()
    method.setup(model, ctx)
    decays = []
    for _ in range(3):
        decays.append(method.decay_now())
        method.after_step(model, ctx)
    assert decays == pytest.approx([1 / 10, 2 / 11, 3 / 12]) and method.state_dict()["updates"] == 3
    method.updates = 10_000
    assert method.decay_now() == 0.999  # warmed up: the declared decay
    plain = EMA(spec_for("ema", mini_benchmark, hparams={"ema": {"decay": 0.999}}))
    plain.setup(model, ctx)
    assert plain.decay_now() == 0.999
    # without warm-up, 375 steps at 0.999 keep 0.999 ** 375 = 0.687 of the zero-shot weights
    assert 0.999 ** 375 == pytest.approx(0.687, abs=1e-3)


def test_l2sp_decays_only_the_head_as_li_et_al(mini_benchmark, tmp_path):
    """The trainer's AdamW gives the image encoder no weight decay and the head the spec's; with
    decay_backbone (the harness before spec version 4) one group decays everything."""
    from robustbench_ft.engine.train import Trainer
    for decay_backbone, expected in ((False, [0.0, 0.1]), (True, [0.1])):
        spec = spec_for("l2sp", mini_benchmark, hparams={"l2sp": {"decay_backbone": decay_backbone}})
        ctx = context(spec, tmp_path)
        method, model = build_method(spec), ctx.workbench.fresh_classifier()
        method.setup(model, ctx)
        trainer = Trainer(model, method, ctx, save=lambda state: None)
        groups = trainer.optimizer.param_groups
        assert [g["weight_decay"] for g in groups] == expected
        if not decay_backbone:
            assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.visual.parameters() if p.requires_grad}
            assert any(p is model.head for p in groups[1]["params"])
