"""Paper-style tables from the tidy frame: rows = methods, columns = ID, each OOD split, mean OOD.

Cells are mean +- std over seeds (sample std; a single seed shows the mean alone). Accuracy and
ECE are shown in percent with one decimal, NLL, feature distortion and energy gap with three
decimals. The best cell per column is bold (highest accuracy, lowest of the others). A post-hoc
method (rows with an alpha) appears twice: at the chosen alpha, and at the alpha with the best
mean ID validation accuracy, marked as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

FAMILIES: dict[str, list[str]] = {
    "accuracy": ["acc"],
    "uncertainty": ["nll", "ece"],
    "distortion": ["feature_distortion", "energy_gap"],
}
METRIC_LABELS = {"acc": "Acc. (%)", "nll": "NLL", "ece": "ECE (%)",
                 "feature_distortion": "Feature distortion", "energy_gap": "Energy gap"}
PERCENT = {"acc", "ece"}
HIGHER_IS_BETTER = {"acc"}
METHOD_LABELS = {"zeroshot": "Zero-shot", "lp": "LP", "ft": "FT", "lpft": "LP-FT",
                 "lipsum": "Lipsum-FT", "ft+wise": "WiSE-FT", "lipsum+wise": "Lipsum-FT + WiSE",
                 "lpft+wise": "LP-FT + WiSE"}
METHOD_ORDER = ["zeroshot", "lp", "ft", "lpft", "lipsum"]
MEAN_OOD = "OOD mean"
DISTANCES_TO_ZEROSHOT = {"feature_distortion", "energy_gap"}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


@dataclass
class Table:
    """A rendered-ready table: row labels, column labels, (mean, std, n) cells and bold marks."""

    columns: list[str]
    rows: list[str]
    cells: dict[tuple[str, str], tuple[float, float, int]]
    bold: set[tuple[str, str]]
    row_metric: dict[str, str]


def _select_rows(frame: pd.DataFrame, alpha: float) -> list[tuple[str, pd.DataFrame]]:
    """(row label, rows of that table row) for every method; post-hoc ones twice."""
    out = []
    methods = sorted(frame["method"].unique(),
                     key=lambda m: (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m))
    for method in methods:
        part = frame[frame["method"] == method]
        if part["alpha"].isna().all():
            out.append((method_label(method), part))
            continue
        chosen = part[(part["alpha"] - alpha).abs() < 1e-9]
        if len(chosen):
            out.append((f"{method_label(method)} (α={alpha:g})", chosen))
        by_alpha = part.groupby("alpha")["id_val_acc"].mean()
        best = float(by_alpha.idxmax())
        out.append((f"{method_label(method)} (best α={best:g} by ID val)",
                    part[(part["alpha"] - best).abs() < 1e-9]))
    return out


def _cells_for(part: pd.DataFrame, metric: str, splits: list[str], ood: list[str]
               ) -> dict[str, tuple[float, float, int]]:
    rows = part[part["metric"] == metric]
    per_seed = rows.pivot_table(index="seed", columns="split", values="value", aggfunc="mean",
                               observed=True)
    if ood and all(s in per_seed for s in ood):
        per_seed[MEAN_OOD] = per_seed[ood].mean(axis=1)
    cells = {}
    for column in [*splits, MEAN_OOD]:
        if column in per_seed:
            values = per_seed[column].dropna()
            std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            cells[column] = (float(values.mean()), std, len(values))
    return cells


def build_table(frame: pd.DataFrame, metrics: list[str], alpha: float = 0.5) -> Table:
    """One table over `metrics` (one block of rows per metric) of one benchmark's frame."""
    id_splits = list(dict.fromkeys(frame.loc[frame["role"] == "id", "split"]))
    ood = list(dict.fromkeys(frame.loc[frame["role"] == "ood", "split"]))
    splits = id_splits + ood
    columns = [*splits, MEAN_OOD] if ood else splits
    rows, cells, row_metric = [], {}, {}
    if set(metrics) <= DISTANCES_TO_ZEROSHOT:  # zero-shot's distance to itself is 0 by definition
        frame = frame[frame["method"] != "zeroshot"]
    selected = _select_rows(frame, alpha)
    for metric in metrics:
        for label, part in selected:
            row = label if len(metrics) == 1 else f"{label} · {METRIC_LABELS.get(metric, metric)}"
            rows.append(row)
            row_metric[row] = metric
            for column, value in _cells_for(part, metric, splits, ood).items():
                cells[(row, column)] = value
    bold = set()
    for metric in metrics:
        metric_rows = [r for r in rows if row_metric[r] == metric]
        for column in columns:
            present = [(cells[(r, column)][0], r) for r in metric_rows if (r, column) in cells
                       # a frozen encoder (LP) is at distance 0 by construction, not "best"
                       and not (metric in DISTANCES_TO_ZEROSHOT and cells[(r, column)][0] == 0)]
            if not present:
                continue
            pick = max if metric in HIGHER_IS_BETTER else min
            best = pick(v for v, _ in present)
            bold |= {(r, column) for v, r in present if _fmt(v, metric) == _fmt(best, metric)}
    return Table(columns, rows, cells, bold, row_metric)


def _fmt(value: float, metric: str) -> str:
    return f"{100 * value:.1f}" if metric in PERCENT else f"{value:.3f}"


def cell_text(table: Table, row: str, column: str, pm: str = " ± ") -> str:
    if (row, column) not in table.cells:
        return "–"
    mean, std, n = table.cells[(row, column)]
    metric = table.row_metric[row]
    text = _fmt(mean, metric)
    if n > 1 and not math.isnan(std):
        text += pm + _fmt(std, metric)
    return text


def to_markdown(table: Table) -> str:
    header = "| Method | " + " | ".join(table.columns) + " |"
    rule = "|---|" + "|".join("---:" for _ in table.columns) + "|"
    lines = [header, rule]
    for row in table.rows:
        cells = []
        for column in table.columns:
            text = cell_text(table, row, column)
            cells.append(f"**{text}**" if (row, column) in table.bold else text)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _tex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                 ("#", r"\#"), ("α", r"$\alpha$"), ("·", r"$\cdot$"), ("–", "--")):
        text = text.replace(a, b)
    return text


def to_latex(table: Table) -> str:
    lines = [r"\begin{tabular}{l" + "r" * len(table.columns) + "}", r"\toprule",
             "Method & " + " & ".join(_tex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.rows:
        cells = []
        for column in table.columns:
            text = _tex_escape(cell_text(table, row, column, pm=" PLUSMINUS ")).replace("PLUSMINUS", r"$\pm$")
            cells.append(rf"\textbf{{{text}}}" if (row, column) in table.bold else text)
        lines.append(_tex_escape(row) + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Numeric CSV of the table: method, then <column>_mean and <column>_std per column."""
    records = []
    for row in table.rows:
        record = {"method": row}
        for column in table.columns:
            mean, std, _ = table.cells.get((row, column), (float("nan"), float("nan"), 0))
            record[f"{column}_mean"], record[f"{column}_std"] = mean, std
        records.append(record)
    return pd.DataFrame.from_records(records).to_csv(index=False, float_format="%.6g")
