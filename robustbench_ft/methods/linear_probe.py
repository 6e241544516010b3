"""LP: train only the head, on frozen image features, starting from the zero-shot head."""

from __future__ import annotations

from typing import Any

from ..models.classifier import ImageClassifier
from .base import METHODS, Method, RunContext


@METHODS.register("lp")
class LinearProbe(Method):
    """Linear probe: head only (from zero-shot), image encoder frozen."""

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        model.visual.requires_grad_(False)

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        return [{"params": [model.head]}]
