"""Lipsum-FT (Nam, Heo, Lee, ICLR 2024): fine-tuning regularised with random-text guidance.

Every step draws M random texts (L uniform token ids between SOT and EOT) shared by the batch,
encodes them with the frozen text encoder, and penalises how far the fine-tuned image features'
energies s<f(x), g(t)> move from those of the frozen zero-shot image encoder on the same
augmented batch:  R = mean_x sum_m (v_m(x; theta) - v_m(x; theta_0))^2 / (2M).
"""

from __future__ import annotations

import torch

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from ..models.tokenizers import random_token_sequences, sampleable_ids, text_token_ids
from .base import METHODS, Batch
from .context import RunContext
from .finetune import FineTune
from .frozen_features import FrozenFeatures


def lipsum_regulariser(features: torch.Tensor, reference_features: torch.Tensor,
                       text_features: torch.Tensor, scale: float) -> torch.Tensor:
    """R(theta) for normalised image features (B, D), reference features and text features (M, D)."""
    text = text_features.float()
    v = scale * features.float() @ text.T
    v0 = scale * reference_features.float() @ text.T
    return (v - v0).pow(2).sum(-1).mean() / (2 * text.shape[0])


TEXT_POOLS = ("vocabulary", "unnamed")


def unnamed_pool(ctx: RunContext) -> torch.Tensor:
    """The ordinary token ids that write no class name and no word of the prompt templates."""
    benchmark, tokenizer = ctx.workbench.benchmark, ctx.workbench.clip.tokenizer
    low, high = sampleable_ids(tokenizer)
    templates = [t.replace("{}", " ") for t in benchmark.templates]
    named = text_token_ids(tokenizer, [*benchmark.classes, *templates])
    pool = torch.tensor([i for i in range(low, high) if i not in named], dtype=torch.long)
    if not len(pool):
        raise ValueError("text_pool=unnamed leaves no token: every id writes a class or template word")
    return pool


@METHODS.register("lipsum")
class LipsumFT(FineTune):
    """FT + the random-text energy regulariser against the zero-shot model."""

    hparams = (
        HParam("lam", float, 1.0, "weight of the regulariser (the paper's lambda)", space=(0.5, 1.0, 2.0)),
        HParam("num_texts", int, 80, "M random texts per step, shared by the batch"),
        HParam("text_length", int, 8, "L random token ids between SOT and EOT"),
        HParam("text_pool", str, "vocabulary", "ids the random texts draw from: vocabulary (every ordinary "
               "id, as the paper) or unnamed (none of the tokens that write a class name or a prompt "
               "template, i.e. no class and no domain word)", choices=TEXT_POOLS),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.reference = ctx.zeroshot_reference(model)
        self.reference_features = FrozenFeatures(self.reference, ctx)
        self.pool = unnamed_pool(ctx) if self.hp["text_pool"] == "unnamed" else None
        self._texts: tuple[int, torch.Tensor] | None = None  # (optimiser step, text features)

    def text_features(self, ctx: RunContext) -> torch.Tensor:
        """This optimiser step's random texts, encoded: drawn once per step and shared by every
        micro-batch of gradient accumulation, as in the reference code."""
        if self._texts is None or self._texts[0] != ctx.step:
            workbench = ctx.workbench
            tokens = random_token_sequences(workbench.clip.tokenizer, self.hp["num_texts"], self.hp["text_length"],
                                            ctx.generator, workbench.clip.context_length, self.pool)
            self._texts = (ctx.step, workbench.encode_texts(tokens))
        return self._texts[1]

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        terms = super().loss_terms(batch, ctx)
        workbench = ctx.workbench
        text_features = self.text_features(ctx)
        reference = self.reference_features(batch.inputs)  # computed once per image without augmentation
        reg = lipsum_regulariser(batch.features, reference, text_features, workbench.logit_scale)
        terms["lipsum"] = self.hp["lam"] * reg
        return terms
