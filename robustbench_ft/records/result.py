"""A finished run's record (result.json) as typed objects, with its JSON form and its upgrades.

    {"schema": 2, "run": digest, "config": digest without the seed, "benchmark": name,
     "identity": {...}, "spec": {... every field, hyper-parameters per part},
     "id_split": "photo", "ood_splits": [...], "train": {...} or null,
     "records": [{"alpha"?: a, "val_acc": v, "splits": {split: {metric: value}},
                  "ood_val": {ood split: {metric: value}}, "ood_rest": {...}}, ...],
     "bad_images": [...], "seconds": s, "processes": n, "built_on": [digest, ...],
     "metrics"?: {"primary": [metric, ...], "select_on": metric, "groups"?: name},
     "migrated_from"?: {...}}

`records` holds one Evaluation per evaluated variant (one for ordinary methods, one per alpha for
WiSE). Schema-1 records (written before spec version 2: no `config` nor `identity`, flat
hyper-parameters) are read as they are, their configuration named 'v1-<digest of the old spec>';
`robustbench-ft migrate` rewrites them (records/migrate.py). `built_on` (the runs a run builds on,
so a report can count what a row cost) is empty in records written before it existed. `metrics`
says which metrics the benchmark reports first and which one `val_acc` holds (`select_on`: accuracy
unless the benchmark selects on another, e.g. iWildCam's macro-F1); absent: accuracy. Field
meanings: docs/records.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..core.config import benchmark_key
from ..core.identity import digest_of

RESULT_SCHEMA = 2  # 2: nested hyper-parameters, `config` and `identity`
LEGACY_CONFIG_PREFIX = "v1-"
DEFAULT_WEIGHTS = "embedded"  # RunSpec's default `pretrained`, which identities leave out


@dataclass(frozen=True)
class TrainRecord:
    """How a training run went: its budget, the kept step and its selection score, its time."""

    steps: int
    best_step: int
    best_val_acc: float  # the selection signal of the kept checkpoint (see selected_on)
    seconds: float
    step_seconds_median: float
    selected_on: str = "id_val"  # id_val, id_test (the paper code's oracle) or last

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "TrainRecord":
        return cls(**data)


@dataclass(frozen=True)
class Evaluation:
    """One evaluated variant of a run: its metrics on every test split and on ID validation.

    `ood_val` and `ood_rest` hold each OOD split's metrics on its fixed held-out part (the
    `oracle_ood_val` selection rule's signal) and on the rest (what that rule reports); empty in
    records written before they existed."""

    splits: Mapping[str, Mapping[str, float]]
    val_acc: float | None = None
    alpha: float | None = None  # a post-hoc interpolation's weight; None for the run itself
    ood_val: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    ood_rest: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.alpha is None else {"alpha": self.alpha}
        out = {**out, "val_acc": self.val_acc, "splits": {s: dict(m) for s, m in self.splits.items()}}
        if self.ood_val or self.ood_rest:
            out["ood_val"] = {s: dict(m) for s, m in self.ood_val.items()}
            out["ood_rest"] = {s: dict(m) for s, m in self.ood_rest.items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Evaluation":
        parts = [_metrics_per_split(data["splits"] if key == "splits" else data.get(key) or {}, key)
                 for key in ("splits", "ood_val", "ood_rest")]
        return cls(parts[0], None if data.get("val_acc") is None else float(data["val_acc"]),
                   None if data.get("alpha") is None else float(data["alpha"]), parts[1], parts[2])


def _metrics_per_split(splits: Any, key: str) -> dict[str, dict[str, float]]:
    # dicts as JSON gives them are checked by type (an ABC check per split is most of a report's read time)
    if not (type(splits) is dict or isinstance(splits, Mapping)) or not all(
            type(m) is dict or isinstance(m, Mapping) for m in splits.values()):
        raise TypeError(f"'{key}' must map each split to its metrics")
    return {str(s): {str(k): float(v) for k, v in m.items()} for s, m in splits.items()}


def _metric_roles(roles: Any) -> dict[str, Any]:
    if roles is None:
        return {}
    if not isinstance(roles, Mapping) or not isinstance(roles.get("primary", []), list):
        raise TypeError("'metrics' must map 'primary' to a list of metrics")
    return dict(roles)


@dataclass(frozen=True)
class RunResult:
    """The final record of a run; `schema` is the version it was read from (written as today's)."""

    run: str
    config: str
    benchmark: str
    identity: Mapping[str, Any]
    spec: Mapping[str, Any]
    id_split: str
    ood_splits: list[str]
    evaluations: list[Evaluation]
    train: TrainRecord | None = None
    bad_images: list[str] = field(default_factory=list)
    seconds: float | None = None
    processes: int = 1
    migrated_from: Mapping[str, Any] | None = None
    schema: int = RESULT_SCHEMA
    built_on: list[str] = field(default_factory=list)  # digests of the runs it builds on (WiSE's FT run)
    metrics: Mapping[str, Any] = field(default_factory=dict)  # the benchmark's metric roles; {}: accuracy

    @property
    def primary_metrics(self) -> list[str]:
        return [str(m) for m in self.metrics.get("primary", ["acc"])]

    @property
    def select_on(self) -> str:
        """What `val_acc` of this run's evaluations measures on ID validation."""
        return str(self.metrics.get("select_on", "acc"))

    @property
    def method(self) -> str:
        return str(self.spec["method"])

    @property
    def seed(self) -> int:
        return int(self.spec["seed"])

    @property
    def model(self) -> str:
        return str(self.spec.get("model", "?"))

    @property
    def weights(self) -> str | None:
        """The weights as the identity names them: a tag, 'sha256:<16 hex>' of a file, or None."""
        if self.schema >= 2:
            return self.identity.get("pretrained", DEFAULT_WEIGHTS)
        return self.spec.get("pretrained", DEFAULT_WEIGHTS)

    @property
    def nested_hparams(self) -> bool:
        """Whether `spec["hparams"]` is per method part (schema 2) or one flat mapping (schema 1)."""
        return self.schema >= 2

    def to_json(self) -> dict[str, Any]:
        out = {"schema": RESULT_SCHEMA, "run": self.run, "config": self.config, "benchmark": self.benchmark,
               "identity": dict(self.identity), "spec": dict(self.spec), "id_split": self.id_split,
               "ood_splits": list(self.ood_splits), "train": None if self.train is None else self.train.to_json(),
               "records": [e.to_json() for e in self.evaluations], "bad_images": list(self.bad_images),
               "seconds": self.seconds, "processes": self.processes, "built_on": list(self.built_on)}
        if self.metrics:
            out["metrics"] = dict(self.metrics)
        if self.migrated_from is not None:
            out["migrated_from"] = dict(self.migrated_from)
        return out

    @classmethod
    def from_json(cls, data: Any) -> "RunResult":
        """The record of a result.json's parsed content, schema 1 or 2; a malformed one raises
        ValueError, KeyError or TypeError (the reader names the file)."""
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        schema = data.get("schema", 1)
        if schema not in (1, RESULT_SCHEMA):
            raise ValueError(f"unknown result schema {schema!r} (this version reads 1 and {RESULT_SCHEMA})")
        spec = data["spec"]
        if not isinstance(spec, Mapping) or "method" not in spec or "seed" not in spec:
            raise TypeError("'spec' must be a mapping with the run's method and seed")
        if schema >= 2:
            config, identity = str(data["config"]), data["identity"]
        else:
            config = LEGACY_CONFIG_PREFIX + digest_of({k: v for k, v in spec.items() if k != "seed"})
            identity = {}
        train = data.get("train")
        return cls(run=str(data["run"]), config=config,
                   benchmark=str(data.get("benchmark") or benchmark_key(str(spec["benchmark"]))),
                   identity=dict(identity), spec=dict(spec), id_split=str(data["id_split"]),
                   ood_splits=[str(s) for s in data.get("ood_splits", [])],
                   evaluations=[Evaluation.from_json(r) for r in data["records"]],
                   train=None if train is None else TrainRecord.from_json(train),
                   bad_images=list(data.get("bad_images") or []), seconds=data.get("seconds"),
                   processes=int(data.get("processes", 1)), migrated_from=data.get("migrated_from"),
                   schema=int(schema), built_on=[str(d) for d in data.get("built_on") or []],
                   metrics=_metric_roles(data.get("metrics")))

    def renamed(self, run: str, config: str, identity: Mapping[str, Any], spec: Mapping[str, Any],
                spec_version: int) -> "RunResult":
        """This record under a migrated run's new names, remembering the old ones (and any before)."""
        earlier = {"earlier": dict(self.migrated_from)} if self.migrated_from else {}
        return dataclasses.replace(
            self, run=run, config=config, identity=dict(identity), spec=dict(spec), schema=RESULT_SCHEMA,
            migrated_from={"spec_version": spec_version, "schema": self.schema, "run": self.run, **earlier})
