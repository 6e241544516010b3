"""The fine-tuned object: CLIP's image encoder plus a linear head, logits = s * f(x) W^T + b.

The head W starts as the zero-shot head (normalised class-prompt embeddings) and s is the
pretrained model's logit scale, held fixed, exactly as in Lipsum-FT and WiSE-FT. The bias b is a
fixed buffer, zero unless a linear probe (Kumar et al.'s, methods/linear_probe.py) set it; no
method trains it, so every fine-tuning method computes exactly what it did before b existed. The text tower is
not part of the classifier; regularisers that need it get the frozen CLIP from the run context.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .text import encode_text


class ImageClassifier(nn.Module):
    """Image encoder + head (+ fixed bias); forward returns (logits, normalised features)."""

    def __init__(self, visual: nn.Module, head: torch.Tensor, logit_scale: float) -> None:
        super().__init__()
        self.visual = visual
        self.head = nn.Parameter(head.detach().clone())
        self.register_buffer("logit_scale", torch.tensor(float(logit_scale)), persistent=True)
        self.register_buffer("bias", torch.zeros(head.shape[0], dtype=head.dtype), persistent=True)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.visual(images), dim=-1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(images)
        return self.logit_scale * features @ self.head.T.to(features.dtype) + self.bias.to(features.dtype), features

    def frozen_copy(self) -> "ImageClassifier":
        """A detached deep copy in eval mode with gradients off (the theta_0 reference)."""
        twin = copy.deepcopy(self).eval()
        for p in twin.parameters():
            p.requires_grad_(False)
        return twin


@torch.no_grad()
def zeroshot_head(clip: nn.Module, tokenizer, prompts_per_class: list[list[str]],
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """(K, D) head: per class, normalise each prompt embedding, average, normalise again."""
    rows = []
    for prompts in prompts_per_class:
        tokens = tokenizer(prompts).to(device)
        embeddings = F.normalize(encode_text(clip, tokens).float(), dim=-1)
        rows.append(F.normalize(embeddings.mean(0), dim=-1))
    return torch.stack(rows)


def interpolate_state(start: dict[str, torch.Tensor], end: dict[str, torch.Tensor], alpha: float
                      ) -> dict[str, torch.Tensor]:
    """(1 - alpha) * start + alpha * end for every floating tensor; others are taken from end."""
    if start.keys() != end.keys():
        raise ValueError(f"state dicts differ in keys: {sorted(set(start) ^ set(end))[:5]}")
    return {k: ((1 - alpha) * start[k] + alpha * end[k]) if end[k].is_floating_point() else end[k]
            for k in end}


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of `module`'s state on the CPU (resume states, the kept checkpoint): one
    copy per tensor, never an alias of the live weights."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def with_bias(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A classifier state_dict saved before the bias existed (spec version 2 and earlier) with
    its implicit zero bias made explicit."""
    if "bias" in state or "head" not in state:
        return state
    return {**state, "bias": torch.zeros(state["head"].shape[0], dtype=state["head"].dtype,
                                         device=state["head"].device)}
