"""Collect finished runs under a results folder into one tidy pandas frame.

Schema (version TIDY_SCHEMA_VERSION, a public contract, documented in docs/records.md): one row
per (run, record, split, metric) with columns
    benchmark, method, alpha, seed, split, role, metric, value, run, id_val_acc
`alpha` is empty (NaN) except for post-hoc interpolations; `role` is 'id' or 'ood'; `value` is in
the metric's natural unit (accuracy as a fraction in [0, 1]); `id_val_acc` is the record's
accuracy on the ID validation split (the model-selection signal, e.g. for the best WiSE alpha).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import benchmark_key

TIDY_SCHEMA_VERSION = 1
CATEGORICAL = ["benchmark", "method", "split", "role", "metric", "run"]
COLUMNS = ["benchmark", "method", "alpha", "seed", "split", "role", "metric", "value", "run",
           "id_val_acc"]


@dataclass
class Collection:
    frame: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (folder, why)


def _rows(result: dict) -> list[tuple]:
    spec = result["spec"]
    id_split = result["id_split"]
    benchmark = result.get("benchmark") or benchmark_key(spec["benchmark"])
    rows = []
    for record in result["records"]:
        alpha = record.get("alpha")
        alpha = float("nan") if alpha is None else float(alpha)
        for split, metrics in record["splits"].items():
            role = "id" if split == id_split else "ood"
            for metric, value in metrics.items():
                rows.append((benchmark, spec["method"], alpha, int(spec["seed"]), split, role,
                             metric, float(value), result["run"], float(record.get("val_acc", "nan"))))
    return rows


def collect(results_root: str | Path) -> Collection:
    """Every finished run (result.json) under the root; unfinished or broken ones are listed."""
    root = Path(results_root)
    rows: list[tuple] = []
    skipped: list[tuple[str, str]] = []
    for spec_file in sorted(root.rglob("spec.yaml")):
        folder = spec_file.parent
        result_file = folder / "result.json"
        if not result_file.is_file():
            why = "failed: " + json.loads((folder / "error.json").read_text()).get("reason", "?") \
                if (folder / "error.json").is_file() else "incomplete (no result.json)"
            skipped.append((str(folder), why))
            continue
        try:
            rows.extend(_rows(json.loads(result_file.read_text())))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            skipped.append((str(folder), f"unreadable result.json ({type(err).__name__}: {err})"))
    return Collection(_frame(rows), skipped)


def frame_from_results(results: list[dict]) -> pd.DataFrame:
    """The tidy frame of result records already in memory (e.g. those a grid just produced)."""
    return _frame([row for result in results for row in _rows(result)])


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=COLUMNS)
    # few distinct values each: categories make the many equality filters of tables cheap
    return frame.astype({c: "category" for c in CATEGORICAL})
