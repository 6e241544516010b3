"""The embedded world's testbed of ID-only models: the line effective robustness is measured from.

Taori et al. (2020) define effective robustness against the line that models trained on the ID
data alone follow when their OOD accuracy is plotted against their ID accuracy (logit axes).
The embedded world has no published testbed, so this tool makes one as they did, by varying
capacity and training: small convolutional networks of several widths, trained from scratch on
the photo training split for several lengths (no pretraining, no other domain's data), each scored
on the photo test split and every shifted domain. The points go to a small YAML
(`presets/testbeds/<benchmark>.yaml`) that the report reads without torch.

    robustbench-ft testbed --dataset embedded --out robustbench_ft/presets/testbeds/embedded.yaml

Every model is seeded: the same command writes the same file on the same machine and torch.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from ..core.atomic import atomic_write_text
from ..core.log import log
from ..data.benchmark import load_benchmark

WIDTHS = (4, 8, 16, 32)
EPOCHS = (1, 3, 10)
BATCH = 128


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU-pool stages of width w, 2w, 4w, global average pooling, a linear head."""

    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(),
                       nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


def _inputs(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(255).sub(0.5).div(0.25)


def train_model(width: int, epochs: int, train, classes: int, seed: int) -> SmallCNN:
    """AdamW with a cosine schedule and random horizontal flips, from a seeded initialisation."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SmallCNN(width, classes)
    images, labels = _inputs(train.images), train.labels
    steps = epochs * -(-len(labels) // BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), BATCH):
            index = order[start:start + BATCH]
            batch = images[index]
            flip = torch.rand(len(index), generator=generator) < 0.5
            batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, split) -> float:
    predictions = torch.cat([model(_inputs(split.images[i:i + 512])).argmax(-1)
                             for i in range(0, len(split.labels), 512)])
    return float((predictions == split.labels).double().mean())


def make_testbed(dataset: str = "embedded", widths=WIDTHS, epochs=EPOCHS, seed: int = 0) -> dict[str, Any]:
    """Train every (width, epochs) model and score it; the testbed as the YAML holds it."""
    benchmark = load_benchmark(dataset)
    train = benchmark.train_set()
    points = []
    for index, (width, length) in enumerate(itertools.product(widths, epochs)):
        started = time.time()
        model = train_model(width, length, train, len(benchmark.classes), seed + index)
        ood = {split: round(accuracy(model, benchmark.test_set(split)), 4) for split in benchmark.ood_splits}
        point = {"name": f"cnn-w{width}-e{length}", "id": round(accuracy(model, benchmark.test_set(benchmark.id_split)), 4),
                 "ood": ood}
        log(f"testbed {point['name']}: ID {point['id']:.3f}, OOD mean {sum(ood.values()) / len(ood):.3f} "
            f"({time.time() - started:.0f}s)")
        points.append(point)
    return {"benchmark": benchmark.name, "id_split": benchmark.id_split,
            "description": (f"{len(points)} small CNNs (widths {list(widths)}, {list(epochs)} epochs) trained from "
                            f"scratch on {benchmark.id_split} alone: models that saw only the ID data, "
                            "as in Taori et al.'s testbed"),
            "command": f"robustbench-ft testbed --dataset {dataset}", "points": points}


def write_testbed(out: Path, **options: Any) -> Path:
    testbed = make_testbed(**options)
    atomic_write_text(out, "# Made by `robustbench-ft testbed` (robustbench_ft/tools/testbed.py); do not edit.\n"
                      + yaml.safe_dump(testbed, sort_keys=False))
    return out
