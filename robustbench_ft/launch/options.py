"""How a plan is launched: the launcher's name and the scheduler's resources, typed once.

The same options come from `run`/`sweep` flags or from a sweep YAML's `launcher:` block (flags
win). Each field says which launchers read it; a launcher ignores the rest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..core.config import ConfigError


def _option(default: Any, help: str, flag: str | None = None) -> Any:
    """A launch option with its meaning; `flag` when its flag is not its name (`--local-jobs`:
    `--workers` is the DataLoader's)."""
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class LaunchOptions:
    launcher: str = _option("inline", "where runs execute: inline, local or slurm")
    wait: bool = _option(False, "slurm: block until the sweep ends, then print the table")
    runs_per_job: int = _option(1, "local, slurm: runs packed into one job (short runs)")
    workers: int = _option(2, "local: jobs at once", flag="local-jobs")
    gpus_per_job: int = _option(0, "local, slurm: GPUs per job; DDP over them when more than 1")
    tasks_per_job: int | None = _option(None, "local, slurm: processes per job (default: the GPUs, at least 1)")
    time: int = _option(60, "slurm: minutes per job before it checkpoints and requeues")
    max_requeues: int = _option(20, "slurm: time-outs a job may requeue after (submitit's default: 3)")
    partition: str | None = _option(None, "slurm: partition")
    account: str | None = _option(None, "slurm: account")
    qos: str | None = _option(None, "slurm: quality of service")
    cpus_per_task: int | None = _option(None, "slurm: CPUs per task")
    mem_gb: float | None = _option(None, "slurm: memory per job in GB")
    array_parallelism: int | None = _option(None, "slurm: array tasks running at once")
    constraint: str | None = _option(None, "slurm: node features required")
    sbatch: Mapping[str, str] = field(default_factory=dict, metadata={
        "help": "slurm: any other sbatch option, KEY=VALUE (repeatable)"})

    @property
    def tasks(self) -> int:
        return self.tasks_per_job or max(1, self.gpus_per_job)

    def updated(self, changes: Mapping[str, Any], where: str) -> "LaunchOptions":
        """These options with `changes` (a YAML block or flags; None values ignored), checked."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(changes) - set(known) - {"name"})
        if unknown:
            raise ConfigError(f"{where}: unknown launcher options {unknown}; known: {sorted(known)}")
        typed: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            name = "launcher" if key == "name" else key
            typed[name] = _typed(name, value, known[name].type, where)
        options = dataclasses.replace(self, **typed)
        options.check(where)
        return options

    def check(self, where: str) -> None:
        for name in ("runs_per_job", "workers", "time", "tasks", "max_requeues"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: {name} must be at least 1, got {getattr(self, name)}")
        if self.gpus_per_job < 0:
            raise ConfigError(f"{where}: gpus_per_job must be 0 or more, got {self.gpus_per_job}")


def _typed(name: str, value: Any, annotation: str, where: str) -> Any:
    """Coerce a YAML or flag value to the field's type, or say what was expected."""
    if name == "sbatch":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: sbatch must map option names to values (e.g. {{exclusive: ''}}), "
                              f"got {value!r}")
        return {str(k): str(v) for k, v in value.items()}
    if name == "wait":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: wait must be true or false, got {value!r}")
        return value
    kind = int if "int" in annotation else float if "float" in annotation else str
    try:
        if kind is int and (isinstance(value, bool) or float(value) != int(float(value))):
            raise ValueError
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {name} must be {kind.__name__}, got {value!r}") from None
