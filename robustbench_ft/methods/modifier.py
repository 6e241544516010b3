"""Modifiers: properties of a training run that any trained method can take ('lipsum+ema').

A weight average is not a method of its own: it is a callback on whatever the trainer trains, as
Lightning's Callback is to its Trainer. A modifier is named after the trained method it modifies
('lipsum+ema', 'l2sp+ema'); alone it modifies plain fine-tuning ('ema' is FT with the modifier,
written so since before modifiers existed, so its runs keep their names; 'ft+ema' is the same run
and canonical_method writes it 'ema'). A post-hoc method composes onto the modified run as onto any
other ('lipsum+ema+wise').

The trainer calls a modifier's hooks after the method's own: `setup` on the fresh model, `after_step`
after each optimiser step, `delivered_weights` for the weights the method then builds what the run
delivers from (`Method.delivered_model`: what selection scores and the run keeps), and
`state_dict`/`load_state_dict` with the resume state. A modifier declares its
hyper-parameters as a method does and registers in METHODS, so `list`, identities and sweeps treat
its part as any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..core.declarations import resolve_hparams
from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .context import RunContext

if TYPE_CHECKING:
    from .base import Method

class Modifier:
    """Hooks the trainer calls around any trained method; subclasses override what they need."""

    name: ClassVar[str] = "modifier"  # set by @METHODS.register
    trains: ClassVar[bool] = True
    modifies: ClassVar[bool] = True
    keeps_weights: ClassVar[bool] = False
    hparams: ClassVar[tuple[HParam, ...]] = ()

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.hp: dict[str, Any] = resolve_hparams(spec)[self.name]

    def check(self, method: "Method") -> None:
        """Raise a ConfigError when this modifier cannot apply to `method`."""

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Called on the fresh model after the method's own setup, before training."""

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        """Called after every optimiser step, after the method's own `after_step`."""

    def delivered_weights(self, model: ImageClassifier) -> ImageClassifier:
        """The weights the method delivers its model from in place of the trained ones (EMA: their
        average); the method's `delivered_model` is applied to what this returns."""
        return model

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, when a run resumes."""


def is_modifier(cls: type) -> bool:
    return bool(getattr(cls, "modifies", False))
