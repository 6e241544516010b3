"""FLYP (Goyal et al., CVPR 2023): fine-tune like you pretrain, with CLIP's contrastive loss.

Both towers train. Every image of a step is paired with a caption, one of the benchmark's prompt
templates filled with its class name (drawn at random per image and step: FLYP's datasets list
every image once per template), and the loss is CLIP's symmetric cross-entropy over the batch's
image-caption similarities at the learned temperature; captions of the same class are negatives
of each other, as in FLYP's training code (locuslab/FLYP, src/models/flyp_loss.py at 215d5bb calls
its ClipLoss without labels). With few classes that is most of a batch: 12 classes in a batch of
128 give each row about 10 same-class negatives, ImageNet about 0.1. `same_class_negatives:
false` leaves them out of the softmax, the `ignore=True` branch of FLYP's own ClipLoss, which its
scripts do not use. The logit scale trains too and is clamped to [0, ln 100] after each step, as
in CLIP's training.

The run delivers an ordinary classifier: the tuned image encoder with the zero-shot head that the
tuned text encoder builds from every template (Method.delivered_model), at the learned scale. So
selection scores it, the run keeps it, and post-hoc methods (`flyp+wise`, ...) apply unchanged;
`flyp+wise` interpolates that classifier, not the text tower itself as FLYP's WiSE-FT did.

The trainable text tower lives in the method (the classifier holds no text tower); its weights are
part of the method's resume state. In a multi-process run it has its own DistributedDataParallel
wrapper, and every process gathers the features of the whole global batch (with their gradients)
before the loss, as FLYP does, so a run's result does not depend on the number of processes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier, cpu_state, zeroshot_head
from ..models.text import encode_text
from .base import METHODS, Batch, Method
from .context import RunContext

MAX_LOG_SCALE = math.log(100.0)


def contrastive_loss(image_features: torch.Tensor, text_features: torch.Tensor, scale: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's loss: the mean of the image-to-text and text-to-image cross-entropies, pair i of the
    batch being the positive of row i and column i (features normalised, `scale` = exp(log scale)).
    With `labels`, a pair of two different items of the same class is left out of both softmax
    denominators instead of counting as a negative (FLYP's ClipLoss with `ignore=True`)."""
    logits = scale * image_features.float() @ text_features.float().T
    targets = torch.arange(len(logits), device=logits.device)
    if labels is not None:
        same_class = (labels[:, None] == labels[None, :]) & ~torch.eye(len(labels), dtype=torch.bool,
                                                                         device=labels.device)
        logits = logits.masked_fill(same_class.to(logits.device), float("-inf"))
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def gather(features: torch.Tensor, ctx: RunContext) -> torch.Tensor:
    """Every process's rows in rank order (the global batch), gradients flowing back to each owner.
    Every rank then computes the same global loss; autograd's all-gather sums the gradients the
    ranks send each shard and DDP averages over the ranks, which leaves the one-process gradient."""
    if ctx.shard[1] == 1:
        return features
    from torch.distributed.nn.functional import all_gather
    return torch.cat(all_gather(features.contiguous()))


class TextTower(nn.Module):
    """A trainable copy of CLIP without its image tower: the text encoder and the log logit scale."""

    def __init__(self, clip: nn.Module) -> None:
        super().__init__()
        # deepcopy's memo maps the image tower to None, so only the text side is copied
        self.clip = copy.deepcopy(clip, memo={id(clip.visual): None})
        for p in self.clip.parameters():
            p.requires_grad_(True)

    @property
    def log_scale(self) -> nn.Parameter:
        return self.clip.logit_scale

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.normalize(encode_text(self.clip, tokens), dim=-1)


@METHODS.register("flyp")
class FLYP(Method):
    """Contrastive fine-tuning of both towers against class-prompt captions; zero-shot head at eval."""

    averages_linearly = False  # its head comes from the text tower it trains

    hparams = (HParam("same_class_negatives", bool, True,
                      "count the captions of an image's own class (other items of the batch) as its negatives, "
                      "as FLYP's training code does; false: leave them out of the softmax (FLYP's ClipLoss "
                      "ignore=True)"),)

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        workbench = ctx.workbench
        model.head.requires_grad_(False)  # the head is rebuilt from the text tower, never trained
        self.workbench = workbench
        self.text = TextTower(workbench.clip.model).to(workbench.device).train(model.training)
        self.text_forward = ctx.wrap(self.text)
        classes, templates = workbench.benchmark.classes, workbench.benchmark.templates
        captions = [t.format(c) for c in classes for t in templates]  # row k * T + j: class k, template j
        self.caption_tokens = workbench.clip.tokenizer(captions)
        self.templates = len(templates)

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        return [*super().param_groups(model), {"params": list(self.text.parameters())}]

    def captions(self, labels: torch.Tensor, ctx: RunContext) -> torch.Tensor:
        """One caption's tokens per label: its class under a template drawn from the run's generator.
        Templates are drawn for the whole global batch and each process takes its shard's, so the
        captions do not depend on the number of processes."""
        rank, world = ctx.shard
        template = torch.randint(self.templates, (len(labels) * world,), generator=ctx.generator)
        mine = template[rank * len(labels):(rank + 1) * len(labels)]
        return self.caption_tokens[labels.cpu() * self.templates + mine].to(self.workbench.device)

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        text_features = self.text_forward(self.captions(batch.labels, ctx))
        images, texts = gather(batch.features, ctx), gather(text_features, ctx)
        return {"clip": self.contrastive(images, texts, batch.labels, ctx)}

    def contrastive(self, images: torch.Tensor, texts: torch.Tensor, labels: torch.Tensor,
                    ctx: RunContext) -> torch.Tensor:
        """CLIP's loss over the global batch's (gathered) features at the learned scale, same-class
        captions counted as the `same_class_negatives` setting says."""
        masked = None if self.hp["same_class_negatives"] else gather(labels, ctx)
        return contrastive_loss(images, texts, self.text.log_scale.exp(), masked)

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        with torch.no_grad():
            self.text.log_scale.clamp_(0, MAX_LOG_SCALE)

    def delivered_model(self, model: ImageClassifier) -> ImageClassifier:
        """The tuned image encoder, the tuned text tower's zero-shot head and its learned scale."""
        workbench = self.workbench
        was_training = self.text.training
        head = zeroshot_head(self.text.eval().clip, workbench.clip.tokenizer,
                             [workbench.benchmark.prompts(c) for c in workbench.benchmark.classes], workbench.device)
        self.text.train(was_training)
        delivered = ImageClassifier(model.visual, head.to(model.head.dtype), self.text.log_scale.exp().item())
        delivered = delivered.to(model.head.device)
        delivered.bias.copy_(model.bias)
        return delivered

    def state_dict(self) -> dict[str, Any]:
        return {"text": cpu_state(self.text)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.text.load_state_dict(state["text"])
