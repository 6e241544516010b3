"""WiSE-FT (Wortsman et al., 2022): interpolate weights between zero-shot and a fine-tuned run.

theta_alpha = (1 - alpha) theta_0 + alpha theta_tuned for the image encoder and the head, one
evaluated variant per alpha. Plain 'wise' is 'ft+wise'; 'lipsum+wise' interpolates Lipsum-FT.
The base run is the spec's base (posthoc.PostHoc).
"""

from __future__ import annotations

from typing import Any, Iterator

from ..hparams import HParam
from ..models.classifier import ImageClassifier, interpolate_state
from .base import METHODS, RunContext
from .posthoc import PostHoc

DEFAULT_ALPHAS = [round(0.1 * i, 1) for i in range(11)]


@METHODS.register("wise")
class WiSE(PostHoc):
    """Post-hoc weight interpolation with zero-shot over an alpha grid ('ft+wise', 'lipsum+wise')."""

    hparams = (HParam("alphas", list[float], DEFAULT_ALPHAS, "mixing weights of the tuned model"),)

    def evaluated_variants(self) -> int:
        return len(self.hp["alphas"])

    def variants(self, model: ImageClassifier, ctx: RunContext
                 ) -> Iterator[tuple[dict[str, Any], ImageClassifier]]:
        tuned = ctx.checkpoint_of(self.base_spec(), fits=model)
        start = ctx.bench.zeroshot.state_dict()
        for alpha in self.hp["alphas"]:
            model.load_state_dict(interpolate_state(start, tuned, alpha))
            yield {"alpha": alpha}, model
