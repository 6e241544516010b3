"""LP from zero-shot (`lp-zs`): the head alone trains by SGD with the shared trainer, from the
zero-shot head, on augmented batches. This was `lp` up to spec version 2; the faithful linear probe
of Kumar et al. is `lp` now (linear_probe.py). Starting from the zero-shot head with a small
learning rate, it stays close to that head and keeps much of the zero-shot OOD accuracy."""

from __future__ import annotations

from typing import Any

from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext


@METHODS.register("lp-zs")
class HeadFromZeroShot(Method):
    """Head only, tuned by SGD from the zero-shot head; image encoder frozen."""

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        model.visual.requires_grad_(False)

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        return [{"params": [model.head]}]
