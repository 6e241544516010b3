"""LP (Kumar et al., ICLR 2022): a logistic regression fitted to convergence on frozen features.

The zero-shot image encoder's features of the training split (unaugmented: the evaluation
transform) are fitted with a multinomial logistic regression with bias, L2 strength C swept over
a log grid and chosen on the ID validation split (logistic_regression.py, L-BFGS), as Kumar et al. do with
scikit-learn. The classifier then holds W / s as its head and b as its bias (s: the fixed logit
scale), so its logits are the probe's. Nothing trains through the shared trainer; the weights are
kept, so LP-FT starts from them.
"""

from __future__ import annotations

import torch

from ..core.hparams import HParam
from ..core.log import log
from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext
from .logistic_regression import fit_probe_on_validation

DEFAULT_CS = [10.0 ** k for k in range(-2, 6)]


@METHODS.register("lp")
class LinearProbe(Method):
    """Kumar et al.'s probe: L-BFGS logistic regression on frozen features, C chosen on ID validation."""

    trains = False
    keeps_weights = True
    hparams = (
        HParam("Cs", list[float], DEFAULT_CS, "inverse L2 strengths tried (scikit-learn's C), best on ID validation"),
        HParam("max_iter", int, 1000, "L-BFGS iterations per C at most"),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        workbench = ctx.workbench
        train = workbench.predict(workbench.zeroshot, workbench.benchmark.train_set(), "probe features, train",
                                  cache=False)  # read once: its pixels would be ~190 GB at ImageNet's size
        val = workbench.predict(workbench.zeroshot, workbench.benchmark.val_set(), "probe features, ID validation")
        device = workbench.device
        best, fitted = fit_probe_on_validation((train.features.to(device), train.labels.to(device)),
                                               (val.features.to(device), val.labels.to(device)),
                                               len(workbench.benchmark.classes), self.hp["Cs"], self.hp["max_iter"])
        log(f"lp seed {self.spec.seed}: C = {best.C:g} (validation accuracy "
            + ", ".join(f"{p.C:g}: {p.val_acc:.3f}" for p in fitted) + ")")
        with torch.no_grad():
            model.head.copy_((best.weight / workbench.logit_scale).to(model.head.dtype))
            model.bias.copy_(best.bias.to(model.bias.dtype))
