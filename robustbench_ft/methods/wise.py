"""WiSE-FT (Wortsman et al., 2022): interpolate weights between zero-shot and a fine-tuned run.

theta_alpha = (1 - alpha) theta_0 + alpha theta_tuned for the image encoder and the head, one
evaluated variant per alpha. Plain 'wise' is 'ft+wise'; 'lipsum+wise' interpolates Lipsum-FT.
The base run is the spec's base (posthoc.PostHoc).
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier, interpolate_state
from .base import METHODS
from .context import RunContext
from .posthoc import PostHoc

DEFAULT_ALPHAS = [round(0.1 * i, 1) for i in range(11)]


@METHODS.register("wise")
class WiSE(PostHoc):
    """Post-hoc weight interpolation with zero-shot over an alpha grid ('ft+wise', 'lipsum+wise')."""

    hparams = (HParam("alphas", list[float], DEFAULT_ALPHAS, "mixing weights of the tuned model"),)

    def evaluated_variants(self) -> int:
        return len(self.hp["alphas"])

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], nn.Module]]:
        tuned = ctx.checkpoint_of(self.base_spec(), fits=model)
        start = ctx.workbench.zeroshot.state_dict()
        loaded: dict[str, float | None] = {"alpha": None}  # which alpha `model` holds now
        for alpha in self.hp["alphas"]:
            yield {"alpha": alpha}, Interpolation(model, start, tuned, alpha, loaded)


class Interpolation(nn.Module):
    """theta_alpha as a classifier that shares one model with the other alphas: it loads its weights
    into the model when it runs and they are not there yet. So the evaluator can run every alpha
    on each batch while the batch is in memory, holding one model, not one per alpha."""

    def __init__(self, model: ImageClassifier, start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
                 alpha: float, loaded: dict[str, float | None]) -> None:
        super().__init__()
        self.model, self.alpha = model, alpha
        self._start, self._tuned, self._loaded = start, tuned, loaded

    @property
    def is_zeroshot(self) -> bool:
        """At alpha 0 the weights are the zero-shot ones exactly ((1 - 0) x + 0 y = x), so the
        evaluator reuses the zero-shot outputs it has stored (evaluate.evaluate_each)."""
        return self.alpha == 0

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._loaded["alpha"] != self.alpha:
            self.model.load_state_dict(interpolate_state(self._start, self._tuned, self.alpha))
            self._loaded["alpha"] = self.alpha
        return self.model(images)
