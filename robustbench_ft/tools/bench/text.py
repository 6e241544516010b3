"""The zero-shot head's text side at ViT-B-16 scale: prompts encoded at their own length against
CLIP's full context of 77 tokens (models/text.py).

DomainNet's head is 345 classes x 80 OpenAI templates, ImageNet's 1,000 x 80; the head encodes
each class's 80 prompts as one batch, so that is what is timed, for a seeded sample of classes,
both ways alternately. The class names are ImageNet's, which open_clip ships (DomainNet's come
with its data); both are short English names, a few BPE tokens each.
"""

from __future__ import annotations

import random

import torch
from open_clip import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

from ...models.loading import load_clip
from ...models.text import encode_text
from .timing import Ratio, alternate, ratio, spread


def head_context_ratios(model: str = "ViT-B-16", classes: int = 2, rounds: int = 3) -> dict[str, Ratio]:
    """{short / full, seconds per class (80 prompts) at context 77, the same at their own length}."""
    clip = load_clip(model, None, "cpu")
    picked = random.Random(0).sample(list(IMAGENET_CLASSNAMES), classes)
    batches = [clip.tokenizer([template(name) for template in OPENAI_IMAGENET_TEMPLATES]) for name in picked]

    @torch.no_grad()
    def full() -> None:
        for tokens in batches:
            clip.model.encode_text(tokens)

    @torch.no_grad()
    def short() -> None:
        for tokens in batches:
            encode_text(clip.model, tokens)

    times = alternate({"full": full, "short": short}, rounds)
    per_class = {name: spread([t / classes for t in values]) for name, values in times.items()}
    return {"short / full": ratio(times, "short", "full"), "full (s/class)": per_class["full"],
            "short (s/class)": per_class["short"]}
