"""Collect finished runs under a results folder into one tidy pandas frame.

Schema (version TIDY_SCHEMA_VERSION, a public contract, documented in docs/records.md): one row
per (run, record, split, metric) with columns
    benchmark, method, model, pretrained, config, <settings that vary>, steps, batch_size,
    shots, selection, alpha, seed, split, role, metric, value, run, id_val_acc, ood_val_acc,
    requested, train_steps, compute_s, built_on
`config` is the digest of the run's identity without its seed: seeds are aggregated only within
one config. `<settings that vary>` is one column per RunSpec field (`lr`, `weight_decay`, ...)
or method hyper-parameter (`lipsum.lam`, named part.key) that takes more than one value in the
frame, sorted by name. `alpha` is empty (NaN) except for post-hoc interpolations; `role` is 'id'
or 'ood'; `value` is in the metric's natural unit (accuracy as a fraction in [0, 1]);
`id_val_acc` is the record's score on the ID validation split (the model-selection signal):
accuracy, unless the benchmark selects on another metric (its records' `metrics.select_on`,
iWildCam's macro-F1).
Rows of role `ood_rest` hold an OOD split's metrics without its held-out part and `ood_val_acc`
the held-out parts' mean score (accuracy, or the benchmark's select_on metric, as `id_val_acc`;
the `oracle_ood_val` rule's; schema 3, NaN before): a table shows `id` and `ood` rows unless
that rule swaps in the `ood_rest` ones (selection.py).
Then what the run cost (schema 3): `requested` (whether a run or sweep asked for this
configuration of this method, rather than only building on it: records/requests.py),
`train_steps` (0 for runs that train nothing), `compute_s` (seconds times processes) and
`built_on` (the digests of the runs it builds on, space-separated).

`shots` (schema 4) is a low-shot run's K images per class, empty for runs on every training
image; such a run's `benchmark` is '<name>/<K>-shot', so tables and selection treat each shot
count as a benchmark of its own.

Schema-1 records (result.json "schema": 1, written before spec version 2) still load: their
config is a digest of their old spec prefixed 'v1-', and their hyper-parameters get no columns
(`robustbench-ft migrate` rewrites them as schema 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as arrow_csv

from ..core.spec import RunSpec
from ..records.layout import ResultsTree, RunState, UnreadableFileError
from ..records.requests import RequestLog, is_requested
from ..records.result import RunResult

TIDY_SCHEMA_VERSION = 4
RUN_COLUMNS = ["benchmark", "method", "model", "pretrained", "config"]
BUDGET_COLUMNS = ["steps", "batch_size", "shots", "selection"]  # always present: what a paper states
ROW_COLUMNS = ["alpha", "seed", "split", "role", "metric", "value", "run", "id_val_acc", "ood_val_acc"]
COST_COLUMNS = ["requested", "train_steps", "compute_s", "built_on"]  # what a run cost (report/budget.py)
FLOAT_ROW_COLUMNS = {"alpha", "value", "id_val_acc", "ood_val_acc"}
OOD_REST = "ood_rest"  # role of an OOD split's metrics without its held-out oracle part
CATEGORICAL = ["benchmark", "method", "model", "pretrained", "config", "selection", "split", "role", "metric",
               "run", "built_on"]
NOT_SETTINGS = {"benchmark", "method", "model", "pretrained", "seed", "hparams", *BUDGET_COLUMNS,
                *(f.name for f in fields(RunSpec) if f.metadata.get("identity", True) is False)}


@dataclass
class Collection:
    frame: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)
    folders: dict[str, Path] = field(default_factory=dict)  # run digest -> its folder (metrics.jsonl)
    # benchmark -> (its primary metrics in table order, the name of its groups), as its records say
    primary: dict[str, tuple[list[str], str | None]] = field(default_factory=dict)


def _settings(spec: dict[str, Any], nested_hparams: bool) -> dict[str, Any]:
    """Every setting of a run as flat columns: spec fields, then part.key hyper-parameters."""
    out = {k: v for k, v in spec.items() if k not in NOT_SETTINGS}
    if nested_hparams:
        for part, values in (spec.get("hparams") or {}).items():
            out.update({f"{part}.{key}": value for key, value in values.items()})
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in out.items()}


def benchmark_label(result: RunResult) -> str:
    """The benchmark as reports group runs: a low-shot run's is '<name>/<K>-shot', so each shot
    count is compared (and selected) on its own, never picked as if it were a tuning setting."""
    shots = result.spec.get("shots")
    return result.benchmark if shots is None else f"{result.benchmark}/{int(shots)}-shot"


def base_benchmark(label: str) -> str:
    """The benchmark a frame's `benchmark` label names, its '/<K>-shot' left off."""
    return label.split("/")[0]


def _run_info(result: RunResult) -> dict[str, Any]:
    """The run-level columns of one result record."""
    spec, weights = result.spec, result.weights
    return {"benchmark": benchmark_label(result), "method": result.method, "model": result.model,
            "pretrained": "none" if weights is None else str(weights), "config": result.config,
            "steps": spec.get("steps"), "batch_size": spec.get("batch_size"), "shots": spec.get("shots"),
            "selection": spec.get("selection", "best_id_val"),
            "train_steps": 0 if result.train is None else int(result.train.steps),
            "compute_s": float("nan") if result.seconds is None else float(result.seconds) * result.processes,
            "built_on": " ".join(result.built_on),
            "settings": _settings(dict(spec), result.nested_hparams)}


def _rows(result: RunResult) -> dict[str, list]:
    """The row columns (alpha, seed, split, role, metric, value, id_val_acc, ood_val_acc) of one
    result, one entry per evaluation, split and metric; built by column (whole lists at a time),
    since 10,000 records are 300,000 rows. Each OOD split's metrics without its held-out oracle
    part come as rows of role `ood_rest`; the held-out parts' mean score is `ood_val_acc` (accuracy,
    or the benchmark's `select_on` metric, as for `id_val_acc`)."""
    id_split, score = result.id_split, result.select_on  # the oracle selects on what ID validation would
    columns: dict[str, list] = {name: [] for name in ROW_COLUMNS if name != "run"}
    for evaluation in result.evaluations:
        alpha = float("nan") if evaluation.alpha is None else evaluation.alpha
        val = float("nan") if evaluation.val_acc is None else evaluation.val_acc
        held_out = [m[score] for m in evaluation.ood_val.values() if score in m]
        ood_val = sum(held_out) / len(held_out) if held_out else float("nan")
        parts = [(split, "id" if split == id_split else "ood", metrics) for split, metrics in evaluation.splits.items()]
        parts += [(split, OOD_REST, metrics) for split, metrics in evaluation.ood_rest.items()]
        for split, role, metrics in parts:
            n = len(metrics)
            columns["alpha"] += [alpha] * n
            columns["split"] += [split] * n
            columns["role"] += [role] * n
            columns["metric"] += metrics.keys()
            columns["value"] += metrics.values()
            columns["id_val_acc"] += [val] * n
            columns["ood_val_acc"] += [ood_val] * n
    columns["seed"] = [result.seed] * len(columns["value"])
    return columns


def collect(results_root: str | Path, requested_by: str | None = None) -> Collection:
    """Every finished run under the root; runs without a readable result are listed with the
    reason (failed and why, incomplete, or the file that could not be read), never dropped silently.
    `requested` says whether a request asked for the run's configuration (records/requests.py); with
    `requested_by`, a request of that source ("sweep NAME", "run")."""
    parsed: list[tuple[dict[str, Any], dict[str, list]]] = []
    skipped: list[tuple[str, str]] = []
    try:
        requested = RequestLog(results_root).requested(requested_by)
    except UnreadableFileError as err:
        requested, skipped = None, [(str(err.path), f"{err}")]
    folders: dict[str, Path] = {}
    primary: dict[str, tuple[list[str], str | None]] = {}
    for folder in ResultsTree(Path(results_root)).runs():
        seen = folder.inspect()
        if seen.state is RunState.NEW:
            continue  # an empty folder: nothing was ever written
        if seen.result is not None:
            parsed.append(_parse(seen.result, requested))
            folders[seen.result.run] = folder.path
            if seen.result.metrics:
                primary.setdefault(benchmark_label(seen.result),
                                   (seen.result.primary_metrics, seen.result.metrics.get("groups")))
            continue
        why = {RunState.FAILED: f"failed: {seen.reason}", RunState.CORRUPT: seen.reason,
               RunState.RUNNING: f"running ({seen.reason})"}.get(seen.state, "incomplete (no result.json)")
        skipped.append((str(folder.path), "; ".join([why, *seen.problems])))
    return Collection(_frame(parsed), skipped, folders, primary)


def frame_from_results(results: Iterable[RunResult], requested: set[tuple[str, str, int | None]] | None = None
                       ) -> pd.DataFrame:
    """The tidy frame of result records already in memory (e.g. those a grid just produced); a
    record counts as requested when `requested` holds its (method, config, seed) or (method,
    config, None) (None: every one)."""
    return _frame([_parse(r, requested) for r in results])


def _parse(result: RunResult, requested: set[tuple[str, str, int | None]] | None
           ) -> tuple[dict[str, Any], dict[str, list]]:
    """(run-level columns, rows) of one result record; `requested`: whether a request asked for
    its configuration at its seed (records/requests.py; None: every run was)."""
    asked = is_requested(requested, result.method, result.config, result.seed)
    return {**_run_info(result), "run": result.run, "requested": asked}, _rows(result)


def _frame(parsed: list[tuple[dict[str, Any], dict[str, list]]]) -> pd.DataFrame:
    names = [c for c in ROW_COLUMNS if c != "run"]
    joined: dict[str, list] = {name: [] for name in names}
    for _, columns in parsed:
        for name in names:
            joined[name] += columns[name]
    rows = pd.DataFrame({name: _typed(name, joined[name]) for name in names})
    infos = [info for info, _ in parsed]
    settings = pd.DataFrame.from_records([info.pop("settings") for info in infos])
    varying = sorted(c for c in settings.columns if settings[c].dropna().astype(str).nunique() > 1)
    runs = pd.DataFrame.from_records(infos, columns=RUN_COLUMNS + BUDGET_COLUMNS + ["run"] + COST_COLUMNS)
    runs["shots"] = runs["shots"].astype("Int64")  # empty: every training image
    runs = pd.concat([runs, settings[varying]], axis=1)
    # run-level columns reach the rows by position: one take per column, no join on strings
    owner = np.repeat(np.arange(len(parsed)), [len(columns["value"]) for _, columns in parsed])
    for column in runs.columns:
        values = runs[column].astype("category") if column in CATEGORICAL else runs[column]
        rows[column] = values.take(owner).reset_index(drop=True) if len(owner) else values.iloc[:0]
    frame = rows[RUN_COLUMNS + varying + BUDGET_COLUMNS + ROW_COLUMNS + COST_COLUMNS]
    # few distinct values each: categories make the many equality filters of tables cheap
    return frame.astype({c: "category" for c in CATEGORICAL})


def _typed(name: str, values: list) -> Any:
    """One row column as its frame type: floats, int64 seeds, categories for repeated strings."""
    if name in FLOAT_ROW_COLUMNS:
        return np.array(values, dtype=float)
    if name == "seed":
        return np.array(values, dtype=np.int64)
    return pd.Categorical(values) if name in CATEGORICAL else values


def setting_columns(frame: pd.DataFrame) -> list[str]:
    """The varying-setting columns of a tidy frame (between `config` and `steps`)."""
    columns = list(frame.columns)
    return columns[columns.index("config") + 1:columns.index("steps")]


def tidy_csv(frame: pd.DataFrame) -> bytes:
    """The tidy frame as CSV text, written by Arrow's C++ writer (pandas' writer took 1.5 s of the
    2 s a 10,000-record report may take). Strings are quoted, numbers are not, NaN is empty; every
    value reads back as pandas wrote it. Object columns (settings of mixed runs) go as text."""
    text_columns = {c: "string" for c in frame.columns if frame[c].dtype == object}
    table = pa.Table.from_pandas(frame.astype(text_columns), preserve_index=False)
    sink = pa.BufferOutputStream()
    arrow_csv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()
