"""The frozen zero-shot encoder's features of a training batch, computed once per input when the
training transform can make only a few known inputs of each image.

Lipsum-FT (and CAR-FT) compare the tuned features with the zero-shot model's on the same batch.
With random crops every batch is new, so the frozen forward runs every step. Without
augmentation, or with flips only (the embedded world's policy), each training image reaches the
model as one of at most two input tensors, so their zero-shot features are computed once for the
whole training set (in order, in the training batch size, each flip), stored with the run's
zero-shot artifacts so every run and seed of a sweep shares them, and looked up by the exact bits
of each input row. Features, not energies: Lipsum-FT's fresh random texts apply to them as
before. A row that is not found (it should not happen) is computed as usual.
"""

from __future__ import annotations

import functools

import torch

from ..models.classifier import ImageClassifier
from .context import RunContext

FINGERPRINT_SEED = 2024


def fingerprints(inputs: torch.Tensor) -> torch.Tensor:
    """(B, 2) int64 digests of each row's exact float32 bits: integer sums, so the same bits give
    the same digest whatever the batch (two independent 64-bit hashes: collisions are negligible)."""
    bits = inputs.float().contiguous().view(len(inputs), -1).view(torch.int32).to(torch.int64)
    weights = _hash_weights(bits.shape[1], str(bits.device))
    return torch.stack([(bits * w).sum(dim=1) for w in weights], dim=1)


@functools.lru_cache(maxsize=4)
def _hash_weights(size: int, device: str) -> torch.Tensor:
    """The hashes' fixed random weights, drawn once per input size and device (not every step)."""
    generator = torch.Generator().manual_seed(FINGERPRINT_SEED)
    return torch.randint(-2 ** 62, 2 ** 62, (2, size), generator=generator).to(device)


class FrozenFeatures:
    """reference(inputs) -> the frozen encoder's normalised features of the batch.

    The table is computed under the trainer's autocast (ctx.autocast()), so under bf16 it holds
    the features the per-step frozen forward gives, and a regulariser comparing them with the
    tuned model's is 0 at the start in bf16 as in fp32: exactly where a row's features do not
    depend on the rest of its batch (the CPU's kernels, tested), to rounding where a device's
    kernels depend on the batch's shape (the table is computed at the training batch size, a
    DDP rank trains on a shard of it). A table of one precision is never read by a run of the
    other (its name says which)."""

    # False: always the frozen forward (tools/bench times that path, the one random crops take)
    precompute = True

    def __init__(self, reference: ImageClassifier, ctx: RunContext) -> None:
        self.reference = reference
        self.table: dict[tuple[int, int], int] | None = None
        workbench, variants = ctx.workbench, ctx.workbench.inputs.fixed_variants()
        if variants is not None and self.precompute:
            name = ("train-features" if variants == (False,) else "train-features-hflip") + \
                ("-bf16" if ctx.precision == "bf16" else "") + \
                (f"-{ctx.spec.shots}shot" if ctx.spec.shots else "")  # a low-shot table lacks the other images
            stored = workbench.store.get_or_make(name, lambda: self._compute(ctx, variants))
            self.features = stored["features"].to(workbench.device)
            self.table = {tuple(fp): row for row, fp in enumerate(stored["fingerprints"].tolist())}

    @torch.no_grad()
    def _compute(self, ctx: RunContext, flips: tuple[bool, ...]) -> dict[str, torch.Tensor]:
        workbench, prints, features = ctx.workbench, [], []
        for flip in flips:
            for inputs, _ in workbench.benchmark.train_set().plain_train_batches(
                    ctx.spec.batch_size, workbench.inputs, workbench.device, flip):
                prints.append(fingerprints(inputs).cpu())
                with ctx.autocast():
                    features.append(self.reference.features(inputs).float().cpu())
        return {"fingerprints": torch.cat(prints), "features": torch.cat(features)}

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.table is not None:
            rows = [self.table.get(tuple(fp)) for fp in fingerprints(inputs).tolist()]
            if None not in rows:
                return self.features[torch.tensor(rows, device=self.features.device)]
        return self.reference.features(inputs)
