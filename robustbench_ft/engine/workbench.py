"""The shared, read-only context of every run on one (benchmark, model): built once per process.

It holds the frozen pretrained CLIP (text tower for regularisers), the zero-shot classifier
(theta_0 and its head), the input pipeline, the fixed random texts of the energy-gap metric and
the zero-shot model's outputs per split. The head, the texts' features and the outputs come from
an ArtifactStore: files under the results folder when a run gives one, so every process and job
of a sweep reads what the first one computed (artifacts.py). The same folder holds the decoded
evaluation pixels of file-backed splits (data/eval_cache.py).
"""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ..core.identity import artifacts_key
from ..core.spec import RunSpec
from ..data.benchmark import Benchmark, Split, load_benchmark
from ..data.eval_cache import CACHE_DIR_ENV
from ..data.low_shot import LowShot
from ..models.classifier import ImageClassifier, zeroshot_head
from ..models.inputs import InputPipeline
from ..models.loading import ClipBundle, load_clip
from ..models.text import encode_text
from ..models.tokenizers import random_token_sequences
from ..records.layout import ResultsTree
from .artifacts import ArtifactStore
from .progress import DataPass

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
    store: ArtifactStore = field(default_factory=lambda: ArtifactStore(None))
    eval_batch_size: int = 512
    eval_cache: Path | None = None  # the folder of file splits' decoded evaluation pixels (None: decode each time)
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

    def predict(self, classifier: nn.Module, images: Split, what: str = "predicting",
                cache: bool = True) -> SplitOutputs:
        """Outputs on every image the split yields (a skipped undecodable file has no row)."""
        return self.predict_each([classifier], images, what, cache)[0]

    @torch.no_grad()
    def predict_each(self, classifiers: Sequence[nn.Module], images: Split,
                     what: str = "predicting", cache: bool = True) -> list[SplitOutputs]:
        """Each classifier's outputs on the split, in one pass over it: every batch is decoded and
        transformed once and run through every classifier while it is in memory (WiSE's 11 alphas
        cost one pass of data loading, not 11). Outputs equal separate `predict` calls exactly.
        `what` names the pass on its progress bar and log line (progress.py); without `cache` a
        file split is decoded as it is read, its pixels not kept (a training split read once)."""
        modes = [c.training for c in classifiers]
        for c in classifiers:
            c.eval()
        logits: list[list[torch.Tensor]] = [[] for _ in classifiers]
        features: list[list[torch.Tensor]] = [[] for _ in classifiers]
        labels = []
        with DataPass(what, len(images), len(classifiers)) as progress:
            for x, y in images.eval_batches(self.eval_batch_size, self.inputs, self.device, cache=self.eval_cache if cache else None):
                for i, classifier in enumerate(classifiers):
                    out_logits, out_features = classifier(x)
                    logits[i].append(out_logits.float().cpu())
                    features[i].append(out_features.float().cpu())
                labels.append(y.cpu())
                progress.done(len(y))
        for c, mode in zip(classifiers, modes):
            c.train(mode)
        return [SplitOutputs(torch.cat(lo), torch.cat(fe), torch.cat(labels)) for lo, fe in zip(logits, features)]

    def zeroshot_outputs(self, split: str) -> SplitOutputs:
        if split not in self._zeroshot_outputs:
            stored = self.store.get_or_make(
                f"zeroshot-{split}",
                lambda: vars(self.predict(self.zeroshot, self.benchmark.test_set(split), f"zero-shot outputs, {split}")))
            self._zeroshot_outputs[split] = SplitOutputs(**stored)
        return self._zeroshot_outputs[split]

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised features of token rows from the frozen pretrained text encoder."""
        return encode_texts(self.clip, tokens, self.device)


@torch.no_grad()
def encode_texts(clip: ClipBundle, tokens: torch.Tensor, device: torch.device) -> torch.Tensor:
    return torch.nn.functional.normalize(encode_text(clip.model, tokens.to(device)).float(), dim=-1)


OPEN_WORKBENCHES = 2  # (benchmark, model) combinations a process keeps open: each holds a CLIP
_OPEN: "OrderedDict[tuple, Workbench]" = OrderedDict()


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def open_workbench(benchmark: str, model: str, pretrained: str | None,
                   device: torch.device | None = None, *, data_root: str | None = None,
                   workers: int | None = None, templates: str | None = None,
                   artifacts: Path | None = None, eval_cache: Path | None = None,
                   shots: int | None = None) -> Workbench:
    """The workbench of (benchmark, model, weights, templates), built on first use and reused
    while it is among the OPEN_WORKBENCHES most recently used (a job that packs runs of many
    models keeps two CLIPs in memory, not one per model).

    `artifacts` is the folder of this combination's zero-shot artifacts (None: kept in memory),
    `eval_cache` the folder of its evaluation cache (None: beside the artifacts). With `shots`, the
    workbench of the full benchmark seen through K images a class (data/low_shot.py): the same
    CLIP, head and zero-shot outputs, so a job packing several shot counts loads the model once.
    """
    device = device or default_device()
    eval_cache = eval_cache or artifacts
    key = (benchmark, model, pretrained, str(device), data_root, workers, templates, str(artifacts), str(eval_cache))
    if shots is not None:
        full = open_workbench(benchmark, model, pretrained, device, data_root=data_root, workers=workers,
                              templates=templates, artifacts=artifacts, eval_cache=eval_cache)
        return dataclasses.replace(full, benchmark=LowShot(full.benchmark, shots))  # shares the zero-shot outputs
    if key in _OPEN:
        _OPEN.move_to_end(key)
        return _OPEN[key]
    loaded = load_benchmark(benchmark, data_root=data_root, workers=workers, templates=templates)
    loaded.check_available()  # missing data fails here, before the model loads
    while len(_OPEN) >= OPEN_WORKBENCHES:
        _OPEN.popitem(last=False)  # the least recently used goes first
    _OPEN[key] = _build(loaded, load_clip(model, pretrained, device), device, ArtifactStore(artifacts))
    _OPEN[key].eval_cache = eval_cache
    return _OPEN[key]


def workbench_for(spec: RunSpec, results_root: Path | None, device: torch.device | None = None) -> Workbench:
    """The workbench a run uses, its zero-shot artifacts shared under `results_root`, its
    evaluation cache under the spec's `cache_dir` (else $ROBUSTBENCH_FT_CACHE_DIR, else beside the
    artifacts)."""
    key = artifacts_key(spec)
    artifacts = None if results_root is None else ResultsTree(results_root).artifacts(key)
    cache_dir = spec.cache_dir or os.environ.get(CACHE_DIR_ENV)
    return open_workbench(spec.benchmark, spec.model, spec.pretrained, device, data_root=spec.data_root,
                          workers=spec.workers, templates=spec.templates, artifacts=artifacts,
                          eval_cache=Path(cache_dir) / key if cache_dir else None, shots=spec.shots)


def _build(benchmark: Benchmark, clip: ClipBundle, device: torch.device, store: ArtifactStore) -> Workbench:
    for p in clip.model.parameters():
        p.requires_grad_(False)
    head = store.get_or_make("head", lambda: zeroshot_head(
        clip.model, clip.tokenizer, [benchmark.prompts(c) for c in benchmark.classes], device).cpu()).to(device)
    scale = float(clip.model.logit_scale.exp())
    zeroshot = ImageClassifier(clip.model.visual, head, scale).frozen_copy().to(device)
    tokens = random_token_sequences(clip.tokenizer, ENERGY_TEXTS, ENERGY_TEXT_LENGTH,
                                    torch.Generator().manual_seed(ENERGY_TEXT_SEED), clip.context_length)
    energy = store.get_or_make("energy_texts", lambda: encode_texts(clip, tokens, device).cpu())
    inputs = InputPipeline(clip.mean, clip.std, clip.image_size, benchmark.augment, clip.interpolation,
                           clip.resize_mode)
    return Workbench(benchmark, clip, device, zeroshot, inputs, energy, store, eval_batch_size(device))


def eval_batch_size(device: torch.device) -> int:
    """Images per evaluation forward: 512 on a GPU; 128 on a CPU, where a batch's activations
    then stay in cache (the tiny CLIP: 0.27 against 0.35 ms per image at 512, on 2 cores). Outputs
    do not depend on it (each image's forward is its own row; checked bit for bit in the tests)."""
    return 512 if device.type == "cuda" else 128
