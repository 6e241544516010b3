"""uint8 image batches -> model inputs: resize to the model's size, augment, normalise.

Doing this on whole batches (not per PIL image) keeps the embedded benchmark's CPU training
fast, and lets any CLIP, whatever its input size, run on any benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("hflip",)


class InputPipeline:
    """Turns uint8 (N, 3, H, W) batches into normalised float inputs for one model."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], image_size: int,
                 augment: list[str] | tuple[str, ...] = ()) -> None:
        unknown = [a for a in augment if a not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"unknown augmentations {unknown}; known: {list(AUGMENTATIONS)}")
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self.image_size = image_size
        self.augment = tuple(augment)

    def eval(self, images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        x = images.to(device, non_blocking=True).float() / 255
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic",
                              align_corners=False).clamp(0, 1)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)

    def train(self, images: torch.Tensor, generator: torch.Generator,
              device: torch.device | str = "cpu") -> torch.Tensor:
        if "hflip" in self.augment:
            flip = torch.rand(len(images), generator=generator) < 0.5
            images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
        return self.eval(images, device)
