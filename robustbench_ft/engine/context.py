"""The engine's side of methods/context.py: a run's context, backed by its workbench, its results
folder's finished runs and its process group."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..core.config import ConfigError
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier, with_bias
from ..records.checkpoints import load_checkpoint
from ..records.layout import ResultsTree
from .distributed import SINGLE, DistEnv, wrap
from .evaluate import val_accuracy
from .workbench import Workbench


@dataclass
class EngineContext:
    """Per-run state handed to hooks: the spec, the shared workbench, the run's own RNG."""

    spec: RunSpec
    workbench: Workbench
    results_root: Path
    generator: torch.Generator
    step: int = 0
    dist: DistEnv = SINGLE  # this process's rank in a multi-process (DDP) run

    @property
    def shard(self) -> tuple[int, int]:
        return self.dist.shard()

    @property
    def precision(self) -> str:
        """'bf16' when the trainer's forwards run under bf16 autocast (GPUs by default, or
        `precision: bf16`), else 'fp32'."""
        device = self.workbench.device
        bf16 = self.spec.precision == "bf16" or (self.spec.precision == "auto" and device.type == "cuda")
        return "bf16" if bf16 else "fp32"

    def autocast(self) -> AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(self.workbench.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def zeroshot_reference(self, model: ImageClassifier) -> ImageClassifier:
        """theta_0, frozen, for regularisers that compare the tuned model with it (Lipsum-FT, KD,
        CAR-FT). It runs in the tuned model's mode (CLIP has no dropout) so that both forwards take
        the same attention kernels and a term comparing them is exactly 0 while theta == theta_0."""
        return self.workbench.zeroshot.frozen_copy().train(model.training)

    def checkpoint_of(self, spec: RunSpec, fits: ImageClassifier | None = None) -> dict[str, torch.Tensor]:
        """The selected state_dict of a finished run this run depends on; with `fits`, checked
        to hold exactly that model's tensors and shapes (a clear error, not a size mismatch deep down)."""
        folder = ResultsTree(self.results_root).of(spec)
        state = with_bias(load_checkpoint(folder, map_location=self.workbench.device))
        if fits is not None:
            expected = {k: tuple(v.shape) for k, v in fits.state_dict().items()}
            found = {k: tuple(v.shape) for k, v in state.items()}
            if found != expected:
                wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
                raise ConfigError(
                    f"the checkpoint of {spec.method} (seed {spec.seed}) at {folder.path} "
                    f"does not fit model {self.spec.model}: {len(wrong)} tensors differ, e.g. {wrong[0]} is "
                    f"{found.get(wrong[0])} there, {expected.get(wrong[0])} here")
        return state

    def val_accuracy(self, model: nn.Module) -> float:
        return val_accuracy(model, self.workbench)

    def wrap(self, module: nn.Module) -> nn.Module:
        return wrap(module, self.dist, self.workbench.device)
