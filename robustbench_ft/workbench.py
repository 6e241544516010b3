"""The shared, read-only context of every run on one (benchmark, model): built once per process.

It holds the frozen pretrained CLIP (text tower for regularisers), the zero-shot classifier
(theta_0 and its head), the input pipeline, the fixed random texts of the energy-gap metric and a
cache of the zero-shot model's outputs per split, so a grid of runs pays for them once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .data.benchmark import Benchmark, ImageSet, load_benchmark
from .models.classifier import ImageClassifier, zeroshot_head
from .models.inputs import InputPipeline
from .models.loading import ClipBundle, load_clip
from .models.tokenizers import random_token_sequences

ENERGY_TEXTS = 80
ENERGY_TEXT_LENGTH = 8
ENERGY_TEXT_SEED = 123


@dataclass
class SplitOutputs:
    """What a classifier produced on a split: every metric is computed from these."""

    logits: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor


@dataclass
class Workbench:
    benchmark: Benchmark
    clip: ClipBundle
    device: torch.device
    zeroshot: ImageClassifier
    inputs: InputPipeline
    energy_text_features: torch.Tensor
    eval_batch_size: int = 512
    _zeroshot_outputs: dict[str, SplitOutputs] = field(default_factory=dict)

    @property
    def logit_scale(self) -> float:
        return float(self.zeroshot.logit_scale)

    def fresh_classifier(self) -> ImageClassifier:
        """A trainable copy of the zero-shot classifier on the workbench device."""
        model = self.zeroshot.frozen_copy()
        for p in model.parameters():
            p.requires_grad_(True)
        return model.train()

    @torch.no_grad()
    def predict(self, classifier: ImageClassifier, images: ImageSet) -> SplitOutputs:
        was_training = classifier.training
        classifier.eval()
        logits, features = [], []
        for x, _ in images.batches(self.eval_batch_size):
            out_logits, out_features = classifier(self.inputs.eval(x, self.device))
            logits.append(out_logits.float().cpu())
            features.append(out_features.float().cpu())
        classifier.train(was_training)
        return SplitOutputs(torch.cat(logits), torch.cat(features), images.labels)

    def zeroshot_outputs(self, split: str) -> SplitOutputs:
        if split not in self._zeroshot_outputs:
            self._zeroshot_outputs[split] = self.predict(self.zeroshot, self.benchmark.test_set(split))
        return self._zeroshot_outputs[split]

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised features of token rows from the frozen pretrained text encoder."""
        return encode_texts(self.clip, tokens, self.device)


@torch.no_grad()
def encode_texts(clip: ClipBundle, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
    return torch.nn.functional.normalize(clip.model.encode_text(tokens.to(device)).float(), dim=-1)


_OPEN: dict[tuple, Workbench] = {}


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def open_workbench(benchmark: str, model: str, pretrained: str | None,
                   device: torch.device | None = None) -> Workbench:
    """The workbench of (benchmark, model, weights), built on first use and then reused."""
    device = device or default_device()
    key = (benchmark, model, pretrained, str(device))
    if key not in _OPEN:
        _OPEN[key] = _build(load_benchmark(benchmark), load_clip(model, pretrained, device), device)
    return _OPEN[key]


def _build(bench: Benchmark, clip: ClipBundle, device: torch.device) -> Workbench:
    for p in clip.model.parameters():
        p.requires_grad_(False)
    head = zeroshot_head(clip.model, clip.tokenizer, [bench.prompts(c) for c in bench.classes], device)
    scale = float(clip.model.logit_scale.exp())
    zeroshot = ImageClassifier(clip.model.visual, head, scale).frozen_copy().to(device)
    tokens = random_token_sequences(clip.tokenizer, ENERGY_TEXTS, ENERGY_TEXT_LENGTH,
                                    torch.Generator().manual_seed(ENERGY_TEXT_SEED), clip.context_length)
    inputs = InputPipeline(clip.mean, clip.std, clip.image_size, bench.augment)
    return Workbench(bench, clip, device, zeroshot, inputs, encode_texts(clip, tokens, device).cpu())
