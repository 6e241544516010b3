"""BitFit (Ben Zaken, Ravfogel, Goldberg, ACL 2022): fine-tune only the bias terms.

Every bias of the image encoder trains (attention's in_proj_bias and out_proj.bias, the MLPs', the
LayerNorms' shifts), at `lr_factor` times the spec's lr (a handful of parameters wants a larger step;
BitFit's own lrs are 1e-4 to 1e-3 where full fine-tuning takes 1e-5), and the zero-shot-initialised
head at the spec's lr unless `head: false` (BitFit trains its task's classification layer too).
The biases get no weight decay: AdamW's decay pulls towards zero, away from the pretrained biases
that the method is about keeping close; the head keeps the spec's.
Everything else stays at the zero-shot weights, so the run is an ordinary classifier throughout.
"""

from __future__ import annotations

from typing import Any

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext


def bias_parameters(model: ImageClassifier) -> list:
    """The image encoder's bias tensors, by name (`in_proj_bias`, `*.bias`)."""
    return [p for name, p in model.visual.named_parameters() if name.endswith("bias")]


@METHODS.register("bitfit")
class BitFit(Method):
    """Only the image encoder's biases (and the head) train."""

    hparams = (
        HParam("lr_factor", float, 10.0, "the biases' lr as a multiple of the spec's", space=(3.0, 10.0, 30.0)),
        HParam("head", bool, True, "train the zero-shot-initialised head too (at the spec's lr)"),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        model.requires_grad_(False)
        for p in bias_parameters(model):
            p.requires_grad_(True)
        model.head.requires_grad_(self.hp["head"])

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        groups = [{"params": bias_parameters(model), "lr": self.spec.lr * self.hp["lr_factor"], "weight_decay": 0.0}]
        if self.hp["head"]:
            groups.append({"params": [model.head]})
        return groups
