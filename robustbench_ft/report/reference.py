"""Measured beside published: the papers' numbers for the same benchmark, model and weights.

Published accuracies live in one data file, presets/reference/published.yaml, each entry with its
source. For every selected method of a benchmark whose (method, model, weights) a paper reports,
the table gives per split (and the mean over the OOD splits the paper lists) the measured mean and
spread over seeds, the published number, the difference, and whether the published number lies
within the seed spread: inside mean +- 2 sample standard deviations (roughly a 95% range for one
seed's result; needs 2 seeds or more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..core.config import ConfigError, presets_dir, read_yaml
from .tables import MEAN_OOD, Entry

SPREAD_SDS = 2.0


@dataclass(frozen=True)
class Published:
    source: str
    method: str
    benchmark: str
    model: str
    pretrained: str
    splits: dict[str, float]  # accuracy in percent


def published_numbers(path: Path | None = None) -> list[Published]:
    path = path or presets_dir("reference") / "published.yaml"
    entries = read_yaml(path).get("published")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected `published:` with a list of entries")
    try:
        return [Published(e["source"], e["method"], e["benchmark"], e["model"], str(e["pretrained"]),
                          {k: float(v) for k, v in e["splits"].items()}) for e in entries]
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ConfigError(f"{path}: each entry needs source, method, benchmark, model, pretrained and "
                          f"splits (split: accuracy %): {err}") from err


def _measured(entry: Entry, splits: list[str], ood: list[str]) -> pd.DataFrame:
    """Per seed, accuracy (%) per split and the mean over `ood`, at the entry's chosen alpha."""
    rows = entry.choice.rows
    rows = rows[(rows["metric"] == "acc")]
    rows = rows[rows["alpha"].isna()] if entry.choice.alpha is None else \
        rows[(rows["alpha"] - entry.choice.alpha).abs() < 1e-9]
    per_seed = 100 * rows.pivot_table(index="seed", columns="split", values="value", aggfunc="mean", observed=True)
    per_seed = per_seed[[s for s in splits if s in per_seed]]
    if ood and all(s in per_seed for s in ood):
        per_seed[MEAN_OOD] = per_seed[ood].mean(axis=1)
    return per_seed


def reference_markdown(entries_: list[Entry], benchmark: str, id_split: str,
                       published: list[Published] | None = None) -> str:
    """The measured-vs-published table of one benchmark; empty when no paper reports its runs."""
    published = published_numbers() if published is None else published
    lines: list[str] = []
    sources: list[str] = []
    for entry in entries_:
        c = entry.choice
        for paper in published:
            if (paper.benchmark, paper.method, paper.model, paper.pretrained) != \
                    (benchmark, c.method, c.model, c.pretrained):
                continue
            ood = [s for s in paper.splits if s != id_split]
            numbers = dict(paper.splits)
            if ood:
                numbers[MEAN_OOD] = sum(paper.splits[s] for s in ood) / len(ood)
            measured = _measured(entry, list(paper.splits), ood)
            if paper.source not in sources:
                sources.append(paper.source)
            ref = f"[{sources.index(paper.source) + 1}]"
            for column, value in numbers.items():
                lines.append(_row(entry.label, column, measured.get(column), value, ref))
    if not lines:
        return ""
    head = ["| Method | split | measured (%) | published (%) | difference (pp) | within seed spread | source |",
            "|---|---|---:|---:|---:|---|---|"]
    note = (f"- measured: mean ± sample std over seeds of the selected configuration; *within seed spread*: the "
            f"published number lies inside measured mean ± {SPREAD_SDS:g} std (– with one seed or a split not run). "
            f"Published numbers: robustbench_ft/presets/reference/published.yaml.")
    cited = [f"- [{i}] {source}" for i, source in enumerate(sources, 1)]
    return "\n".join([*head, *lines, "", note, *cited]) + "\n"


def _row(label: str, column: str, values: pd.Series | None, published: float, source: str) -> str:
    if values is None or values.dropna().empty:
        return f"| {label} | {column} | – | {published:.2f} | – | – | {source} |"
    values = values.dropna()
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    within = "–" if math.isnan(std) else ("yes" if abs(published - mean) <= SPREAD_SDS * std else "no")
    shown = f"{mean:.2f}" + ("" if math.isnan(std) else f" ± {std:.2f}")
    return f"| {label} | {column} | {shown} | {published:.2f} | {mean - published:+.2f} | {within} | {source} |"
