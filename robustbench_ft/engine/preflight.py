"""What a plan's runs need, checked before any of them starts: each benchmark's data, each model's
name, each live logger's package. A typo fails in seconds with one line, not in every run."""

from __future__ import annotations

from typing import Iterable

from ..core.config import ConfigError
from ..core.declarations import DECLARATIONS
from ..core.spec import RunSpec
from ..data.benchmark import load_benchmark
from ..data.low_shot import LowShot
from ..models.loading import check_model_name
from .loggers import logger_names


def check_runnable(specs: Iterable[RunSpec]) -> None:
    """Raise a one-line ConfigError (or ModelLoadError) for the first thing a run would lack."""
    specs = list(specs)
    loaded = {}
    for benchmark, data_root in sorted({(s.benchmark, s.data_root or "") for s in specs}):
        loaded[benchmark, data_root] = load_benchmark(benchmark, data_root=data_root or None)
        loaded[benchmark, data_root].check_available()
    low_shot = {(s.benchmark, s.data_root or "", s.shots, s.batch_size) for s in specs
                if s.shots is not None and DECLARATIONS.trains(s.method)}
    for benchmark, data_root, shots, batch_size in sorted(low_shot):  # one listing per benchmark, a view per K
        images = len(LowShot(loaded[benchmark, data_root], shots).train_set())
        if images < batch_size:
            raise ConfigError(f"--shots {shots} on {benchmark!r} leaves {images} training images, fewer than "
                              f"the batch size {batch_size}: give --batch-size {images} or less")
    for model in sorted({s.model for s in specs}):
        check_model_name(model)
    for log in sorted({s.log for s in specs if s.log}):
        logger_names(log)  # unknown, or its package is not installed
