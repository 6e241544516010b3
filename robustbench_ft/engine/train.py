"""The one training loop every method runs through; methods only plug hooks in (methods/base.py).

AdamW (fused on GPUs), linear warm-up from 0 then cosine decay to 0, optional gradient clipping,
bf16 autocast on GPUs, optional torch.compile of the trained model (`--compile`), gradient
accumulation, evaluation on the ID validation split every `eval_every` steps with best-checkpoint
selection (or the ID test split under `selection: id_test`), a guard that fails
the run on a non-finite loss, a tqdm progress bar, and a `state_dict()` that a killed run resumes
from (Trainer).
"""

from __future__ import annotations

import math
import time
from typing import Callable

import torch
from tqdm import tqdm

from ..core.config import ConfigError
from ..methods.base import Batch, Method
from ..models.classifier import ImageClassifier, cpu_state
from ..records.result import TrainRecord
from .context import EngineContext
from .distributed import mean_over_ranks, wrap
from .evaluate import id_test_accuracy, val_accuracy
from .progress import bars_enabled

CHECKPOINT_SECONDS = 600  # resume state is saved at least this often (and at every evaluation)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stops and records why."""


def lr_factor(step: int, total: int, warmup_frac: float, schedule: str = "cosine") -> float:
    """Multiplier of the base lr at `step`: linear from 0 over the warm-up, then cosine to 0."""
    warmup = int(round(warmup_frac * total))
    if step < warmup:
        return step / warmup
    if schedule == "constant":
        return 1.0
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _check_finite(loss: torch.Tensor, terms: dict[str, torch.Tensor], step: int) -> None:
    if not torch.isfinite(loss):
        detail = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
        raise NonFiniteLossError(f"non-finite loss {loss.item()} at step {step} ({detail}); "
                                 "lower the learning rate or set grad_clip")


class Trainer:
    """The one training loop, as an object whose `state_dict()` is all a resumed run needs.

    The state holds the step, the model and optimizer, the best-so-far weights and score, every
    random generator (torch's, CUDA's, the method's own, e.g. Lipsum-FT's text sampler) and how
    many metrics lines were written. The data order is a function of the seed and the step: a
    resumed stream is rebuilt from the seed and fast-forwarded (`train_batches(skip=...)`), so a
    run resumed on CPU ends with exactly the metrics of an uninterrupted one. `save` is called
    with the state at every evaluation and at most `CHECKPOINT_SECONDS` apart (or every
    `checkpoint_every` steps when the spec sets it).

    In a multi-process run (`ctx.dist`), only the model is wrapped in DistributedDataParallel
    (frozen references such as Lipsum-FT's zero-shot encoder stay plain), each rank trains on its
    shard of every global batch, and rank 0 alone evaluates, selects, logs and saves; the loss
    terms it logs are averaged over the ranks, so the log reads as the one-process log.
    """

    def __init__(self, model: ImageClassifier, method: Method, ctx: EngineContext,
                 log: Callable[[dict], None] = lambda row: None,
                 save: Callable[[dict], None] | None = None) -> None:
        self.model, self.method, self.ctx, self.log, self.save = model, method, ctx, log, save
        self.modifiers = method.modifiers  # callbacks on the run (EMA): their hooks follow the method's
        for modifier in self.modifiers:
            modifier.setup(model, ctx)
        spec = ctx.spec
        fused = {"fused": True} if ctx.workbench.device.type == "cuda" else {}  # one kernel per step on GPUs
        self.optimizer = torch.optim.AdamW(method.param_groups(model), lr=spec.lr, betas=(0.9, 0.999),
                                           eps=1e-8, weight_decay=spec.weight_decay, **fused)
        for group in self.optimizer.param_groups:  # a group's own lr (a method's choice) or the spec's
            group["base_lr"] = group["lr"]
        self.params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self.forward = self._distributed(model) if ctx.dist.active else model
        if spec.compile:
            self.forward = torch.compile(self.forward)
        self.step = 0
        self.best_score, self.best_step, self.best_state = -1.0, 0, None
        self.log_lines = 0
        self.step_times: list[float] = []
        self._last_save = time.monotonic()

    def _distributed(self, model: ImageClassifier) -> torch.nn.Module:
        dist, batch = self.ctx.dist, self.ctx.spec.batch_size
        if batch % dist.world_size:
            raise ConfigError(f"batch_size {batch} does not split evenly over {dist.world_size} processes; "
                              f"give a multiple of {dist.world_size}")
        return wrap(model, dist, self.ctx.workbench.device)

    def state_dict(self) -> dict:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
        return {"step": self.step, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "best": {"score": self.best_score, "step": self.best_step, "state": self.best_state},
                "rng": {"torch": torch.get_rng_state(), "cuda": cuda, "method": self.ctx.generator.get_state()},
                "method": self.method.state_dict(), "modifiers": [m.state_dict() for m in self.modifiers],
                "log_lines": self.log_lines, "step_times": self.step_times}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:  # a state saved before groups kept their base lr
            group.setdefault("base_lr", self.ctx.spec.lr)
        best = state["best"]
        self.best_score, self.best_step, self.best_state = float(best["score"]), int(best["step"]), best["state"]
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.ctx.generator.set_state(state["rng"]["method"])
        self.method.load_state_dict(state["method"])
        modifier_states = state.get("modifiers")
        if modifier_states is None and self.modifiers:  # saved when EMA was a method: its state was the method's
            modifier_states = [state["method"]]
        for modifier, saved in zip(self.modifiers, modifier_states or []):
            modifier.load_state_dict(saved)
        self.log_lines, self.step_times = int(state["log_lines"]), list(state["step_times"])

    def fit(self) -> TrainRecord:
        """Train from the current step to the budget; afterwards the model holds the selected weights."""
        spec, workbench, model = self.ctx.spec, self.ctx.workbench, self.model
        batches = workbench.benchmark.train_set().train_batches(
            spec.batch_size, torch.Generator().manual_seed(spec.seed), workbench.inputs, workbench.device,
            skip=self.step * spec.accum_steps, shard=self.ctx.dist.shard())
        started = time.time()
        main = self.ctx.dist.is_main
        bar = tqdm(total=spec.steps, initial=self.step, desc=f"{spec.method} seed {spec.seed}", unit="step",
                   disable=not bars_enabled() or not main, mininterval=1.0)
        model.train()
        for step in range(self.step, spec.steps):
            row = self._step(step, batches)
            bar.update(1)
            evaluated = (step + 1) % spec.eval_every == 0 or step + 1 == spec.steps
            if evaluated and main:
                self._evaluate(row)
                bar.set_postfix(loss=f"{row['loss']:.3f}", val=f"{row['val_acc']:.3f}")
            if main:
                self.log(row)
            self.log_lines, self.step = self.log_lines + 1, step + 1
            if main and self.save is not None and self.step < spec.steps and self._save_due(evaluated):
                self.save(self.state_dict())
                self._last_save = time.monotonic()
        bar.close()
        self.method.finish(model)
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        median = sorted(self.step_times)[len(self.step_times) // 2] if self.step_times else 0.0
        selected_on = {"best_id_val": "id_val"}.get(spec.selection, spec.selection)
        return TrainRecord(spec.steps, self.best_step, self.best_score, time.time() - started, median, selected_on)

    def _step(self, step: int, batches) -> dict:
        spec, model, ctx = self.ctx.spec, self.model, self.ctx
        ctx.step = step
        tick = time.perf_counter()
        factor = lr_factor(step, spec.steps, spec.warmup_frac, spec.schedule)
        for group in self.optimizer.param_groups:  # each group's base lr follows the schedule
            group["lr"] = group["base_lr"] * factor
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for _ in range(spec.accum_steps):
            inputs, labels = next(batches)
            with ctx.autocast():
                logits, features = self.forward(inputs)
                terms = self.method.loss_terms(Batch(inputs, labels, logits, features), ctx)
            loss = sum(terms.values())
            _check_finite(loss, terms, step)
            (loss / spec.accum_steps).backward()
            for k, v in terms.items():
                totals[k] = totals.get(k, 0.0) + v.item() / spec.accum_steps
        if spec.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.params, spec.grad_clip)
        self.optimizer.step()
        self.method.after_step(model, ctx)
        for modifier in self.modifiers:
            modifier.after_step(model, ctx)
        self.step_times.append(time.perf_counter() - tick)
        totals = mean_over_ranks(totals, ctx.dist)
        return {"step": step + 1, "lr": self.optimizer.param_groups[0]["lr"], "loss": sum(totals.values()), **totals}

    def _evaluate(self, row: dict) -> None:
        """Score the weights the method says a run delivers (the model itself, or e.g. its EMA)
        and keep them when they are the best so far."""
        spec, workbench = self.ctx.spec, self.ctx.workbench
        delivered = self.delivered()
        row["val_acc"] = val_accuracy(delivered, workbench)
        if spec.selection == "id_test":
            row["id_test_acc"] = id_test_accuracy(delivered, workbench)
        score = row["id_test_acc" if spec.selection == "id_test" else "val_acc"]
        if spec.selection == "last" or score > self.best_score:
            state = cpu_state(delivered)
            self.best_score, self.best_step, self.best_state = score, row["step"], state

    def delivered(self) -> ImageClassifier:
        """What the run delivers now: the method's model built from the trained weights, or from
        what the modifiers put in their place (an EMA's average)."""
        weights = self.model
        for modifier in self.modifiers:
            weights = modifier.delivered_weights(weights)
        return self.method.delivered_model(weights)

    def _save_due(self, evaluated: bool) -> bool:
        every = self.ctx.spec.checkpoint_every
        if every is not None:
            return self.step % every == 0
        return evaluated or time.monotonic() - self._last_save > CHECKPOINT_SECONDS
