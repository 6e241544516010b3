"""LP-FT (Kumar et al., 2022): fine-tune everything, starting from a linear probe's head.

The LP stage is exactly the probe run that the planner makes for the same request (benchmark,
seed, budget overrides), derived from the probe's own preset: the two cannot drift apart, and a
finished one is reused, never retrained. The probe is Kumar et al.'s (`lp`, the default) or the
head tuned from zero-shot (`lp-zs`, the LP-FT of spec version 2). The probe's bias is kept fixed
while everything else fine-tunes (the classifier's bias is a buffer no method trains).
"""

from __future__ import annotations

import torch

from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .finetune import FineTune

PROBES = ("lp", "lp-zs")


@METHODS.register("lpft")
class LinearProbeThenFineTune(FineTune):
    """LP-FT: linear probe first, then full fine-tuning from the probe's head."""

    hparams = (HParam("probe", str, "lp", "the LP stage: lp (Kumar et al.'s probe) or lp-zs (head tuned "
                      "from zero-shot)", choices=PROBES),)

    def lp_spec(self) -> RunSpec:
        from ..core.compose import sibling_spec
        return sibling_spec(self.spec, self.hp["probe"])

    def dependencies(self) -> list[RunSpec]:
        return [self.lp_spec()]

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        probe = ctx.checkpoint_of(self.lp_spec(), fits=model)
        with torch.no_grad():
            model.head.copy_(probe["head"])
            model.bias.copy_(probe["bias"])
