"""L2-SP (Li, Grandvalet, Davoine, ICML 2018): fine-tuning pulled towards the starting point.

loss = CE + (alpha / 2) * ||theta - theta_0||^2 over the image encoder's weights, theta_0 being
the pretrained (zero-shot) encoder. The head is not penalised: it is the task's new layer, which
L2-SP leaves to ordinary weight decay.
"""

from __future__ import annotations

import torch

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS, Batch
from .context import RunContext
from .finetune import FineTune


def l2sp_penalty(params: list[torch.Tensor], start: list[torch.Tensor], alpha: float) -> torch.Tensor:
    """(alpha / 2) * sum ||p - p0||^2 over matching tensors."""
    return 0.5 * alpha * sum((p.float() - p0.float()).pow(2).sum() for p, p0 in zip(params, start))


@METHODS.register("l2sp")
class L2SP(FineTune):
    """FT + an L2 penalty towards the pretrained image encoder."""

    hparams = (HParam("alpha", float, 0.01, "weight of ||theta - theta_0||^2 / 2 on the image encoder",
                      space=(0.001, 0.01, 0.1)),)

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.params = [p for p in model.visual.parameters() if p.requires_grad]
        self.start = [p.detach().clone() for p in self.params]

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        terms["l2sp"] = l2sp_penalty(self.params, self.start, self.hp["alpha"])
        return terms
