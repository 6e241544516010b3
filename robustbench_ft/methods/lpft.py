"""LP-FT (Kumar et al., 2022): fine-tune everything, starting from a linear probe's head.

The LP stage is exactly the `lp` run that the planner makes for the same request (benchmark,
seed, budget overrides), derived from `lp`'s own preset: the two cannot drift apart, and a
finished one is reused, never retrained.
"""

from __future__ import annotations

import torch

from ..models.classifier import ImageClassifier
from ..spec import RunSpec
from .base import METHODS, RunContext
from .finetune import FineTune


@METHODS.register("lpft")
class LinearProbeThenFineTune(FineTune):
    """LP-FT: linear probe first, then full fine-tuning from the LP head."""

    def lp_spec(self) -> RunSpec:
        from ..plan import sibling_spec
        return sibling_spec(self.spec, "lp")

    def dependencies(self) -> list[RunSpec]:
        return [self.lp_spec()]

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        head = ctx.checkpoint_of(self.lp_spec(), fits=model)["head"]
        with torch.no_grad():
            model.head.copy_(head)
