"""RunSpec: everything that defines one run, frozen and typed; its digest names its results folder.

Two specs that describe the same run have the same digest wherever and whenever they are made, so
a grid can be re-submitted and finished runs are skipped (results/<benchmark>/<method>/<digest>/).
What goes into the digest (a version, the fields that differ from their defaults, weights by tag
or file digest) is the business of identity.py; this module only says what a run is.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from .config import ConfigError
from .hparams import split_by_part
from .identity import SPEC_VERSION, digest_of, spec_identity

SELECTION_RULES = ("best_id_val", "id_test", "last")  # id_test: the paper code's oracle
SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16")
NULL_WORDS = ("none", "null")  # an optional field given as one of these words is null (None)


def _field(default: Any, help: str, identity: bool = True, choices: tuple[str, ...] = (),
           training: bool = False) -> Any:
    """A RunSpec field with its meaning (the CLI's help), whether it names the run, its choices,
    and whether only training reads it (a method that trains nothing ignores it: compose.py)."""
    return field(default=default, metadata={"help": help, "identity": identity, "choices": choices,
                                            "training": training})


def _freeze(value: Any) -> Any:
    """Lists become tuples and mappings sorted pairs, so specs stay hashable and comparable."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def training_fields() -> tuple[str, ...]:
    """The fields only the trainer reads (steps, lr, ...): a method that trains nothing, such as
    zero-shot or Kumar et al.'s probe, is not multiplied or renamed by them."""
    return tuple(f.name for f in fields(RunSpec) if f.metadata.get("training"))


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class RunSpec:
    """One run: benchmark, method and its hyper-parameters, model, seed, budget, selection.

    `hparams` holds the method's hyper-parameters per part (`{"lipsum": {"lam": 1.0}}`); a
    single-part method may be given them flat. A field whose metadata says `identity: False`
    (where data lives, say) never enters the digest. Each field's `help` says what it means: the
    CLI's flags are made from the fields (cli/flags.py), so a flag and a YAML key mean one thing.
    """

    benchmark: str
    method: str
    model: str = _field("tiny-clip", "open_clip model name (default: the benchmark's / tiny-clip)")
    pretrained: str | None = _field("embedded", "open_clip tag or local weights file for the model; none: random init")
    seed: int = _field(0, "the run's seed")
    steps: int = _field(370, "optimiser steps", training=True)
    batch_size: int = _field(128, "images per micro-batch, split over the processes of a DDP run (an optimiser "
                             "step sees batch_size x accum_steps)", training=True)
    lr: float = _field(3e-4, "peak learning rate of AdamW", training=True)
    weight_decay: float = _field(0.1, "AdamW weight decay (presets: 0.1; the Lipsum-FT code's default is 0)",
                                 training=True)
    warmup_frac: float = _field(0.1, "fraction of the steps spent warming the lr up linearly from 0", training=True)
    schedule: str = _field("cosine", "lr after the warm-up", choices=SCHEDULES, training=True)
    grad_clip: float | None = _field(None, "clip the gradient norm to this (none: no clipping)", training=True)
    accum_steps: int = _field(1, "micro-batches accumulated per optimiser step", training=True)
    eval_every: int = _field(74, "steps between evaluations on ID validation (checkpoint selection)", training=True)
    selection: str = _field("best_id_val", "which checkpoint a run keeps (id_test: the paper code's oracle, "
                            "marked in reports)", choices=SELECTION_RULES, training=True)
    precision: str = _field("auto", "autocast: auto (bf16 on GPUs), fp32 or bf16", choices=PRECISIONS)
    templates: str | None = _field(None, "prompt templates: openai, simple or a file (default: the benchmark's)")
    shots: int | None = _field(None, "low-shot: train on a fixed, seeded K images per class (ID validation shrinks "
                               "alike unless the benchmark has its own split); none: every training image")
    data_root: str | None = _field(None, "where the benchmark's data lives (else $ROBUSTBENCH_DATA, else its YAML)",
                                   identity=False)
    workers: int | None = _field(None, "DataLoader processes per run (default: CPUs - 1, at most 8)", identity=False)
    cache_dir: str | None = _field(None, "where the evaluation cache of image files goes (~150 KB an image at 224 "
                                   "px; default: $ROBUSTBENCH_FT_CACHE_DIR, else <results>/_artifacts): node-local "
                                   "scratch keeps it off a quota'd disk", identity=False)
    checkpoint_every: int | None = _field(None, "save the resume state every N steps (default: at each "
                                          "evaluation and every 10 min)", identity=False)
    log: str | None = _field(None, "live training logs beside metrics.jsonl: tensorboard, wandb (offline unless "
                             "WANDB_MODE says otherwise), comma-separated; optional packages", identity=False)
    compile: bool = _field(False, "torch.compile the trained model (GPU speed)", identity=False)
    hparams: Mapping[str, Any] | tuple = field(default_factory=tuple)  # given as a mapping, kept frozen

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "hparams":
                object.__setattr__(self, f.name, _typed(self, f.name, getattr(self, f.name)))
        given = self.hparams if isinstance(self.hparams, Mapping) else _thaw_pairs(self.hparams)
        by_part = {part: values for part, values in split_by_part(self.method, given).items() if values}
        object.__setattr__(self, "hparams", _freeze(by_part))
        self.validate()

    def validate(self) -> None:
        problems = []
        if min(self.steps, self.batch_size, self.accum_steps, self.eval_every) < 1:
            problems.append("steps, batch_size, accum_steps and eval_every >= 1")
        if self.workers is not None and self.workers < 0:
            problems.append("workers >= 0")
        if self.shots is not None and self.shots < 1:
            problems.append("shots >= 1 (or none: every training image)")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            problems.append("checkpoint_every >= 1 (or null: at every evaluation)")
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
            got = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "hparams")
            raise ConfigError(f"invalid run spec of {self.method!r} on {self.benchmark!r}: expected "
                              f"{'; '.join(problems)} (got {got})")

    @property
    def parts(self) -> list[str]:
        """The method's parts in order: 'lipsum+wise' -> ['lipsum', 'wise']."""
        return self.method.split("+")

    def hparams_of(self, part: str) -> dict[str, Any]:
        """The hyper-parameters given for one part of the method (as given, not yet defaulted)."""
        return self.hparams_dict().get(part, {})

    def hparams_dict(self) -> dict[str, dict[str, Any]]:
        return _thaw_pairs(self.hparams)

    def replace(self, **changes: Any) -> "RunSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["hparams"] = self.hparams_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RunSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown run spec fields {unknown}; known: {sorted(known)}")
        return cls(**data)

    @functools.cached_property
    def _identity(self) -> dict[str, Any]:
        return spec_identity(self)  # a frozen spec names one run: computed once (a plan asks often)

    def identity(self) -> dict[str, Any]:
        """What names this run (see identity.py): the digest is the hash of this mapping."""
        return dict(self._identity)

    def digest(self) -> str:
        """12 hex digits naming the run's folder."""
        if "_digest" not in self.__dict__:
            self.__dict__["_digest"] = digest_of(self._identity)
        return self.__dict__["_digest"]

    def config_digest(self) -> str:
        """12 hex digits naming the configuration: the run's identity without its seed."""
        return digest_of({k: v for k, v in self._identity.items() if k != "seed"})

    def to_record(self) -> dict[str, Any]:
        """What a run folder's spec.yaml holds: the spec version and every field."""
        return {"spec_version": SPEC_VERSION, **self.to_dict()}


def _thaw_pairs(pairs: Any) -> dict[str, dict[str, Any]]:
    """The nested hyper-parameter mapping back from its frozen pairs."""
    return {str(part): {str(k): _thaw(v) for k, v in values} if isinstance(values, tuple) else values
            for part, values in pairs}


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _typed(spec: RunSpec, name: str, value: Any) -> Any:
    """`value` checked against the field's annotation (ints accepted for floats)."""
    hint = _field_types(type(spec))[name]
    allowed = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if type(None) in allowed and (value is None or (isinstance(value, str) and value.strip().lower() in NULL_WORDS)):
        return None  # `pretrained: none` in a YAML means what `--pretrained none` means: random init
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if any(isinstance(value, t) and not (t is not bool and isinstance(value, bool))
           for t in allowed if t is not type(None)):
        return value
    names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
    raise ConfigError(f"run spec field {name!r} must be {names}, got {type(value).__name__} {value!r} "
                      f"(method {spec.method!r}, benchmark {spec.benchmark!r})")
