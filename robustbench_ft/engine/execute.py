"""Run one spec end to end: set up, train (if the method trains), evaluate variants, record.

Idempotent: a spec whose result.json exists is returned as is. A failure is written to the run's
own error.json with its reason and re-raised as RunFailed; no other run's files are touched.

In a multi-process run every rank calls `execute` with its DistEnv: rank 0 decides (done, busy or
compute), holds the lock and writes every file; the other ranks only train beside it.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import torch

from ..records import legacy as records
from .distributed import SINGLE, DistEnv, broadcast
from .evaluate import evaluate_each, val_accuracy_each
from .loggers import Loggers
from ..methods.base import Method, RunContext, build_method, completed
from ..models.classifier import ImageClassifier
from ..core.spec import RunSpec
from .train import Trainer, TrainSummary
from ..core.log import log
from .workbench import workbench_for


class RunFailed(RuntimeError):
    """A run stopped with an error; its folder holds error.json with the reason."""


def execute(spec: RunSpec, results_root: Path, device: torch.device | None = None,
            dist: DistEnv = SINGLE) -> dict[str, Any]:
    """The result record of `spec`, computing it unless it is already on disk (rank 0's record;
    other ranks of a multi-process run get an empty dict)."""
    spec = completed(spec)  # checks the hyper-parameters before anything is written
    if not dist.is_main:
        if broadcast(None, dist) == "compute":
            _compute(spec, Path(results_root), None, device, dist)
        return {}
    if records.is_done(results_root, spec):
        broadcast("done", dist)
        return records.read_result(results_root, spec)
    try:
        with records.locked(records.run_dir(results_root, spec)):
            if records.is_done(results_root, spec):  # finished by another process meanwhile
                broadcast("done", dist)
                return records.read_result(results_root, spec)
            broadcast("compute", dist)
            _attempt(spec, Path(results_root), device, dist)
    except records.RunBusyError as err:
        broadcast("busy", dist)
        raise RunFailed(f"run {spec.method} seed {spec.seed}: {err}") from err
    return records.read_result(results_root, spec)


def _attempt(spec: RunSpec, root: Path, device: torch.device | None, dist: DistEnv) -> None:
    folder = records.start(root, spec)
    try:
        result = _compute(spec, root, folder, device, dist)
        records.write_result(folder, result)
    except Exception as err:  # record every failure, whatever raised it
        reason = f"{type(err).__name__}: {err}"
        try:
            records.write_error(folder, reason, traceback.format_exc())
        except OSError as write_err:  # e.g. the disk that failed the run is still full
            log(f"could not write {folder / 'error.json'}: {write_err}")
        raise RunFailed(f"run {spec.method} seed {spec.seed} ({folder}) failed: {reason}") from err
    records.finish(folder)


def _compute(spec: RunSpec, root: Path, folder: Path | None, device: torch.device | None,
             dist: DistEnv = SINGLE) -> dict[str, Any] | None:
    """Train and evaluate `spec`; `folder` is None on the ranks that do not write (they only train)."""
    started = time.time()
    torch.manual_seed(spec.seed)
    bench = workbench_for(spec, root, device)
    method = build_method(spec)
    ctx = RunContext(spec, bench, root, torch.Generator().manual_seed(10_000 + spec.seed), dist=dist)
    model = bench.fresh_classifier()
    method.setup(model, ctx)
    summary = None
    if method.trains:
        summary = _train(model, method, ctx, records.run_dir(root, spec), writes=folder is not None)
    if folder is None:
        return None
    if summary is not None or method.keeps_weights:
        records.save_checkpoint(folder, model.state_dict())
    variants = list(method.variants(model, ctx))  # evaluated together: each split is read once
    candidates = [candidate for _, candidate in variants]
    entries = [{**fields, "val_acc": val, "splits": splits} for (fields, _), val, splits in
               zip(variants, val_accuracy_each(candidates, bench), evaluate_each(candidates, bench))]
    log(f"{spec.method} seed {spec.seed}: done in {time.time() - started:.0f}s -> {folder}")
    return {
        "run": spec.digest(),
        "config": spec.config_digest(),
        "benchmark": bench.benchmark.name,
        "identity": spec.identity(),
        "spec": spec.to_dict(),
        "id_split": bench.benchmark.id_split,
        "ood_splits": bench.benchmark.ood_splits,
        "train": None if summary is None else vars(summary),
        "records": entries,
        "bad_images": bench.benchmark.bad_images(),  # undecodable files skipped (skip_bad_images)
        "seconds": round(time.time() - started, 2),
        "processes": dist.world_size,
    }


def _train(model: ImageClassifier, method: Method, ctx: RunContext, folder: Path, writes: bool) -> TrainSummary:
    """Fit from the run's resume state if it has one; every rank reads it. Only rank 0 writes: the
    trainer calls `log` and `save` on rank 0 alone, and only the writing rank trims the log."""
    spec = ctx.spec
    metrics = records.MetricsLog(folder / "metrics.jsonl")
    trainer = Trainer(model, method, ctx, metrics, lambda state: records.save_resume(folder, state))
    resume = records.load_resume(folder)
    if resume is not None:
        trainer.load_state_dict(resume)
        if writes:
            metrics.truncate(trainer.log_lines)
            log(f"{spec.method} seed {spec.seed}: resumed at step {trainer.step} of {spec.steps}")
    if not writes:
        return trainer.fit()
    trainer.log = Loggers(metrics, spec, folder, trainer.step)  # + TensorBoard / W&B where asked
    try:
        return trainer.fit()
    finally:
        trainer.log.close()
