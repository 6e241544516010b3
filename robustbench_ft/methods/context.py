"""What a method sees of its run: a small protocol, implemented by the engine (engine/context.py).

A method reads its spec, the shared frozen models of its (benchmark, model) and a few services:
the frozen zero-shot classifier as a reference, a finished run's weights it builds on, validation
accuracy, DDP wrapping, and the autocast the trainer runs under. It never sees a run folder, the launcher, the CLI or the report, so a
method is one small file that any engine (or a test double) can drive.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import torch
from torch import nn

from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier

if TYPE_CHECKING:  # annotations only: planning imports the methods, and these bring open_clip and torchvision
    from ..data.benchmark import Benchmark, Split
    from ..models.inputs import InputPipeline
    from ..models.loading import ClipBundle


class Outputs(Protocol):
    """A classifier's outputs on a split, row by row."""

    logits: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor


class ArtifactCache(Protocol):
    """Tensors computed once per (model, weights, benchmark, templates) and shared by every run."""

    def get_or_make(self, name: str, make: Callable[[], Any]) -> Any: ...


class SharedModels(Protocol):
    """The read-only workbench of a (benchmark, model): frozen CLIP, zero-shot classifier, inputs."""

    benchmark: Benchmark
    clip: ClipBundle             # the frozen pretrained CLIP (its text tower for regularisers)
    device: torch.device
    zeroshot: ImageClassifier    # theta_0 with the zero-shot head
    inputs: InputPipeline
    store: ArtifactCache

    @property
    def logit_scale(self) -> float: ...

    def encode_texts(self, tokens: torch.Tensor) -> torch.Tensor:
        """Normalised features of token rows from the frozen text tower."""

    def predict(self, classifier: nn.Module, images: Split, what: str = "predicting", cache: bool = True) -> Outputs:
        """Outputs on every image of a split; `what` names the pass on its progress bar; `cache`:
        keep the split's decoded pixels for later evaluations (not for a training split)."""

    def predict_each(self, classifiers: Sequence[nn.Module], images: Split,
                     what: str = "predicting", cache: bool = True) -> list[Outputs]: ...


class RunContext(Protocol):
    """Per-run state handed to a method's hooks."""

    spec: RunSpec
    workbench: SharedModels
    generator: torch.Generator   # the run's own random stream (saved and restored on resume)
    step: int                    # the optimiser step being taken
    shard: tuple[int, int]       # (rank, world size) of this process in a multi-process run

    @property
    def precision(self) -> str:
        """'bf16' or 'fp32': the precision of the trainer's forwards."""

    def autocast(self) -> AbstractContextManager:
        """The autocast the trainer's forwards and loss terms run under: anything a method
        precomputes to compare with them (frozen features) must be computed under it too."""

    def zeroshot_reference(self, model: ImageClassifier) -> ImageClassifier:
        """theta_0, frozen, in `model`'s mode: a term comparing the two is exactly 0 at the start."""

    def checkpoint_of(self, spec: RunSpec, fits: ImageClassifier | None = None) -> dict[str, torch.Tensor]:
        """The selected weights of a finished run this run depends on (checked to fit `fits`)."""

    def val_accuracy(self, model: nn.Module) -> float:
        """Accuracy on the ID validation split: the model-selection signal."""

    def wrap(self, module: nn.Module) -> nn.Module:
        """`module` in DistributedDataParallel when the run has several processes, else itself."""
