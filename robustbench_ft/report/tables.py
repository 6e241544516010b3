"""Paper-style tables from the tidy frame: rows = methods, columns = ID, each OOD split, mean OOD.

Which configuration of a method makes its row is the selection rule's choice (selection.py);
cells are mean +- std over that configuration's seeds (sample std; a single seed shows the mean
alone). Accuracy and ECE are shown in percent with one decimal, NLL, feature distortion and
energy gap with three decimals. The best cell per column is bold (highest accuracy, lowest of the
others). A post-hoc method (rows with an alpha) appears twice: at the fixed alpha, and at the
alpha the rule chose, marked as such. Labels and row order come from the methods' presets.
Every table carries notes: the rule that made it, per method the configuration it chose, and
each row's tuning budget with a warning where they differ (budget.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ..core.method_info import method_info, method_label
from .budget import budget_notes
from .collect import BUDGET_COLUMNS, setting_columns
from .robustness import Baseline
from .selection import Choice, Selection, selection_rule, table_rows

FAMILIES: dict[str, list[str]] = {
    "accuracy": ["acc"],
    "uncertainty": ["nll", "ece"],
    "distortion": ["feature_distortion", "energy_gap"],
}
METRIC_LABELS = {"acc": "Acc. (%)", "nll": "NLL", "ece": "ECE (%)",
                 "feature_distortion": "Feature distortion", "energy_gap": "Energy gap",
                 "macro_f1": "Macro-F1 (%)", "worst_group_acc": "Worst-group acc. (%)"}
PERCENT = {"acc", "ece", "macro_f1", "worst_group_acc"}
HIGHER_IS_BETTER = {"acc", "macro_f1", "worst_group_acc"}
PRIMARY = "primary"  # the family of a benchmark's own primary metrics, shown first where they are not accuracy alone
MEAN_OOD = "OOD mean"
EFFECTIVE = "Eff. rob."  # effective robustness (robustness.py), accuracy tables only
VAL_TUNED = "‡"  # the row fitted something on ID validation before the rule selected on it
DISTANCES_TO_ZEROSHOT = {"feature_distortion", "energy_gap"}


def metric_label(metric: str, groups: str | None = None) -> str:
    """A metric's name in a table; worst-group accuracy names the benchmark's groups ('Worst-region')."""
    if metric == "worst_group_acc" and groups:
        return f"Worst-{groups} acc. (%)"
    return METRIC_LABELS.get(metric, metric)


@dataclass
class Table:
    """A rendered-ready table: row labels, column labels, (mean, std, n) cells and bold marks."""

    columns: list[str]
    rows: list[str]
    cells: dict[tuple[str, str], tuple[float, float, int]]
    bold: set[tuple[str, str]]
    row_metric: dict[str, str]
    row_config: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One selected configuration as the report shows it: its label and its rows."""

    label: str
    choice: Choice
    settings: str  # the settings that tell it apart from the method's other configurations


def _fmt_setting(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _distinguishing(choice: Choice, frame: pd.DataFrame) -> str:
    """'lr=0.0001, lipsum.lam=2': the settings in which this configuration differs from the
    method's other configurations (for this model) in the frame."""
    unit = frame[(frame["method"] == choice.method) & (frame["model"] == choice.model)
                 & (frame["pretrained"] == choice.pretrained)]
    per_config = unit.drop_duplicates("config").set_index("config")
    columns = [c for c in [*setting_columns(frame), *BUDGET_COLUMNS]
               if per_config[c].astype(str).nunique() > 1]
    mine = per_config.loc[choice.config]
    return ", ".join(f"{c}={_fmt_setting(mine[c])}" for c in columns if not pd.isna(mine[c]))


def entries(frame: pd.DataFrame, rule: Selection) -> list[Entry]:
    """The rule's choices in table order, each labelled: method, then its settings where the
    rule keeps several configurations, then the model where the frame holds several."""
    several_models = frame[["model", "pretrained"]].drop_duplicates().shape[0] > 1
    out: list[Entry] = []
    for choice in rule.choose(frame):
        settings = ""
        if choice.among > 1:  # configurations that differ in no column are told by their digest
            settings = _distinguishing(choice, frame) or f"config {choice.config}"
        label = method_label(choice.method)
        if rule.on_id_val and tunes_on_val(choice.method):
            label += f" {VAL_TUNED}"
        if settings and not rule.one_per_method:
            label += f" ({settings})"
        if several_models:
            label += f" [{choice.model} {choice.pretrained}]"
        out.append(Entry(label, choice, settings))
    return out


def selected_frame(entries_: list[Entry]) -> pd.DataFrame:
    """The rows of the chosen configurations (every alpha), with their `entry` label."""
    parts = [e.choice.rows.assign(entry=e.label) for e in entries_]
    if not parts:
        return pd.DataFrame()
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"entry": pd.CategoricalDtype(list(dict.fromkeys(e.label for e in entries_)))})


def _table_rows(entries_: list[Entry], rule: Selection, alpha: float) -> list[tuple[str, Entry, pd.DataFrame]]:
    """(row label, entry, rows) for every entry; post-hoc ones at the fixed and the chosen alpha."""
    out = []
    for entry in entries_:
        rows, chosen = entry.choice.rows, entry.choice.alpha
        if chosen is None:
            out.append((entry.label, entry, rows))
            continue
        fixed = rows[(rows["alpha"] - alpha).abs() < 1e-9]
        if len(fixed):
            out.append((f"{entry.label} (α={alpha:g})", entry, fixed))
        mark = f" {VAL_TUNED}" if rule.on_id_val else ""
        out.append((f"{entry.label} (best α={chosen:g} {rule.alpha_basis}){mark}", entry,
                    rows[(rows["alpha"] - chosen).abs() < 1e-9]))
    return out


def tunes_on_val(method: str) -> str | None:
    """What the method's post-hoc step fits on ID validation (its card's `tunes_on_val`), if anything."""
    return method_info(method.split("+")[-1]).tunes_on_val if "+" in method else None


def val_tuned_note(entries_: list[Entry], rule: Selection) -> list[str]:
    """The note that explains the ‡ marks, naming what each marked row fitted (only under a rule
    that selects on ID validation too: an oracle rule selects on other data)."""
    if not rule.on_id_val:
        return []
    fitted = [f"{e.label.replace(' ' + VAL_TUNED, '')}: {tunes_on_val(e.choice.method)}"
              for e in entries_ if tunes_on_val(e.choice.method)]
    if any(e.choice.alpha is not None for e in entries_):
        fitted.append("best-α rows: the interpolation weight")
    if not fitted:
        return []
    return [f"{VAL_TUNED} fitted on the ID validation split inside its own post-hoc step ({'; '.join(fitted)}), "
            f"then selected by `{rule.name}` on the same split: it has been used twice and is no longer a clean "
            f"selection signal for these rows."]


def selection_notes(entries_: list[Entry], rule: Selection) -> list[str]:
    notes = [rule.summary, *rule.view_notes()]
    if rule.one_per_method:
        notes += [f"{e.label}: {e.settings} (of {e.choice.among} configurations)"
                  for e in entries_ if e.choice.among > 1]
    notes += [f"{e.label}: {e.choice.built_only} more configurations in the results were not requested for it "
              f"(planned only as other methods' inputs, e.g. a soup's ingredients, or asked for by another "
              f"request than the one reported) and are not part of its selection"
              for e in entries_ if e.choice.built_only]
    oracle = [e.label for e in entries_ if (e.choice.rows["selection"] == "id_test").any()]
    if oracle:
        notes.append(f"ORACLE checkpoints: {', '.join(oracle)} kept the checkpoint with the best ID *test* "
                     f"accuracy (`selection: id_test`, as the Lipsum-FT paper's code), not the best ID validation.")
    return notes


def _cells_for(part: pd.DataFrame, metric: str, splits: list[str], ood: list[str],
               fit: Baseline | None = None) -> dict[str, tuple[float, float, int]]:
    rows = part[part["metric"] == metric]
    per_seed = rows.pivot_table(index="seed", columns="split", values="value", aggfunc="mean",
                               observed=True)
    if ood and all(s in per_seed for s in ood):
        per_seed[MEAN_OOD] = per_seed[ood].mean(axis=1)
        if fit is not None and metric == "acc" and splits[0] in per_seed:
            per_seed[EFFECTIVE] = fit.effective(per_seed[splits[0]], per_seed[MEAN_OOD])
    cells = {}
    for column in [*splits, MEAN_OOD, EFFECTIVE]:
        if column in per_seed:
            values = per_seed[column].dropna()
            std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            cells[column] = (float(values.mean()), std, len(values))
    return cells


def build_table(frame: pd.DataFrame, metrics: list[str], alpha: float = 0.5,
                rule: Selection | None = None, chosen: list[Entry] | None = None,
                fit: Baseline | None = None, groups: str | None = None) -> Table:
    """One table over `metrics` (one block of rows per metric) of one benchmark's frame.

    `chosen` is `entries(frame, rule)` when the caller has it already (one per report); with
    `fit`, accuracy rows gain an effective-robustness column against that baseline of ID-only
    models (robustness.py); `groups` names worst-group accuracy's groups (FMoW: region).
    """
    rule = rule or selection_rule()
    frame = table_rows(frame)  # a frame not yet in a rule's view: ID and OOD rows only
    chosen = entries(frame, rule) if chosen is None else chosen
    id_splits = list(dict.fromkeys(frame.loc[frame["role"] == "id", "split"]))
    ood = list(dict.fromkeys(frame.loc[frame["role"] == "ood", "split"]))
    splits = id_splits + ood
    columns = [*splits, MEAN_OOD] if ood else splits
    fit = fit if ood and "acc" in metrics else None
    if fit is not None:
        columns.append(EFFECTIVE)
    if set(metrics) <= DISTANCES_TO_ZEROSHOT:  # zero-shot's distance to itself is 0 by definition
        chosen = [e for e in chosen if e.choice.method != "zeroshot"]
    table = Table(columns, [], {}, set(), {}, notes=selection_notes(chosen, rule))
    table.notes += val_tuned_note(chosen, rule)
    table.notes += budget_notes([(e.label, e.choice) for e in chosen], frame)
    if fit is not None:
        table.notes.append(fit.describe())
    for metric in metrics:
        for label, entry, part in _table_rows(chosen, rule, alpha):
            row = label if len(metrics) == 1 else f"{label} · {metric_label(metric, groups)}"
            table.rows.append(row)
            table.row_metric[row] = metric
            table.row_config[row] = entry.choice.config
            for column, value in _cells_for(part, metric, splits, ood, fit).items():
                table.cells[(row, column)] = value
    _mark_best(table, metrics)
    return table


def _mark_best(table: Table, metrics: list[str]) -> None:
    for metric in metrics:
        metric_rows = [r for r in table.rows if table.row_metric[r] == metric]
        for column in table.columns:
            present = [(table.cells[(r, column)][0], r) for r in metric_rows if (r, column) in table.cells
                       # a frozen encoder (LP) is at distance 0 by construction, not "best"
                       and not (metric in DISTANCES_TO_ZEROSHOT and table.cells[(r, column)][0] == 0)]
            if not present:
                continue
            pick = max if metric in HIGHER_IS_BETTER else min
            best = pick(v for v, _ in present)
            table.bold |= {(r, column) for v, r in present if _fmt(v, metric) == _fmt(best, metric)}


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
    if table.notes:
        lines += ["", *(f"- {note}" for note in table.notes)]
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
    lines += [r"\bottomrule", r"\end{tabular}", *(f"% {note}" for note in table.notes)]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Numeric CSV of the table: method, config, then <column>_mean and <column>_std per column."""
    records = []
    for row in table.rows:
        record = {"method": row, "config": table.row_config.get(row, "")}
        for column in table.columns:
            mean, std, _ = table.cells.get((row, column), (float("nan"), float("nan"), 0))
            record[f"{column}_mean"], record[f"{column}_std"] = mean, std
        records.append(record)
    return pd.DataFrame.from_records(records).to_csv(index=False, float_format="%.6g")
