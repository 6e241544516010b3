"""Zero-shot: the pretrained image encoder with the prompt-ensemble head; nothing trains."""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn

from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext


class StoredZeroShot(nn.Module):
    """The zero-shot classifier, marked so the evaluator takes the zero-shot outputs it has stored
    for every test split (computed once per sweep) instead of running the model again."""

    is_zeroshot = True

    def __init__(self, zeroshot: ImageClassifier) -> None:
        super().__init__()
        self.zeroshot = zeroshot

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.zeroshot(images)


@METHODS.register("zeroshot")
class ZeroShot(Method):
    """Pretrained CLIP with the zero-shot head built from prompt templates; nothing trains."""

    trains = False

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], nn.Module]]:
        yield {}, StoredZeroShot(ctx.workbench.zeroshot)
