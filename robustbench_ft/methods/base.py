"""What a method is: a set of hooks the shared trainer and evaluator call.

The trainer never names a method. A method decides which parameters train (`param_groups`), what
the loss is (`loss_terms`, summed by the trainer), what happens after each optimiser step
(`after_step`), which finished runs it builds on (`dependencies`) and which models get evaluated
once training is over (`variants`: the trained model itself, or e.g. one WiSE interpolation per
alpha). Methods register by decorator in METHODS; `a+b` composes a post-hoc method b onto a, or
modifies a's training with a modifier b such as EMA (modifier.py), which the method carries in
`modifiers` and the trainer calls beside the method's own hooks.
Each method declares its hyper-parameters once, as `HParam`s on its class; it reads their typed
values from `self.hp`. Its label, reference and description live in its preset (core/method_info.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

import torch
import torch.nn.functional as F

from ..core.declarations import DECLARATIONS, IMPLIED_METHOD, resolve_hparams
from ..core.hparams import HParam
from ..core.registry import Registry
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .context import RunContext
from .modifier import Modifier, is_modifier


class MethodRegistry(Registry[type[Any]]):
    """Registers a method class under a name, tells the class its name and declares its
    hyper-parameters to the core (core/declarations.py): one place, the decorator."""

    def register(self, name: str):
        add = super().register(name)

        def decorate(cls: type[Any]) -> type[Any]:  # a Method or a Modifier
            cls.name = name
            add(cls)
            DECLARATIONS.declare(name, cls.hparams, trains=cls.trains, modifies=is_modifier(cls))
            return cls
        return decorate

    def unregister(self, name: str) -> None:
        super().unregister(name)
        DECLARATIONS.withdraw(name)


METHODS = MethodRegistry("method")


@dataclass
class Batch:
    """One training micro-batch after the forward pass: what loss terms are computed from."""

    inputs: torch.Tensor
    labels: torch.Tensor
    logits: torch.Tensor
    features: torch.Tensor


class Method:
    """Plain cross-entropy fine-tuning of everything the classifier holds; subclasses adjust."""

    name: ClassVar[str] = "base"  # set by @METHODS.register
    trains: ClassVar[bool] = True
    keeps_weights: ClassVar[bool] = False  # fits weights without the trainer (LP) and keeps them too
    # whether averaging its trained weights averages the models it delivers (EMA applies): not FLYP's
    # (its head comes from its text tower), not LoRA's (W + BA is not linear in the factors)
    averages_linearly: ClassVar[bool] = True
    hparams: ClassVar[tuple[HParam, ...]] = ()

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        hparams = resolve_hparams(spec)
        if self.name == IMPLIED_METHOD and self.name not in hparams:  # 'ema' is FT modified: FT's defaults
            hparams[self.name] = {h.name: h.default for h in self.hparams}
        self.hp: dict[str, Any] = hparams[self.name]
        self.modifiers: tuple[Modifier, ...] = ()  # set by build_method from the spec's modifier parts

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

    def finish(self, model: ImageClassifier) -> None:
        """Called once training ends, before the selected weights are loaded into `model`: undo
        what `setup` changed of the model's structure (LoRA's adapters), so that it holds the
        tensors of the delivered model."""

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
    """The method object of a spec: 'a+b' is post-hoc method b applied to a's run, or, when b is
    a modifier, method a trained with b's hooks ('ema' alone: FT with them)."""
    parts = spec.parts
    if not DECLARATIONS.modifies(parts[-1]):
        return method_class(parts[-1])(spec)
    modifiers = [part for part in parts if DECLARATIONS.modifies(part)]
    method = method_class(IMPLIED_METHOD if parts[0] in modifiers else parts[0])(spec)
    method.modifiers = tuple(method_class(part)(spec) for part in modifiers)
    for modifier in method.modifiers:
        modifier.check(method)
    return method


def method_class(name: str) -> type[Any]:
    """The class registered under `name`: a Method, or a Modifier (modifier.py)."""
    return METHODS.get(name)
