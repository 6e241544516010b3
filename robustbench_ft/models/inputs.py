"""Model inputs from a split's images: the model's own preprocessing plus the benchmark's augmentation.

Two forms, one meaning. In-memory uint8 (N, 3, H, W) batches (the embedded world) are resized,
flipped and normalised whole on the device (`eval`, `train`), which keeps CPU training fast.
Image files (real benchmarks) are transformed one PIL image at a time in DataLoader workers
(`eval_transform`, `train_transform`): the model's open_clip preprocessing (resize, centre crop,
mean/std, interpolation) for evaluation, and the benchmark's named augmentation policy for
training: `random_resized_crop` (Inception crop, scale 0.08-1, as in the Lipsum-FT recipe) and
`hflip`.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torchvision import transforms as T

AUGMENTATIONS = ("hflip", "random_resized_crop")
IN_MEMORY_AUGMENTATIONS = ("hflip",)


class InputPipeline:
    """Turns a split's images into normalised float inputs for one model."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], image_size: int,
                 augment: list[str] | tuple[str, ...] = (), interpolation: str = "bicubic",
                 resize_mode: str = "shortest") -> None:
        unknown = [a for a in augment if a not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"unknown augmentations {unknown}; known: {list(AUGMENTATIONS)}")
        self.mean_values, self.std_values = tuple(mean), tuple(std)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self.image_size = image_size
        self.augment = tuple(augment)
        self.interpolation, self.resize_mode = interpolation, resize_mode

    def eval(self, images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        x = images.to(device, non_blocking=True).float() / 255
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic",
                              align_corners=False).clamp(0, 1)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)

    def train(self, images: torch.Tensor, generator: torch.Generator,
              device: torch.device | str = "cpu", rows: slice = slice(None)) -> torch.Tensor:
        """The augmented batch's `rows` (one rank's shard); the draws are made for the whole
        batch, so the shards of all ranks are exactly the one-process batch."""
        unsupported = [a for a in self.augment if a not in IN_MEMORY_AUGMENTATIONS]
        if unsupported:
            raise ValueError(f"augmentations {unsupported} need image files; in-memory splits "
                             f"support {list(IN_MEMORY_AUGMENTATIONS)}")
        if "hflip" in self.augment:
            flip = torch.rand(len(images), generator=generator) < 0.5
            images, flip = images[rows], flip[rows]
            images = torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images)
            return self.eval(images, device)
        return self.eval(images[rows], device)

    def fixed_variants(self) -> tuple[bool, ...] | None:
        """Every input the training transform can make of an image, as flips: (False,) without
        augmentation, (False, True) with only `hflip`; None where the set is not small and finite
        (random crops). What a frozen encoder sees in training is then known before training."""
        if not set(self.augment) <= {"hflip"}:
            return None
        return (False, True) if "hflip" in self.augment else (False,)

    def fixed(self, images: torch.Tensor, flip: bool, device: torch.device | str = "cpu") -> torch.Tensor:
        """In-memory images exactly as `train` makes them when every flip it draws is `flip`."""
        return self.eval(images.flip(-1) if flip else images, device)

    def _cfg(self):
        from open_clip.transform import PreprocessCfg  # imported on use: open_clip takes seconds to import
        return PreprocessCfg(size=self.image_size, mean=self.mean_values, std=self.std_values,
                             interpolation=self.interpolation, resize_mode=self.resize_mode)

    def eval_transform(self) -> Callable:
        """PIL image -> normalised tensor, exactly as open_clip preprocesses for this model."""
        from open_clip.transform import image_transform_v2
        return image_transform_v2(self._cfg(), is_train=False)

    def eval_pixels(self) -> Callable:
        """PIL image -> uint8 (3, S, S) tensor: `eval_transform` without its scaling to [0, 1] and
        normalisation (what the evaluation cache stores; `normalize` does the rest)."""
        from open_clip.transform import image_transform_v2
        geometric = [t for t in image_transform_v2(self._cfg(), is_train=False).transforms
                     if not isinstance(t, T.Normalize) and "ToTensor" not in type(t).__name__]
        return T.Compose([*geometric, T.PILToTensor()])

    def normalize(self, pixels: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """uint8 pixels -> the inputs `eval_transform` gives: /255 then mean/std, the same float ops."""
        x = pixels.to(device, non_blocking=True).to(torch.float32)
        # by a tensor, not a Python number: a GPU divides by a number as a multiplication by its
        # reciprocal, a bit off ToTensor's division on the CPU
        x = x.div(torch.tensor(255.0, device=x.device))
        return x.sub(self.mean.to(x.device)).div(self.std.to(x.device))

    def train_transform(self, random_flip: bool = True) -> Callable:
        """PIL image -> augmented normalised tensor; random under torch's global generator. Without
        `random_flip`, the `hflip` policy is left out (its flip is then a tensor flip, the same
        values: ToTensor and Normalize act on each pixel alone)."""
        return T.Compose([*self._augmentation(random_flip), T.ToTensor(), T.Normalize(self.mean_values, self.std_values)])

    def train_pixels(self, random_flip: bool = True) -> Callable:
        """PIL image -> augmented uint8 (3, S, S) tensor: `train_transform` without its scaling and
        normalisation, which `normalize` does on the batch (the same float ops: the same inputs).
        DataLoader workers hand over a quarter of the bytes, and a GPU run normalises on the GPU."""
        return T.Compose([*self._augmentation(random_flip), T.PILToTensor()])

    def _augmentation(self, random_flip: bool) -> list:
        interpolation = T.InterpolationMode(self.interpolation)
        crop = (T.RandomResizedCrop(self.image_size, scale=(0.08, 1.0), interpolation=interpolation)
                if "random_resized_crop" in self.augment
                else T.Compose([T.Resize(self.image_size, interpolation=interpolation), T.CenterCrop(self.image_size)]))
        return [crop, *([T.RandomHorizontalFlip()] if "hflip" in self.augment and random_flip else [])]
