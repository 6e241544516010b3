"""The training input pipeline and the evaluation cache, on the full DomainNet tree's JPEGs.

Training: images/s of one DataLoader worker decoding and augmenting (random resized crop and flip
at 224 px, the benchmark's policy) through FileSplit.train_batches (uint8 pixels handed over,
normalised in the training process), against a bare loop in one process that opens each file
with PIL and applies the very same transform (to normalised floats), on the same files.
How many workers feed ViT-B/16 bf16 training at published GPU rates follows from the per-worker
rate (presets/reference/gpu_rates.yaml: the rates and their sources).
Evaluation cache: images/s building it (decode, resize and crop, write), its size, images/s
reading it back as normalised batches, and its size for the full test sets of DomainNet and
ImageNet at 224 px, computed from the image counts.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from ....core.config import presets_dir, read_yaml
from ....data.benchmark import load_benchmark
from ....data.eval_cache import EvalCache, cache_bytes
from ....data.files import FileSplit
from ....data.imagenet import PUBLISHED as IMAGENET_TESTS
from ....models.inputs import InputPipeline
from ....models.loading import OPENAI_MEAN, OPENAI_STD

SIZE, TRAIN_IMAGES, CACHE_IMAGES = 224, 2_048, 3_000
TARGET_RATIO = 0.9


def _inputs(augment) -> InputPipeline:
    return InputPipeline(OPENAI_MEAN, OPENAI_STD, SIZE, augment)


def training_rates(split: FileSplit, augment, rounds: int = 3,
                   threads: int | None = None) -> tuple[float, float, float]:
    """(one worker's images/s through FileSplit.train_batches, a bare PIL + transform loop's, and
    the median of their per-round ratios), alternated over `rounds` rounds on the same files; the
    training process runs its torch ops on `threads` threads (None: as it is)."""
    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _training_rates(split, augment, rounds)
    finally:
        torch.set_num_threads(saved)


def _training_rates(split: FileSplit, augment, rounds: int) -> tuple[float, float, float]:
    inputs = _inputs(augment)
    files = FileSplit(split.paths[:TRAIN_IMAGES], split.labels[:TRAIN_IMAGES], workers=1)
    transform = inputs.train_transform()
    harness, bare = [], []
    for index in range(rounds):
        stream = files.train_batches(64, torch.Generator().manual_seed(index), inputs)
        next(stream)  # the worker's start is DataLoader start, measured with the run's start
        started, seen = time.perf_counter(), 0
        while seen < TRAIN_IMAGES - 64:
            seen += len(next(stream)[1])
        harness.append(seen / (time.perf_counter() - started))
        del stream  # the worker stops
        started = time.perf_counter()
        for path in files.paths[64:64 + seen]:
            with Image.open(path) as image:
                torch.manual_seed(0)
                transform(image.convert("RGB"))
        bare.append(seen / (time.perf_counter() - started))
    return statistics.median(harness), statistics.median(bare), statistics.median(h / b for h, b in zip(harness, bare))


def cache_rates(split: FileSplit) -> tuple[float, float, int]:
    """(images/s building the cache, images/s reading it back, its bytes) for CACHE_IMAGES files."""
    inputs = _inputs(())
    files = FileSplit(split.paths[:CACHE_IMAGES], split.labels[:CACHE_IMAGES])
    with tempfile.TemporaryDirectory() as folder:
        cache = EvalCache(Path(folder), files, inputs)
        started = time.perf_counter()
        cache.build(128)
        built = len(files) / (time.perf_counter() - started)
        size = sum(p.stat().st_size for p in cache.path.iterdir())
        started = time.perf_counter()
        for _ in cache.batches(128, "cpu"):
            pass
        read = len(files) / (time.perf_counter() - started)
    return built, read, size


def rows(domainnet: Path) -> tuple[list, list[str]]:
    from .. import Row, _check
    benchmark = load_benchmark("domainnet", data_root=str(domainnet))
    found = []
    section = "input pipeline, DomainNet JPEGs (generated, 500 x 375)"
    harness, bare, ratio = training_rates(benchmark.train_set(), benchmark.augment, threads=1)
    found.append(Row(section, "training images/s, one DataLoader worker (random resized crop + flip, 224 px; the "
                              "training process on one thread, as on a GPU node, where it normalises on the GPU)",
                     f"{harness:.0f}"))
    found.append(Row(section, f"... / a bare PIL decode + the same transform in one process ({bare:.0f} images/s), "
                              "median of 3 alternated rounds", f"{ratio:.2f}", *_check(ratio, TARGET_RATIO, at_most=False)))
    _, _, shared = training_rates(benchmark.train_set(), benchmark.augment)
    found.append(Row(section, f"... the same with the training process normalising on this CPU's "
                              f"{torch.get_num_threads()} threads (they take the worker's core here)", f"{shared:.2f}"))
    rates = read_yaml(presets_dir("reference") / "gpu_rates.yaml")["vit_b16_bf16_training"]
    for gpu in rates["gpus"]:
        found.append(Row(section, f"workers to feed ViT-B/16 bf16 training on an {gpu['name']} "
                                  f"({gpu['images_per_second']:.0f} img/s, {gpu['basis']})",
                         f"{math.ceil(gpu['images_per_second'] / harness)}"))
    section = "evaluation cache"
    built, read, size = cache_rates(benchmark.test_set("real"))
    found.append(Row(section, f"build: images/s decoding, resizing and writing {CACHE_IMAGES:,} JPEGs "
                              f"({benchmark.val_set().workers} workers)", f"{built:.0f}"))
    found.append(Row(section, "read back: images/s as normalised batches", f"{read:.0f}"))
    found.append(Row(section, "bytes an image at 224 px", f"{size / CACHE_IMAGES:,.0f}"))
    tests = len(benchmark.val_set()) + sum(len(benchmark.test_set(s)) for s in benchmark.test_splits)
    found.append(Row(section, f"DomainNet validation + test splits ({tests:,} images) at 224 px (GB)",
                     f"{cache_bytes(tests, SIZE) / 1e9:.1f}"))
    imagenet = 12_812 + sum(IMAGENET_TESTS.values())  # 1% held out of train, and the five test sets
    found.append(Row(section, f"ImageNet validation + test splits ({imagenet:,} images) at 224 px (GB)",
                     f"{cache_bytes(imagenet, SIZE) / 1e9:.1f}"))
    return found, []
