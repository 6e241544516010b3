"""EMA: the exponential moving average of a run's iterates, as a modifier of any trained method.

After every optimiser step, theta_ema <- decay * theta_ema + (1 - decay) * theta, starting at
theta_0; model selection scores, and the run keeps, the method's delivered model built from
theta_ema. The average is part of the resume state, so a resumed run continues the same average.
'ema' alone is FT with it (its runs kept their names from when EMA was a method of its own);
'lipsum+ema', 'l2sp+ema' take it the same way (modifier.py).

Started from the zero-shot weights, a constant decay keeps decay^n of them after n steps: 0.69 at
0.999 after 375 steps, so such a run is mostly the zero-shot model. `warmup: true` uses the decay
min(decay, (1 + n) / (10 + n)) at update n, as TensorFlow's ExponentialMovingAverage with
`num_updates` does, so the average forgets its start within the first tens of steps.

A method whose delivered model is not linear in its trained weights cannot take it: FLYP's head
comes from its trained text tower, which the average would not cover, and LoRA delivers W + BA,
whose factors would be averaged apart (`Method.averages_linearly`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ..core.config import ConfigError
from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier, cpu_state
from .base import METHODS
from .context import RunContext
from .modifier import Modifier

if TYPE_CHECKING:
    from .base import Method


@torch.no_grad()
def ema_update(average: dict[str, torch.Tensor], current: dict[str, torch.Tensor], decay: float) -> None:
    """average <- decay * average + (1 - decay) * current, in place, for floating tensors."""
    for key, value in current.items():
        if value.is_floating_point():
            average[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
        else:
            average[key].copy_(value)


@METHODS.register("ema")
class EMA(Modifier):
    """The delivered weights are the exponential moving average of the iterates (any trained method)."""

    hparams = (HParam("decay", float, 0.99, "weight of the running average per step", space=(0.99, 0.995, 0.999)),
               HParam("warmup", bool, False, "decay min(decay, (1 + n) / (10 + n)) at update n (TensorFlow's "
                      "num_updates): the average forgets the zero-shot start early"))

    def __init__(self, spec: RunSpec) -> None:
        super().__init__(spec)  # planning builds every method, so a bad decay fails before any run
        if not 0.0 <= self.hp["decay"] <= 1.0:
            raise ConfigError(f"ema.decay must lie in [0, 1], got {self.hp['decay']}")

    def check(self, method: "Method") -> None:
        if not method.averages_linearly:
            raise ConfigError(f"'{method.name}+ema': an average of {method.name}'s trained weights is not an average of "
                              "the models it delivers (a head built from a trained text tower, or adapters "
                              "W + BA whose factors would be averaged apart)")

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.average = model.frozen_copy()
        self.updates = 0

    def decay_now(self) -> float:
        """The decay of the next update (warmed up when `warmup` says so)."""
        if not self.hp["warmup"]:
            return self.hp["decay"]
        return min(self.hp["decay"], (1 + self.updates) / (10 + self.updates))

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        ema_update(self.average.state_dict(keep_vars=True), model.state_dict(keep_vars=True), self.decay_now())
        self.updates += 1

    def delivered_weights(self, model: ImageClassifier) -> ImageClassifier:
        return self.average

    def state_dict(self) -> dict[str, Any]:
        return {"average": cpu_state(self.average),
                "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.average.load_state_dict(state["average"])
        self.updates = int(state.get("updates", 0))  # only a warmed-up decay reads it
