"""KD: fine-tuning distilled towards the zero-shot model's predictions (Hinton et al., 2015).

loss = CE + weight * T^2 * KL(softmax(z_0 / T) || softmax(z / T)), z_0 being the frozen
zero-shot classifier's logits on the same augmented batch. The T^2 factor keeps the term's
gradient scale independent of the temperature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS, Batch
from .context import RunContext
from .finetune import FineTune


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * mean over the batch of KL(teacher || student) at temperature T."""
    student = F.log_softmax(logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    return temperature ** 2 * F.kl_div(student, teacher, log_target=True, reduction="batchmean")


@METHODS.register("kd")
class KnowledgeDistillation(FineTune):
    """FT + KL towards the zero-shot model's predictions on the same batch."""

    hparams = (
        HParam("weight", float, 1.0, "weight of the distillation term", space=(0.5, 1.0, 2.0)),
        HParam("temperature", float, 1.0, "softmax temperature of both models"),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.teacher = ctx.zeroshot_reference(model)

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        with torch.no_grad():
            teacher_logits, _ = self.teacher(batch.inputs)
        terms["kd"] = self.hp["weight"] * distillation_loss(batch.logits, teacher_logits, self.hp["temperature"])
        return terms
