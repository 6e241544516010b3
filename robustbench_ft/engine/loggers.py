"""Live training logs beside metrics.jsonl: TensorBoard and Weights & Biases (`--log tensorboard,wandb`).

Each logger is a small class registered by name; the trainer's rank 0 hands every logged row
(step, lr, loss, loss terms, val_acc at evaluations) to each one the run's spec names. Both are
optional dependencies (`pip install 'robustbench-ft[log]'`); naming one that is not installed is
a one-line error before the run starts. They write inside the run's folder: TensorBoard's events
under `tensorboard/` (a resumed run purges what it logged after its resume step), W&B's run under
`wandb/`, offline unless WANDB_MODE says otherwise (`wandb sync` uploads it later), with the run's
digest as its id so a resumed run continues the same W&B run. metrics.jsonl stays the record.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING, Any, Protocol

from ..core.config import ConfigError
from ..core.registry import Registry
from ..records.layout import RunFolder

if TYPE_CHECKING:
    from ..core.spec import RunSpec


class Logger(Protocol):
    def __call__(self, row: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


LOGGERS: Registry[type] = Registry("logger")


def _require(module: str, name: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"--log {name} needs the {module} package, which is not installed: "
                          f"pip install 'robustbench-ft[log]' (or pip install {module})")


def _scalars(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k != "step" and isinstance(v, (int, float))}


@LOGGERS.register("tensorboard")
class TensorBoardLogger:
    requires = "tensorboard"

    def __init__(self, spec: RunSpec, folder: RunFolder, first_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(folder.tensorboard_dir), purge_step=first_step + 1 if first_step else None)

    def __call__(self, row: dict[str, Any]) -> None:
        for key, value in _scalars(row).items():
            self.writer.add_scalar(f"train/{key}", value, int(row["step"]))

    def close(self) -> None:
        self.writer.close()


@LOGGERS.register("wandb")
class WandbLogger:
    requires = "wandb"

    def __init__(self, spec: RunSpec, folder: RunFolder, first_step: int) -> None:
        import wandb
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "robustbench-ft"), id=spec.digest(),
                              name=f"{spec.method} seed {spec.seed} {spec.digest()}", resume="allow",
                              dir=str(folder.wandb_parent), mode=os.environ.get("WANDB_MODE", "offline"),
                              config=spec.to_dict(), reinit="finish_previous")

    def __call__(self, row: dict[str, Any]) -> None:
        self.run.log(_scalars(row), step=int(row["step"]))

    def close(self) -> None:
        self.run.finish()


def logger_names(text: str | None) -> list[str]:
    """The names in a `--log` value ('tensorboard,wandb'), each a known and installed logger."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    for name in names:
        if name not in LOGGERS:
            raise ConfigError(f"unknown logger {name!r} in --log {text!r}; known: {', '.join(LOGGERS.names())}")
        _require(LOGGERS.get(name).requires, name)
    return names


class Loggers:
    """metrics.jsonl's writer and the spec's live loggers behind one callable."""

    def __init__(self, record, spec: RunSpec, folder: RunFolder, first_step: int) -> None:
        self.record = record
        self.live: list[Logger] = [LOGGERS.get(n)(spec, folder, first_step) for n in logger_names(spec.log)]

    def __call__(self, row: dict[str, Any]) -> None:
        self.record(row)
        for logger in self.live:
            logger(row)

    def close(self) -> None:
        for logger in self.live:
            logger.close()
