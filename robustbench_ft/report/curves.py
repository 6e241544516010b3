"""Training curves from the runs' metrics.jsonl: loss terms, learning rate and validation accuracy.

One figure per benchmark, a panel per quantity (the total loss, every loss term a method logs,
the lr, the ID-validation accuracy at each evaluation), the selected configurations overlaid: a
line for the mean over seeds and a band from the lowest to the highest seed. Per-step losses are
smoothed by a centred rolling mean over 2% of the run (at least 1 step), so trends read through
the batch noise; the lr and validation accuracy are drawn as logged. Post-hoc methods (WiSE, ...)
do not train and have no curves.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..records.layout import RunFolder
from .figures import MARKERS, _ordered, _save, plt

FIXED = ("loss", "val_acc", "lr")
LABELS = {"loss": "training loss (total)", "val_acc": "ID validation score (accuracy or the benchmark's select_on)",
          "lr": "learning rate"}
SMOOTH_FRACTION = 0.02


def load_curves(frame: pd.DataFrame, folders: dict[str, Path]) -> tuple[pd.DataFrame, list[str]]:
    """Long frame (entry, seed, step, quantity, value) of every selected run that logged steps,
    and one line per step log that could not be read whole (its readable lines are used)."""
    parts, problems = [], []
    runs = frame.drop_duplicates("run")[["entry", "seed", "run"]]
    for entry, seed, run in runs.itertuples(index=False):
        if str(run) not in folders:
            continue
        reading = RunFolder(folders[str(run)]).read_metrics()  # post-hoc runs log no steps
        if reading.problem:
            problems.append(reading.problem)
        rows = pd.DataFrame(reading.rows)
        if rows.empty or "step" not in rows:
            continue
        numbers = rows.apply(pd.to_numeric, errors="coerce")  # a mangled value is no point, not a crash
        long = numbers.melt(id_vars="step", var_name="quantity", value_name="value").dropna()
        parts.append(long.assign(entry=entry, seed=seed))
    if not parts:
        return pd.DataFrame(columns=["entry", "seed", "step", "quantity", "value"]), problems
    return pd.concat(parts, ignore_index=True), problems


def _smoothed(curve: pd.DataFrame, quantity: str) -> pd.DataFrame:
    """Per seed, the values over steps: losses rolling-mean smoothed, the rest as logged."""
    wide = curve.pivot_table(index="step", columns="seed", values="value", aggfunc="mean").sort_index()
    if quantity in ("lr", "val_acc"):
        return wide.dropna(how="all")
    window = max(1, int(round(SMOOTH_FRACTION * len(wide))))
    return wide.rolling(window, center=True, min_periods=1).mean()


def plot_training_curves(frame: pd.DataFrame, curves: pd.DataFrame, out: Path) -> list[Path]:
    terms = sorted(set(curves["quantity"]) - set(FIXED))
    quantities = [q for q in (*FIXED, *terms) if q in set(curves["quantity"])]
    columns = min(3, len(quantities))
    rows = -(-len(quantities) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.5 * rows), squeeze=False)
    entries = _ordered(frame, curves["entry"].unique())
    for ax, quantity in zip(axes.flat, quantities):
        for i, entry in enumerate(entries):
            part = curves[(curves["entry"] == entry) & (curves["quantity"] == quantity)]
            if part.empty:
                continue
            wide = _smoothed(part, quantity)
            color = f"C{i % 10}"
            ax.plot(wide.index, wide.mean(axis=1), color=color, lw=1, label=entry,
                    marker=MARKERS[i % len(MARKERS)] if quantity == "val_acc" else None, ms=3)
            if wide.shape[1] > 1:
                ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=color, alpha=0.2, lw=0)
        ax.set_title(LABELS.get(quantity, f"loss term: {quantity}"))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(quantities):]:
        ax.axis("off")
    fig.suptitle("Training curves (mean over seeds, band: min to max)")
    fig.tight_layout()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return _save(fig, out, "training_curves")
