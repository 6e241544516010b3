"""Model Stock (Jang, Yun, Han, ECCV 2024): two fine-tuned runs merged towards the pretrained weights.

From two runs of the base method that differ only in their seed, w1 and w2, and the pretrained
w0, every tensor l is merged on its own: with cos(theta_l) the cosine between the updates
w1 - w0 and w2 - w0 (flattened), t_l = 2 cos(theta_l) / (1 + cos(theta_l)) (the paper's
k cos / (1 + (k - 1) cos) at k = 2) and w_l = t_l (w1 + w2) / 2 + (1 - t_l) w0. Nearly
orthogonal updates (mostly noise) are pulled towards w0, aligned ones kept. Post hoc over the base
method's runs, like soups: 'ft+modelstock', 'lipsum+modelstock'; the planner asks for the second
run, the run of this spec's seed + `partner_offset` (so the seeds 0, 1, 2 of a sweep pair with
1000, 1001, 1002, never with each other: every merged pair is independent of the others).

As the official example notebook (naver-ai/model-stock's model_stock_example.ipynb, read through
its copies in fusion_bench and mergekit: the repository's own snapshot holds only a README), every
tensor of the state is merged with its own angle, the head included (a one-number tensor, such as
a learned logit scale, is averaged: the notebook leaves the logit scale out of the angles), and a
negative cosine gets no special case (t < 0 moves past w0; two seeds' updates of fine-tuned CLIP are positively aligned).
Where the harness differs: this is the paper's post-training form; its during-training form (merging
periodically as the runs train) is not implemented. The report counts the second run as Model
Stock's, not as a seed of the base method (records/requests.py logs requested seeds).
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from ..core.hparams import HParam
from ..core.spec import RunSpec
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .posthoc import PostHoc

State = dict[str, torch.Tensor]


def interpolation_ratio(cos: torch.Tensor, k: int = 2) -> torch.Tensor:
    """t = k cos / (1 + (k - 1) cos): the paper's ratio for k fine-tuned models (+1e-8 in the
    denominator, as the official notebook)."""
    return k * cos / (1 + (k - 1) * cos + 1e-8)


def layer_cosine(first: torch.Tensor, second: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """The cosine between two runs' updates of one tensor, flattened, clamped to [-1, 1]; 0 when
    either run left the tensor where it started (the official notebook's 1e-8 in the denominator)."""
    a, b = (first - start).flatten().double(), (second - start).flatten().double()
    return (a @ b / (a.norm() * b.norm() + 1e-8)).clamp(-1.0, 1.0)


def model_stock(first: State, second: State, start: State) -> tuple[State, dict[str, float]]:
    """The merged state and each merged tensor's ratio t. A tensor that a run left unmoved has
    cosine 0, so t = 0 and it stays at w0, as in the official notebook; a tensor that is not
    floating point is taken from the first run."""
    merged, ratios = {}, {}
    for key, w0 in start.items():
        w1, w2 = first[key], second[key]
        if not w0.is_floating_point():
            merged[key] = w1
            continue
        if w0.numel() == 1:  # two numbers' "angle" is 0 or 180 degrees: averaged, as the notebook's logit scale
            merged[key] = (w1 + w2) / 2
            continue
        t = interpolation_ratio(layer_cosine(w1, w2, w0))
        merged[key] = (t * (w1.double() + w2.double()) / 2 + (1 - t) * w0.double()).to(w0.dtype)
        ratios[key] = float(t)
    return merged, ratios


@METHODS.register("modelstock")
class ModelStock(PostHoc):
    """Post-hoc per-tensor merge of two seeds' runs towards the pretrained weights."""

    hparams = (HParam("partner_offset", int, 1000, "the second run is the base run at seed + this"),)

    def runs(self) -> list[RunSpec]:
        base = self.base_spec()
        return [base, base.replace(seed=base.seed + self.hp["partner_offset"])]

    def dependencies(self) -> list[RunSpec]:
        return self.runs()

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        first, second = (ctx.checkpoint_of(spec, fits=model) for spec in self.runs())
        start = {k: v.to(first[k].device) for k, v in ctx.workbench.zeroshot.state_dict().items()}
        merged, _ = model_stock(first, second, start)
        model.load_state_dict(merged)
        yield {}, model
