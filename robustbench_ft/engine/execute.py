"""Run one spec end to end: set up, train (if the method trains), evaluate variants, record.

Idempotent: a spec whose result.json holds a readable record is returned as is (an unreadable
one is named and the run computed again). A failure is written to the run's own error.json with
its reason and re-raised as RunFailed; no other run's files are touched.

In a multi-process run every rank calls `execute` with its DistEnv: rank 0 decides (done, busy or
compute), holds the lock and writes every file; the other ranks only train beside it.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import torch

from ..core.declarations import completed
from ..core.log import log
from ..core.spec import RunSpec
from ..methods.base import Method, build_method
from ..models.classifier import ImageClassifier
from ..records.checkpoints import load_resume, save_checkpoint, save_resume
from ..records.layout import ResultsTree, RunFolder, UnreadableFileError
from ..records.lock import RunBusyError
from ..records.result import Evaluation, RunResult, TrainRecord
from .context import EngineContext
from .distributed import SINGLE, DistEnv, broadcast
from .evaluate import evaluate_with_oracle_parts, val_accuracy_each
from .loggers import Loggers
from .train import Trainer
from .workbench import workbench_for


class RunFailed(RuntimeError):
    """A run stopped with an error; its folder holds error.json with the reason."""


def execute(spec: RunSpec, results_root: Path, device: torch.device | None = None,
            dist: DistEnv = SINGLE) -> RunResult | None:
    """The result record of `spec`, computing it unless it is already on disk (rank 0's record;
    other ranks of a multi-process run get None)."""
    spec = completed(spec)  # checks the hyper-parameters before anything is written
    folder = ResultsTree(results_root).of(spec)
    if not dist.is_main:
        if broadcast(None, dist) == "compute":
            _compute(spec, Path(results_root), None, device, dist)
        return None
    done = _finished(folder)
    if done is not None:
        broadcast("done", dist)
        return done
    try:
        with folder.lock():
            done = _finished(folder)  # finished by another process meanwhile
            if done is not None:
                broadcast("done", dist)
                return done
            broadcast("compute", dist)
            _attempt(spec, Path(results_root), folder, device, dist)
    except RunBusyError as err:
        broadcast("busy", dist)
        raise RunFailed(f"run {spec.method} seed {spec.seed}: {err}") from err
    return folder.read_result()


def _finished(folder: RunFolder) -> RunResult | None:
    """The run's record when it has a readable one; an unreadable one is named and recomputed."""
    try:
        return folder.read_result()
    except FileNotFoundError:
        return None
    except UnreadableFileError as err:
        log(f"{err}; computing the run again")
        return None


def _attempt(spec: RunSpec, root: Path, folder: RunFolder, device: torch.device | None, dist: DistEnv) -> None:
    folder.start(spec.to_record())
    try:
        folder.write_result(_compute(spec, root, folder, device, dist))
    except Exception as err:  # record every failure, whatever raised it
        reason = f"{type(err).__name__}: {err}"
        try:
            folder.write_error(reason, traceback.format_exc())
        except OSError as write_err:  # e.g. the disk that failed the run is still full
            log(f"could not write {folder.error_file}: {write_err}")
        raise RunFailed(f"run {spec.method} seed {spec.seed} ({folder.path}) failed: {reason}") from err
    folder.finish()


def _compute(spec: RunSpec, root: Path, folder: RunFolder | None, device: torch.device | None,
             dist: DistEnv = SINGLE) -> RunResult | None:
    """Train and evaluate `spec`; `folder` is None on the ranks that do not write (they only train)."""
    started = time.time()
    torch.manual_seed(spec.seed)
    workbench = workbench_for(spec, root, device)
    method = build_method(spec)
    ctx = EngineContext(spec, workbench, root, torch.Generator().manual_seed(10_000 + spec.seed), dist=dist)
    model = workbench.fresh_classifier()
    method.setup(model, ctx)
    summary = None
    if method.trains:
        summary = _train(model, method, ctx, ResultsTree(root).of(spec), writes=folder is not None)
    if folder is None:
        return None
    if summary is not None or method.keeps_weights:
        save_checkpoint(folder, model.state_dict())
    variants = list(method.variants(model, ctx))  # evaluated together: each split is read once
    candidates = [candidate for _, candidate in variants]
    evaluations = [Evaluation(splits, val, fields.get("alpha"), ood_val, ood_rest)
                   for (fields, _), val, (splits, ood_val, ood_rest) in
                   zip(variants, val_accuracy_each(candidates, workbench),
                       evaluate_with_oracle_parts(candidates, workbench))]
    log(f"{spec.method} seed {spec.seed}: done in {time.time() - started:.0f}s -> {folder.path}")
    benchmark = workbench.benchmark
    return RunResult(
        run=spec.digest(), config=spec.config_digest(), benchmark=benchmark.name, identity=spec.identity(),
        spec=spec.to_dict(), id_split=benchmark.id_split, ood_splits=benchmark.ood_splits,
        evaluations=evaluations, train=summary,
        bad_images=benchmark.bad_images(),  # undecodable files skipped (skip_bad_images)
        seconds=round(time.time() - started, 2), processes=dist.world_size,
        built_on=[dep.digest() for dep in method.dependencies()], metrics=benchmark.metric_roles())


def _train(model: ImageClassifier, method: Method, ctx: EngineContext, folder: RunFolder,
           writes: bool) -> TrainRecord:
    """Fit from the run's resume state if it has one; every rank reads it. Only rank 0 writes: the
    trainer calls `log` and `save` on rank 0 alone, and only the writing rank trims the log."""
    spec = ctx.spec
    metrics = folder.metrics_log()
    trainer = Trainer(model, method, ctx, metrics, lambda state: save_resume(folder, state))
    resume = load_resume(folder)
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
