"""RunSpec: everything that defines one run, frozen, hashed to name its results folder.

Two specs with equal fields are the same run wherever and whenever they are made, so a grid can be
re-submitted and finished runs are skipped (results/<benchmark>/<method>/<hash>/).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

import yaml

from .config import ConfigError

SELECTION_RULES = ("best_id_val", "last")
SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16")


def _freeze(value: Any) -> Any:
    """Lists become tuples and mappings sorted pairs, so specs stay hashable and comparable."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class RunSpec:
    """One run: benchmark, method and its hyper-parameters, model, seed, budget, selection."""

    benchmark: str
    method: str
    model: str = "tiny-clip"
    pretrained: str | None = "embedded"
    seed: int = 0
    steps: int = 370
    batch_size: int = 128
    lr: float = 3e-4
    weight_decay: float = 0.1
    warmup_frac: float = 0.1
    schedule: str = "cosine"
    grad_clip: float | None = None
    accum_steps: int = 1
    eval_every: int = 74
    selection: str = "best_id_val"
    precision: str = "auto"
    hparams: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hparams", _freeze(dict(self.hparams)))
        self.validate()

    def validate(self) -> None:
        problems = []
        if self.steps < 0 or self.batch_size < 1 or self.accum_steps < 1 or self.eval_every < 1:
            problems.append("steps >= 0, batch_size, accum_steps and eval_every >= 1")
        if not 0 <= self.warmup_frac < 1:
            problems.append("warmup_frac in [0, 1)")
        if self.lr < 0 or self.weight_decay < 0:
            problems.append("lr and weight_decay >= 0")
        if self.selection not in SELECTION_RULES:
            problems.append(f"selection in {SELECTION_RULES}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule in {SCHEDULES}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision in {PRECISIONS}")
        if problems:
            raise ConfigError(f"invalid run spec {self.to_dict()}: expected {'; '.join(problems)}")

    def hparam(self, key: str, default: Any = None) -> Any:
        return _thaw(dict(self.hparams).get(key, default))

    def replace(self, **changes: Any) -> "RunSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["hparams"] = {k: _thaw(v) for k, v in self.hparams}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown run spec fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    def digest(self) -> str:
        """12 hex digits of SHA-256 over the canonical JSON of every field."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=True)
