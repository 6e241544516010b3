"""FTP (Tian, Liu, Smith, Kira, NeurIPS 2023: Fast Trainable Projection), TPGM's successor.

During training, every tensor of the image encoder is kept within a radius gamma of its pretrained
value, gamma learned on the fly from the gradients training computes anyway. After AdamW's step
(unconstrained), with c_t = W - W0 and n_t its L1 norm per output row (dim 0; one norm for a 1-D
tensor):
- gamma's gradient is the derivative of the loss through the previous projection,
  g = sum_rows <grad_t, c_{t-1}> / n_{t-1} (grad_t: the gradient of this step, taken at the
  projected W_{t-1}); a positive g (shrinking helps) is damped by k (the paper's positive gradient
  annealing, k in [0, 1]); gamma takes an Adam step of size `gamma_lr` with that gradient and is
  clipped to [1e-8, max_rows n_t];
- the tensor is projected row by row: W = W0 + min(1, gamma / n_t) c_t.
gamma starts at 1e-8, so training starts at W0 and the radius opens as the gradients ask. This
follows the official code (GT-RIPL/FTP, util/FTP.py at 1f8dd44): per-row L1 ('MARS') norms, the
clipped rows not masked out of g, Adam on gamma with betas (0.9, 0.999) and its own step count.

Where the harness differs: the projection runs as an `after_step` hook on the trainer's AdamW
instead of inside a custom optimiser (the same arithmetic: the step is taken, then projected);
the constrained tensors get no weight decay (the official AdamP runs at weight_decay 0) while the
head, which FTP leaves unconstrained as a new layer, keeps the spec's; `gamma_lr` (the code's fixed
mu = 1e-2) and k are declared hyper-parameters with search spaces. The official code has only
DomainNet ResNet-50 recipes, so CLIP ViT recipes are the harness's budget.
"""

from __future__ import annotations

from typing import Any

import torch

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext

MIN_GAMMA = 1e-8
BETAS, EPS = (0.9, 0.999), 1e-8


def row_l1(c: torch.Tensor) -> torch.Tensor:
    """L1 norm of each output row (dim 0) kept for broadcasting; one norm for a 0-/1-D tensor."""
    if c.dim() <= 1:
        return c.abs().sum() + MIN_GAMMA
    return c.abs().sum(dim=tuple(range(1, c.dim())), keepdim=True) + MIN_GAMMA


def project_rows(start: torch.Tensor, c: torch.Tensor, norms: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """W0 + min(1, gamma / n) c, row by row."""
    return start + torch.clamp(gamma / norms, 0.0, 1.0) * c


class Constraint:
    """One tensor's radius gamma, its Adam moments and the previous step's displacement."""

    def __init__(self, start: torch.Tensor) -> None:
        self.start = start.detach().float().clone()
        self.gamma = torch.tensor(MIN_GAMMA, device=start.device)
        self.m = torch.zeros((), device=start.device)
        self.v = torch.zeros((), device=start.device)
        self.c: torch.Tensor | None = None       # c_{t-1}
        self.norms: torch.Tensor | None = None   # n_{t-1}

    @torch.no_grad()
    def step(self, param: torch.Tensor, t: int, k: float, gamma_lr: float) -> None:
        if param.grad is None:  # no gradient this step: left alone, as the official code skips it
            return
        c = param.float() - self.start
        norms = row_l1(c)
        if self.c is not None:
            g = (param.grad.float() * self.c / self.norms).sum()
            g = torch.where(g > 0, g * k, g)  # on the device: no host sync per tensor
            self.m.mul_(BETAS[0]).add_(g, alpha=1 - BETAS[0])
            self.v.mul_(BETAS[1]).addcmul_(g, g, value=1 - BETAS[1])
            m_hat, v_hat = self.m / (1 - BETAS[0] ** t), self.v / (1 - BETAS[1] ** t)
            self.gamma = self.gamma - gamma_lr * m_hat / (v_hat.sqrt() + EPS)
        self.gamma = torch.clamp(self.gamma, min=MIN_GAMMA, max=norms.max())
        param.copy_(project_rows(self.start, c, norms, self.gamma).to(param.dtype))
        self.c, self.norms = c, norms

    def state_dict(self) -> dict[str, Any]:
        def saved(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.detach().cpu().clone()
        return {"gamma": saved(self.gamma), "m": saved(self.m), "v": saved(self.v), "c": saved(self.c),
                "norms": saved(self.norms)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.start.device
        self.gamma, self.m, self.v = (state[k].to(device) for k in ("gamma", "m", "v"))
        self.c = None if state["c"] is None else state["c"].to(device)
        self.norms = None if state["norms"] is None else state["norms"].to(device)


@METHODS.register("ftp")
class FTP(Method):
    """FT with every encoder tensor projected into a learned radius around its pretrained value."""

    hparams = (
        HParam("k", float, 1.0, "positive gradient annealing: a gradient that shrinks gamma is multiplied by k "
               "(0: such gradients are ignored; 1: the official default, the strongest constraint)", space=(0.5, 1.0)),
        HParam("gamma_lr", float, 1e-2, "Adam step size of each radius gamma (the official code's fixed mu)",
               space=(3e-3, 1e-2, 3e-2)),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.params = dict(p for p in model.visual.named_parameters() if p[1].requires_grad)
        self.constraints = {name: Constraint(p) for name, p in self.params.items()}
        self.t = 0

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        encoder = {id(p) for p in model.visual.parameters()}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in encoder]
        groups = [{"params": [p for p in model.visual.parameters() if p.requires_grad], "weight_decay": 0.0},
                  {"params": rest}]
        return [g for g in groups if g["params"]]

    def after_step(self, model: ImageClassifier, ctx: RunContext) -> None:
        self.t += 1
        for name, param in self.params.items():
            self.constraints[name].step(param, self.t, self.hp["k"], self.hp["gamma_lr"])

    def radii(self) -> dict[str, float]:
        """Each constrained tensor's gamma (for tests and inspection)."""
        return {name: float(c.gamma) for name, c in self.constraints.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t, "constraints": {name: c.state_dict() for name, c in self.constraints.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = int(state["t"])
        for name, saved in state["constraints"].items():
            self.constraints[name].load_state_dict(saved)
