"""LoRA (Hu et al., ICLR 2022) on the image encoder's attention, through the `peft` library.

Every attention block's fused query/key/value projection gets W + (alpha / r) B A, A (r x d) drawn
as peft draws it and B = 0, so training starts exactly at the zero-shot model. open_clip's vision
transformer computes attention with torch's nn.MultiheadAttention, whose q/k/v weight is a bare
`in_proj_weight` Parameter: peft adapts it with `target_parameters` (its ParamWrapper, a
parametrisation read wherever the weight is). `targets: attention+mlp` adapts the MLP's two
Linears too (peft's ordinary Linear LoRA). The encoder's own weights are frozen; the head trains at
the spec's lr unless `head: false`, the adapters at `lr_factor` times it (LoRA wants a larger step
than full fine-tuning; a factor keeps one recipe across benchmarks).

Where the harness differs: Hu et al. adapt W_q and W_v with a rank-r update each; here one rank-r
update covers the fused [W_q; W_k; W_v], and the output projection is not adapted. peft 0.21's
nn.MultiheadAttention LoRA would adapt it, but adds its update twice when it merges, which its
forward does every call (the function trained is W + 2 (alpha / r) B A, the gradient that of
W + (alpha / r) B A; huggingface/peft PR #3774, open), and a Linear LoRA on `out_proj` never runs:
nn.MultiheadAttention passes `out_proj.weight` to its functional form instead of calling the layer.

The run delivers an ordinary classifier: the adapters merged into the weights
(`merge_and_unload` on a copy), so selection scores it, the run keeps it, and post-hoc methods
(`lora+wise`, ...) apply unchanged. After training the adapters are removed before the selected,
merged weights are loaded (`finish`). AdamW's weight decay applies to A and B as peft's users set it.
"""

from __future__ import annotations

import copy
from typing import Any

from ..core.hparams import HParam
from ..models.classifier import ImageClassifier
from .base import METHODS, Method
from .context import RunContext

ATTENTION = ["attn.in_proj_weight"]  # nn.MultiheadAttention's fused q/k/v weight (a Parameter)
TARGETS = {"attention": [], "attention+mlp": ["c_fc", "c_proj"]}  # Linear modules besides


@METHODS.register("lora")
class LoRA(Method):
    """Low-rank adapters on the image encoder's attention (peft), plus the head."""

    averages_linearly = False  # an EMA of A and B is not an EMA of B A

    hparams = (
        HParam("rank", int, 8, "r: the rank of each adapter", space=(4, 8, 16)),
        HParam("alpha", float, 16.0, "the adapters' scale is alpha / rank"),
        HParam("targets", str, "attention", "what gets adapters: attention (the fused query/key/value "
               "projection) or attention+mlp (and the MLP's two Linears)", choices=tuple(TARGETS)),
        HParam("lr_factor", float, 10.0, "the adapters' lr as a multiple of the spec's", space=(3.0, 10.0, 30.0)),
        HParam("head", bool, True, "train the zero-shot-initialised head too (at the spec's lr)"),
    )

    def setup(self, model: ImageClassifier, ctx: RunContext) -> None:
        from peft import LoraConfig, LoraModel  # imported by the runs that use it: peft brings transformers
        model.requires_grad_(False)
        config = LoraConfig(r=self.hp["rank"], lora_alpha=self.hp["alpha"], lora_dropout=0.0,
                            target_modules=TARGETS[self.hp["targets"]], target_parameters=ATTENTION)
        model.visual = LoraModel(model.visual, config, "default")  # only the adapters train
        model.head.requires_grad_(self.hp["head"])

    def param_groups(self, model: ImageClassifier) -> list[dict[str, Any]]:
        adapters = [p for name, p in model.visual.named_parameters() if p.requires_grad]
        groups = [{"params": adapters, "lr": self.spec.lr * self.hp["lr_factor"]}]
        if self.hp["head"]:
            groups.append({"params": [model.head]})
        return groups

    def delivered_model(self, model: ImageClassifier) -> ImageClassifier:
        """A copy with the adapters merged into the encoder's weights: an ordinary classifier."""
        merged = copy.deepcopy(model)
        merged.visual = merged.visual.merge_and_unload()
        return merged

    def finish(self, model: ImageClassifier) -> None:
        model.visual = model.visual.unload()  # the plain encoder, ready for the merged weights
