"""TPGM (Tian et al., CVPR 2023), post hoc: project a fine-tuned run into per-layer balls around
the zero-shot weights, the radii learned on the ID validation split ('ft+tpgm', 'lipsum+tpgm').

For every tensor l that fine-tuning moved, d_l = theta_l - theta0_l; the projection onto the ball
of radius gamma_l around theta0_l is theta0_l + min(1, gamma_l / |d_l|) d_l. The radii are
gamma_l = sigmoid(s_l) |d_l|, the s_l learned by Adam on the cross-entropy of the projected model
on the ID validation split (TPGM's projection update on held-out data), from s_l = `init` (a
projection close to the fine-tuned run). The validation split thus trains the radii: the run's
validation accuracy is no longer a clean selection signal, which the record notes.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS
from .context import RunContext
from .posthoc import PostHoc


def project(start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], radii: dict[str, torch.Tensor]
            ) -> dict[str, torch.Tensor]:
    """Each tensor of `radii` projected onto its ball around `start`; the others as `tuned` has them."""
    out = dict(tuned)
    for key, radius in radii.items():
        delta = tuned[key] - start[key]
        norm = delta.norm()
        scale = torch.clamp(radius / norm, max=1.0) if norm > 0 else torch.ones_like(radius)
        out[key] = start[key] + scale * delta
    return out


@METHODS.register("tpgm")
class TPGM(PostHoc):
    """Post-hoc per-layer projection towards zero-shot, radii learned on ID validation."""

    hparams = (
        HParam("steps", int, 50, "Adam steps on the validation split that learn the radii"),
        HParam("lr", float, 0.1, "Adam learning rate of the radius logits"),
        HParam("init", float, 3.0, "starting radius logit: sigmoid(3) = 0.95 of each layer's distance"),
        HParam("batch_size", int, 256, "validation images per step"),
    )

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        tuned = ctx.checkpoint_of(self.base_spec(), fits=model)
        start = {k: v.to(ctx.workbench.device) for k, v in ctx.workbench.zeroshot.state_dict().items()}
        radii = self.learn_radii(model, start, tuned, ctx)
        with torch.no_grad():
            model.load_state_dict(project(start, tuned, radii))
        yield {}, model

    def learn_radii(self, model: ImageClassifier, start: dict[str, torch.Tensor],
                    tuned: dict[str, torch.Tensor], ctx: RunContext) -> dict[str, torch.Tensor]:
        moved = [k for k, v in tuned.items() if v.is_floating_point() and not torch.equal(v, start[k])]
        distance = {k: (tuned[k] - start[k]).norm().detach() for k in moved}
        logits = {k: torch.full((), self.hp["init"], device=ctx.workbench.device, requires_grad=True) for k in moved}
        optimizer = torch.optim.Adam(logits.values(), lr=self.hp["lr"])
        batches = _endless(ctx.workbench, self.hp["batch_size"])
        model.eval()
        for _ in range(self.hp["steps"]):
            images, labels = next(batches)
            radii = {k: torch.sigmoid(logits[k]) * distance[k] for k in moved}
            out, _ = functional_call(model, project(start, tuned, radii), (images,))
            loss = F.cross_entropy(out.float(), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return {k: (torch.sigmoid(logits[k]) * distance[k]).detach() for k in moved}


def _endless(workbench, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ID validation split in order with the evaluation transform, over and over."""
    while True:
        yield from workbench.benchmark.val_set().eval_batches(batch_size, workbench.inputs, workbench.device)
