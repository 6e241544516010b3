"""Evaluation of image files: the 11-point WiSE curve against 11 evaluations that each decode.

The embedded world's splits live in memory, where the one-pass curve has nothing to share (the
11 forward passes are the whole cost). Real benchmarks are JPEG files, and there decoding and
resizing is the cost a pass over the data adds to every evaluation. Here the embedded world's
images are written as JPEG class folders at a real photo's size (a `folder` benchmark, YAML only),
and three schedules are timed alternately: 11 evaluations one after another, each decoding every
file (what the harness did before the one-pass curve and the cache); the one-pass curve decoding
each file once; the one-pass curve reading the evaluation cache (every later run on the files).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from ...data.benchmark import load_benchmark
from ...engine.workbench import workbench_for
from ...methods.base import build_method
from .evaluation import _tuned_stand_in, one_by_one, one_pass, wise_variants
from .timing import Ratio, alternate, ratio, spread
from .training import scratch, spec_of, stand_in_run


def jpeg_world(folder: Path, per_class: dict[str, int], size: int) -> tuple[str, int]:
    """The embedded world's images as JPEG class folders of `size` px (upsampled), and the YAML
    of a `folder` benchmark over them; returns (YAML path, test images)."""
    world = load_benchmark("embedded")
    splits = {"train": world.train_set(), **{s: world.test_set(s) for s in world.test_splits}}
    images = 0
    for name, split in splits.items():
        for label in range(len(world.classes)):
            rows = (split.labels == label).nonzero().flatten()[: per_class["train" if name == "train" else "test"]]
            pixels = F.interpolate(split.images[rows].float(), size=(size, size), mode="bicubic",
                                   align_corners=False).clamp(0, 255).round().to(torch.uint8)
            target = folder / "data" / name / world.classes[label]
            target.mkdir(parents=True, exist_ok=True)
            for i, image in enumerate(pixels):
                Image.fromarray(image.permute(1, 2, 0).numpy()).save(target / f"{i}.jpg", quality=90)
            images += len(rows) if name != "train" else 0
    config = {"name": "embedded-jpeg", "family": "folder", "data_root": str(folder / "data"),
              "classes": list(world.classes), "splits": {s: s for s in splits},
              "id_split": world.id_split, "ood_splits": list(world.ood_splits),
              "templates": list(world.templates),
              "augment": ["hflip"],
              "train": {"model": "tiny-clip", "pretrained": "embedded", "steps": 10, "batch_size": 16, "lr": 3e-4}}
    path = folder / "embedded-jpeg.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path), images


def file_wise_ratios(model: str, pretrained: str | None, rounds: int, per_class: int = 10, size: int = 224
                     ) -> tuple[dict[str, Ratio], int]:
    """({schedule: time / 11 decoding evaluations}, test images); JPEGs of `size` px, `per_class`
    test images per class and split (twice that for training, of which 5% is validation)."""
    with scratch() as root:
        benchmark, images = jpeg_world(root, {"train": 2 * per_class, "test": per_class}, size)
        spec = spec_of("wise", benchmark, model, pretrained, 16)
        cached, decoding = workbench_for(spec, root / "results"), workbench_for(spec, None)
        stand_in_run(root / "results", build_method(spec).base_spec(), _tuned_stand_in(cached))
        on_files, on_cache = (wise_variants(spec, workbench, root / "results") for workbench in (decoding, cached))
        for split in cached.benchmark.test_splits:  # both: zero-shot outputs stored, as after a first run
            cached.zeroshot_outputs(split), decoding.zeroshot_outputs(split)
        one_pass(on_cache, cached)  # builds the evaluation cache
        times = alternate({"one by one": lambda: one_by_one(on_files, decoding),
                           "one pass": lambda: one_pass(on_files, decoding),
                           "one pass, cache": lambda: one_pass(on_cache, cached)}, rounds, warmup=0)
    return {"one pass": ratio(times, "one pass", "one by one"),
            "one pass, cache": ratio(times, "one pass, cache", "one by one"),
            "one by one (s)": spread(times["one by one"])}, images
