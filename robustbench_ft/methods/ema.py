"""EMA: fine-tuning whose delivered weights are the exponential moving average of the iterates.

After every optimiser step, theta_ema <- decay * theta_ema + (1 - decay) * theta, starting at
theta_0; model selection scores, and the run keeps, theta_ema (Method.delivered_model). The average
is part of the resume state, so a resumed run continues the same average.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core.config import ConfigError
from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .finetune import FineTune


@torch.no_grad()
def ema_update(average: dict[str, torch.Tensor], current: dict[str, torch.Tensor], decay: float) -> None:
    """average <- decay * average + (1 - decay) * current, in place, for floating tensors."""
    for key, value in current.items():
        if value.is_floating_point():
            average[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
        else:
            average[key].copy_(value)


@METHODS.register("ema")
class EMA(FineTune):
    """FT whose delivered weights are the exponential moving average of the iterates."""

    hparams = (HParam("decay", float, 0.99, "weight of the running average per step", space=(0.99, 0.995, 0.999)),)

    def __init__(self, spec: RunSpec) -> None:
        super().__init__(spec)  # planning builds every method, so a bad decay fails before any run
        if not 0.0 <= self.hp["decay"] <= 1.0:
            raise ConfigError(f"ema.decay must lie in [0, 1], got {self.hp['decay']}")

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.average = model.frozen_copy()

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        ema_update(self.average.state_dict(keep_vars=True), model.state_dict(keep_vars=True), self.hp["decay"])

    def delivered_model(self, model: ImageClassifier) -> ImageClassifier:
        return self.average

    def state_dict(self) -> dict[str, Any]:
        return {"average": {k: v.detach().cpu().clone() for k, v in self.average.state_dict().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.average.load_state_dict(state["average"])
