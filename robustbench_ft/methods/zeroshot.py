"""Zero-shot: the pretrained image encoder with the prompt-ensemble head; nothing trains."""

from __future__ import annotations

from typing import Any, Iterator

from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext


@METHODS.register("zeroshot")
class ZeroShot(Method):
    """Pretrained CLIP with the zero-shot head built from prompt templates; nothing trains."""

    trains = False

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        yield {}, ctx.workbench.zeroshot
