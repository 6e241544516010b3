"""What a method is: a set of hooks the shared trainer and evaluator call.

The trainer never names a method. A method decides which parameters train (`param_groups`), what
the loss is (`loss_terms`, summed by the trainer), what happens after each optimiser step
(`after_step`), which finished runs it builds on (`dependencies`) and which models get evaluated
once training is over (`variants`: the trained model itself, or e.g. one WiSE interpolation per
alpha). Methods register by decorator in METHODS; `a+b` composes a post-hoc method b onto a.
Each method declares its hyper-parameters once, as `HParam`s on its class; it reads their typed
values from `self.hp`. Its label, reference and description live in its preset (method_info.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

import torch
import torch.nn.functional as F

from ..core.hparams import HParam, check_part
from ..models.classifier import ImageClassifier, with_bias
from ..engine.distributed import SINGLE, DistEnv
from ..core.config import ConfigError
from ..records.legacy import load_checkpoint, run_dir
from ..core.registry import Registry
from ..core.spec import RunSpec
from ..engine.workbench import Workbench


class MethodRegistry(Registry[type["Method"]]):
    """Registers a method class under a name and tells the class its name (one place, the decorator)."""

    def register(self, name: str):
        add = super().register(name)

        def decorate(cls: type["Method"]) -> type["Method"]:
            cls.name = name
            return add(cls)
        return decorate


METHODS = MethodRegistry("method")


@dataclass
class Batch:
    """One training micro-batch after the forward pass: what loss terms are computed from."""

    inputs: torch.Tensor
    labels: torch.Tensor
    logits: torch.Tensor
    features: torch.Tensor


@dataclass
class RunContext:
    """Per-run state handed to hooks: the spec, the shared workbench, the run's own RNG."""

    spec: RunSpec
    bench: Workbench
    results_root: Path
    generator: torch.Generator
    step: int = 0
    dist: DistEnv = SINGLE  # this process's rank in a multi-process (DDP) run

    def zeroshot_reference(self, model: ImageClassifier) -> ImageClassifier:
        """theta_0, frozen, for regularisers that compare the tuned model with it (Lipsum-FT, KD,
        CAR-FT). It runs in the tuned model's mode (CLIP has no dropout) so that both forwards take
        the same attention kernels and a term comparing them is exactly 0 while theta == theta_0."""
        return self.bench.zeroshot.frozen_copy().train(model.training)

    def checkpoint_of(self, spec: RunSpec, fits: ImageClassifier | None = None) -> dict[str, torch.Tensor]:
        """The selected state_dict of a finished run this run depends on; with `fits`, checked
        to hold exactly that model's tensors and shapes (a clear error, not a size mismatch deep down)."""
        state = with_bias(load_checkpoint(self.results_root, spec, map_location=self.bench.device))
        if fits is not None:
            expected = {k: tuple(v.shape) for k, v in fits.state_dict().items()}
            found = {k: tuple(v.shape) for k, v in state.items()}
            if found != expected:
                wrong = sorted(k for k in expected.keys() | found.keys() if expected.get(k) != found.get(k))
                raise ConfigError(
                    f"the checkpoint of {spec.method} (seed {spec.seed}) at {run_dir(self.results_root, spec)} "
                    f"does not fit model {self.spec.model}: {len(wrong)} tensors differ, e.g. {wrong[0]} is "
                    f"{found.get(wrong[0])} there, {expected.get(wrong[0])} here")
        return state


class Method:
    """Plain cross-entropy fine-tuning of everything the classifier holds; subclasses adjust."""

    name: ClassVar[str] = "base"  # set by @METHODS.register
    trains: ClassVar[bool] = True
    keeps_weights: ClassVar[bool] = False  # fits weights without the trainer (LP) and keeps them too
    hparams: ClassVar[tuple[HParam, ...]] = ()

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.hp: dict[str, Any] = resolve_hparams(spec)[self.name]

    def dependencies(self) -> list[RunSpec]:
        return []

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Prepare the fresh zero-shot-initialised classifier before training."""

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]

    def loss_terms(self, batch: Batch, ctx: RunContext) -> dict[str, torch.Tensor]:
        return {"ce": F.cross_entropy(batch.logits.float(), batch.labels)}

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Called after every optimiser step (EMA, projections, ...)."""

    def delivered_model(self, model: ImageClassifier) -> ImageClassifier:
        """The weights this run delivers: what the trainer scores for model selection and keeps.
        The trained model itself, or a function of it such as its moving average (EMA)."""
        return model

    def state_dict(self) -> dict[str, Any]:
        """What the method carries across steps (EMA weights, ...), saved with the trainer's state.
        Its random draws come from the run context's generator, which the trainer saves itself."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, when a run resumes."""

    def evaluated_variants(self) -> int:
        """How many models `variants` yields (for cost estimates)."""
        return 1

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        """The models to evaluate, each with the fields that tell it apart (e.g. alpha). They are
        evaluated together, every batch run through each (Workbench.predict_each), so a module
        must stay valid after later ones are yielded: yield distinct modules, not one mutated."""
        yield {}, model


def build_method(spec: RunSpec) -> Method:
    """The method object of a spec; 'a+b' is post-hoc method b applied to a's run."""
    return method_class(spec.parts[-1])(spec)


def method_class(name: str) -> type[Method]:
    from . import catalogue  # noqa: F401  (registers every method)
    return METHODS.get(name)


def resolve_hparams(spec: RunSpec) -> dict[str, dict[str, Any]]:
    """Every part's typed hyper-parameters with defaults filled in; a bad key or type raises."""
    given = spec.hparams_dict()
    owners: dict[str, list[str]] = {}
    for name in METHODS.names():
        for declared in method_class(name).hparams:
            owners.setdefault(declared.name, []).append(name)
    resolved = {}
    for part in spec.parts:
        resolved[part] = check_part(part, method_class(part).hparams, given.get(part, {}), owners)
    return resolved


def completed(spec: RunSpec) -> RunSpec:
    """`spec` with every declared hyper-parameter filled in (same identity: defaults are not in it)."""
    return spec.replace(hparams=resolve_hparams(spec))


def non_default_hparams(spec: RunSpec) -> dict[str, dict[str, Any]]:
    """The hyper-parameters that differ from their declared defaults, per part (for identity)."""
    out = {}
    for part, values in resolve_hparams(spec).items():
        defaults = {h.name: h.default for h in method_class(part).hparams}
        changed = {k: v for k, v in values.items() if v != defaults[k]}
        if changed:
            out[part] = changed
    return out
