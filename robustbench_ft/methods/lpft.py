"""LP-FT (Kumar et al., 2022): fine-tune everything, starting from a linear probe's head.

The LP stage is an ordinary `lp` run of the same benchmark, model and seed, trained with this
method's `lp_lr` / `lp_weight_decay`; a finished one is reused, never retrained.
"""

from __future__ import annotations

import torch

from ..models.classifier import ImageClassifier
from ..spec import RunSpec
from .base import METHODS, RunContext
from .finetune import FineTune


@METHODS.register("lpft")
class LinearProbeThenFineTune(FineTune):
    name = "lpft"
    description = "LP-FT: linear probe first, then full fine-tuning from the LP head"

    def lp_spec(self) -> RunSpec:
        return self.spec.replace(method="lp", lr=self.spec.hparam("lp_lr", self.spec.lr),
                                 weight_decay=self.spec.hparam("lp_weight_decay", 0.0), hparams=())

    def dependencies(self) -> list[RunSpec]:
        return [self.lp_spec()]

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        head = ctx.checkpoint_of(self.lp_spec())["head"]
        with torch.no_grad():
            model.head.copy_(head)
