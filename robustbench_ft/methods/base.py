"""What a method is: a set of hooks the shared trainer and evaluator call.

The trainer never names a method. A method decides which parameters train (`param_groups`), what
the loss is (`loss_terms`, summed by the trainer), what happens after each optimiser step
(`after_step`), which finished runs it builds on (`dependencies`) and which models get evaluated
once training is over (`variants`: the trained model itself, or e.g. one WiSE interpolation per
alpha). Methods register by decorator in METHODS; `a+b` composes a post-hoc method b onto a.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

import torch
import torch.nn.functional as F

from ..models.classifier import ImageClassifier
from ..records import load_checkpoint
from ..registry import Registry
from ..spec import RunSpec
from ..workbench import Workbench

METHODS: Registry[type["Method"]] = Registry("method")


@dataclass
class Batch:
    """One training micro-batch after the forward pass: what loss terms are computed from."""

    inputs: torch.Tensor
    labels: torch.Tensor
    logits: torch.Tensor
    features: torch.Tensor


@dataclass
class RunContext:
    """Per-run state handed to hooks: the spec, the shared workbench, the run's own RNG."""

    spec: RunSpec
    bench: Workbench
    results_root: Path
    generator: torch.Generator
    step: int = 0

    def checkpoint_of(self, spec: RunSpec) -> dict[str, torch.Tensor]:
        """The selected state_dict of a finished run this run depends on."""
        return load_checkpoint(self.results_root, spec, map_location=self.bench.device)


class Method:
    """Plain cross-entropy fine-tuning of everything the classifier holds; subclasses adjust."""

    name: ClassVar[str] = "base"
    trains: ClassVar[bool] = True
    description: ClassVar[str] = ""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec

    def dependencies(self) -> list[RunSpec]:
        return []

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Prepare the fresh zero-shot-initialised classifier before training."""

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        return {"ce": F.cross_entropy(batch.logits.float(), batch.labels)}

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Called after every optimiser step (EMA, projections, ...)."""

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        """The models to evaluate, each with the fields that tell it apart (e.g. alpha)."""
        yield {}, model


def build_method(spec: RunSpec) -> Method:
    """The method object of a spec; 'a+b' is post-hoc method b applied to a's run."""
    from . import catalogue  # noqa: F401  (registers every method)
    name = spec.method.rsplit("+", 1)[-1]
    return METHODS.get(name)(spec)
