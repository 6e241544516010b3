"""The one training loop every method runs through; methods only plug hooks in (methods/base.py).

AdamW, linear warm-up from 0 then cosine decay to 0, optional gradient clipping, bf16 autocast on
GPUs, gradient accumulation, evaluation on the ID validation split every `eval_every` steps with
best-checkpoint selection, a guard that fails the run on a non-finite loss, a tqdm progress bar.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import torch
from tqdm import tqdm

from .evaluate import id_test_accuracy, val_accuracy
from .methods.base import Batch, Method, RunContext
from .models.classifier import ImageClassifier
from .spec import RunSpec


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stops and records why."""


@dataclass
class TrainSummary:
    steps: int
    best_step: int
    best_val_acc: float  # the selection signal of the kept checkpoint (see selected_on)
    seconds: float
    step_seconds_median: float
    selected_on: str = "id_val"  # id_val, id_test (the paper code's oracle) or last


def lr_factor(step: int, total: int, warmup_frac: float, schedule: str = "cosine") -> float:
    """Multiplier of the base lr at `step`: linear from 0 over the warm-up, then cosine to 0."""
    warmup = int(round(warmup_frac * total))
    if step < warmup:
        return step / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _autocast(spec: RunSpec, device: torch.device):
    use_bf16 = spec.precision == "bf16" or (spec.precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if use_bf16 else nullcontext()


def _check_finite(loss: torch.Tensor, terms: dict[str, torch.Tensor], step: int) -> None:
    if not torch.isfinite(loss):
        detail = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
        raise NonFiniteLossError(f"non-finite loss {loss.item()} at step {step} ({detail}); "
                                 "lower the learning rate or set grad_clip")


def train(model: ImageClassifier, method: Method, ctx: RunContext,
          log: Callable[[dict], None] = lambda row: None) -> TrainSummary:
    """Train `model` in place per `ctx.spec`; afterwards it holds the selected weights."""
    spec, bench = ctx.spec, ctx.bench
    optimizer = torch.optim.AdamW(method.param_groups(model), lr=spec.lr, betas=(0.9, 0.999),
                                  eps=1e-8, weight_decay=spec.weight_decay)
    data_gen = torch.Generator().manual_seed(spec.seed)
    batches = bench.benchmark.train_set().train_batches(spec.batch_size, data_gen, bench.inputs, bench.device)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    best = (-1.0, 0, None)
    step_times: list[float] = []
    started = time.time()
    bar = tqdm(total=spec.steps, desc=f"{spec.method} seed {spec.seed}", unit="step",
               disable=os.environ.get("ROBUSTBENCH_FT_PROGRESS", "1") == "0", mininterval=1.0)
    model.train()
    for step in range(spec.steps):
        ctx.step = step
        tick = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = spec.lr * lr_factor(step, spec.steps, spec.warmup_frac, spec.schedule)
        optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for _ in range(spec.accum_steps):
            inputs, labels = next(batches)
            with _autocast(spec, bench.device):
                logits, features = model(inputs)
                terms = method.loss_terms(Batch(inputs, labels, logits, features), ctx)
            loss = sum(terms.values())
            _check_finite(loss, terms, step)
            (loss / spec.accum_steps).backward()
            for k, v in terms.items():
                totals[k] = totals.get(k, 0.0) + v.item() / spec.accum_steps
        if spec.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, spec.grad_clip)
        optimizer.step()
        method.after_step(model, ctx)
        step_times.append(time.perf_counter() - tick)
        bar.update(1)
        row = {"step": step + 1, "lr": optimizer.param_groups[0]["lr"], "loss": sum(totals.values()), **totals}
        if (step + 1) % spec.eval_every == 0 or step + 1 == spec.steps:
            row["val_acc"] = val_accuracy(model, bench)
            if spec.selection == "id_test":
                row["id_test_acc"] = id_test_accuracy(model, bench)
            score = row["id_test_acc" if spec.selection == "id_test" else "val_acc"]
            bar.set_postfix(loss=f"{row['loss']:.3f}", val=f"{row['val_acc']:.3f}")
            if spec.selection == "last" or score > best[0]:
                state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                best = (score, step + 1, state)
        log(row)
    bar.close()
    if best[2] is not None:
        model.load_state_dict(best[2])
    median = sorted(step_times)[len(step_times) // 2] if step_times else 0.0
    selected_on = {"best_id_val": "id_val"}.get(spec.selection, spec.selection)
    return TrainSummary(spec.steps, best[1], best[0], time.time() - started, median, selected_on)
