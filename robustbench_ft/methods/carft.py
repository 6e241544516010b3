"""CAR-FT (Mao et al., 2022): fine-tuning that keeps the zero-shot model's reading of context.

Each prompt template is a context (a photo of, a sketch of, ...); its embedding is the normalised
mean over classes of the template's class prompts under the frozen text encoder. An image's
context distribution is softmax over contexts of s<f(x), t_k>; the term is
weight * KL(p_theta0(context | x) || p_theta(context | x)), zero at theta_0, so the tuned image
encoder keeps the pretrained model's sense of domain and style while the head learns the task.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier, zeroshot_head
from .base import METHODS, Batch
from .context import RunContext
from .finetune import FineTune
from .frozen_features import FrozenFeatures


def context_kl(features: torch.Tensor, reference_features: torch.Tensor, contexts: torch.Tensor,
               scale: float) -> torch.Tensor:
    """Mean over the batch of KL(p_ref || p) for context distributions softmax(s f . contexts^T)."""
    log_p = F.log_softmax(scale * features.float() @ contexts.float().T, dim=-1)
    log_q = F.log_softmax(scale * reference_features.float() @ contexts.float().T, dim=-1)
    return F.kl_div(log_p, log_q, log_target=True, reduction="batchmean")


@METHODS.register("carft")
class ContextAwareFineTune(FineTune):
    """FT + KL between the zero-shot and the tuned model's distributions over prompt contexts."""

    hparams = (HParam("weight", float, 1.0, "weight of the context KL term", space=(0.1, 1.0, 10.0)),)

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        workbench = ctx.workbench
        self.reference = ctx.zeroshot_reference(model)
        self.reference_features = FrozenFeatures(self.reference, ctx)
        templates = workbench.benchmark.templates
        if len(templates) < 2:
            raise ValueError("CAR-FT needs at least 2 prompt templates (contexts); the benchmark has "
                             f"{len(templates)}")
        prompts = [[t.format(c) for c in workbench.benchmark.classes] for t in templates]
        self.contexts = zeroshot_head(workbench.clip.model, workbench.clip.tokenizer, prompts, workbench.device)

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        reference = self.reference_features(batch.inputs)  # computed once per image without augmentation
        terms["carft"] = self.hp["weight"] * context_kl(batch.features, reference, self.contexts,
                                                        ctx.workbench.logit_scale)
        return terms
