"""L2-SP (Li, Grandvalet, Davoine, ICML 2018): fine-tuning pulled towards the starting point.

loss = CE + (alpha / 2) * ||theta - theta_0||^2 over the image encoder's weights, theta_0 being
the pretrained (zero-shot) encoder. The head is not penalised: it is the task's new layer, which
L2-SP leaves to ordinary weight decay. Li et al.'s regulariser decays only that new layer towards
zero (their beta term), so the image encoder gets no AdamW weight decay of its own: with the
presets' 0.1, decay would pull the encoder towards zero while the penalty pulls it towards
theta_0. The harness's version before spec version 4 decayed it too (`decay_backbone: true`,
which records/migrate.py gives the runs made then). The harness keeps AdamW's decoupled decay on
the head, at the spec's weight_decay, where Li et al. add beta/2 ||w||^2 to the loss.
"""

from __future__ import annotations

from typing import Any

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
                      space=(0.001, 0.01, 0.1)),
               HParam("decay_backbone", bool, False, "AdamW's weight decay on the image encoder too (the harness "
                      "before spec version 4); Li et al. decay only the new head"))

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        """The image encoder without weight decay (unless `decay_backbone`), the rest with the spec's."""
        (group,) = super().param_groups(model)
        if self.hp["decay_backbone"]:
            return [group]
        encoder = {id(p) for p in model.visual.parameters()}
        groups = [{"params": [p for p in group["params"] if id(p) in encoder], "weight_decay": 0.0},
                  {"params": [p for p in group["params"] if id(p) not in encoder]}]
        return [g for g in groups if g["params"]]

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.params = [p for p in model.visual.parameters() if p.requires_grad]
        self.start = [p.detach().clone() for p in self.params]

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        terms["l2sp"] = l2sp_penalty(self.params, self.start, self.hp["alpha"])
        return terms
