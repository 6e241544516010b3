"""Output ensemble of the zero-shot and a fine-tuned model: a reference point beside WiSE-FT.

logits_w = (1 - w) z_0(x) + w z(x), one evaluated variant per weight w, where WiSE-FT mixes
the weights instead of the outputs (Wortsman et al., 2022, compare both). The ensemble's
features, for feature distortion and the energy gap, are the normalised mix of both models'
features. Plain 'ensemble' is 'ft+ensemble'.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .posthoc import PostHoc
from .wise import DEFAULT_ALPHAS


class OutputEnsemble(nn.Module):
    """(1 - w) * zero-shot + w * tuned, in logits; forward returns (logits, features) like a classifier."""

    def __init__(self, zeroshot: ImageClassifier, tuned: ImageClassifier, weight: float) -> None:
        super().__init__()
        self.zeroshot, self.tuned, self.weight = zeroshot, tuned, weight

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits0, features0 = self.zeroshot(images)
        logits1, features1 = self.tuned(images)
        w = self.weight
        return (1 - w) * logits0 + w * logits1, F.normalize((1 - w) * features0 + w * features1, dim=-1)


@METHODS.register("ensemble")
class Ensemble(PostHoc):
    """Post-hoc output ensemble of zero-shot and a fine-tuned run over a weight grid ('ft+ensemble')."""

    hparams = (HParam("weights", list[float], DEFAULT_ALPHAS, "weights of the tuned model's logits"),)

    def evaluated_variants(self) -> int:
        return len(self.hp["weights"])

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], nn.Module]]:
        model.load_state_dict(ctx.checkpoint_of(self.base_spec(), fits=model))
        for weight in self.hp["weights"]:
            yield {"alpha": weight}, OutputEnsemble(ctx.workbench.zeroshot, model, weight)
