"""What a plan's runs need, checked before any of them starts: each benchmark's data, each model's
name, each live logger's package. A typo fails in seconds with one line, not in every run."""

from __future__ import annotations

from typing import Iterable

from ..core.spec import RunSpec
from ..data.benchmark import load_benchmark
from ..models.loading import check_model_name
from .loggers import logger_names


def check_runnable(specs: Iterable[RunSpec]) -> None:
    """Raise a one-line ConfigError (or ModelLoadError) for the first thing a run would lack."""
    specs = list(specs)
    for benchmark, data_root in sorted({(s.benchmark, s.data_root or "") for s in specs}):
        load_benchmark(benchmark, data_root=data_root or None).check_available()
    for model in sorted({s.model for s in specs}):
        check_model_name(model)
    for log in sorted({s.log for s in specs if s.log}):
        logger_names(log)  # unknown, or its package is not installed
