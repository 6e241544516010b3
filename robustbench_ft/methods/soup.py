"""Model soups (Wortsman et al., ICML 2022): average the weights of fine-tuned runs that share a
pretrained model ('ft+soup', 'lipsum+soup').

The ingredients are the base method's runs of the same request at learning rates `lr_factors`
times the spec's (the same seed), the kind of hyper-parameter sweep the paper soups over. The
uniform soup averages them all; the greedy soup takes them in order of ID validation accuracy
and keeps each one only if the average with it scores no lower on ID validation. Greedy soups
therefore use the validation split for a choice, as model selection does.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import torch

from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .posthoc import PostHoc

SOUPS = ("uniform", "greedy")
State = dict[str, torch.Tensor]


def average(states: list[State]) -> State:
    """The uniform average of floating tensors; other tensors from the first state."""
    first = states[0]
    return {k: (sum(s[k] for s in states) / len(states)) if v.is_floating_point() else v for k, v in first.items()}


def greedy_soup(states: list[State], score: Callable[[State], float]) -> tuple[State, list[int]]:
    """Ingredients in decreasing order of their own score, each kept only if the soup with it
    scores no lower; returns the soup and the indices kept."""
    order = sorted(range(len(states)), key=lambda i: score(states[i]), reverse=True)
    kept = [order[0]]
    best = score(states[order[0]])
    for index in order[1:]:
        candidate = score(average([states[i] for i in kept + [index]]))
        if candidate >= best:
            kept, best = kept + [index], candidate
    return average([states[i] for i in kept]), kept


@METHODS.register("soup")
class Soup(PostHoc):
    """Post-hoc weight average of the base method's runs at several learning rates (uniform or greedy)."""

    hparams = (
        HParam("kind", str, "greedy", "uniform: average every ingredient; greedy: keep those that help "
               "on ID validation", choices=SOUPS),
        HParam("lr_factors", list[float], [0.5, 1.0, 2.0], "ingredients: the base run at these multiples of lr"),
    )

    def ingredients(self) -> list[RunSpec]:
        base = self.base_spec()
        return [base.replace(lr=base.lr * factor) for factor in self.hp["lr_factors"]]

    def dependencies(self) -> list[RunSpec]:
        return self.ingredients()

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        states = [ctx.checkpoint_of(spec, fits=model) for spec in self.ingredients()]

        def score(state: State) -> float:
            model.load_state_dict(state)
            return ctx.val_accuracy(model)

        soup = average(states) if self.hp["kind"] == "uniform" else greedy_soup(states, score)[0]
        model.load_state_dict(soup)
        yield {}, model
