"""WiSE-FT (Wortsman et al., 2022): interpolate weights between zero-shot and a fine-tuned run.

theta_alpha = (1 - alpha) theta_0 + alpha theta_tuned for the image encoder and the head, one
evaluated variant per alpha. Plain 'wise' is 'ft+wise'; 'lipsum+wise' interpolates Lipsum-FT.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..models.classifier import ImageClassifier, interpolate_state
from ..spec import RunSpec
from .base import METHODS, Method, RunContext

WISE_HPARAMS = ("alphas",)
DEFAULT_ALPHAS = tuple(round(0.1 * i, 1) for i in range(11))


@METHODS.register("wise")
class WiSE(Method):
    name = "wise"
    trains = False
    description = "post-hoc weight interpolation with zero-shot over an alpha grid ('ft+wise', 'lipsum+wise')"

    def base_spec(self) -> RunSpec:
        base = self.spec.method.rsplit("+", 1)[0]
        if base == self.spec.method:
            raise ValueError(f"'wise' needs a base run: write '<method>+wise', e.g. 'ft+wise'")
        hparams = {k: v for k, v in self.spec.hparams if k not in WISE_HPARAMS}
        return self.spec.replace(method=base, hparams=hparams)

    def dependencies(self) -> list[RunSpec]:
        return [self.base_spec()]

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        tuned = ctx.checkpoint_of(self.base_spec())
        start = ctx.bench.zeroshot.state_dict()
        for alpha in self.spec.hparam("alphas", list(DEFAULT_ALPHAS)):
            model.load_state_dict(interpolate_state(start, tuned, float(alpha)))
            yield {"alpha": float(alpha)}, model
