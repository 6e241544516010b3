"""Accuracy against shots: each method's selected configuration at every shot count it ran.

Low-shot runs report as benchmarks of their own ('<name>/<K>-shot', collect.py), so each shot count
is selected on its own; this figure joins them again: per base benchmark, ID and mean OOD
accuracy (mean over seeds, post-hoc methods at the fixed alpha) against K on a log axis, with the
runs on every training image drawn as dashed levels ('all'). Drawn where a benchmark has runs at
two or more shot counts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .collect import base_benchmark


def shot_curves(selected: dict[str, pd.DataFrame], alpha: float = 0.5) -> pd.DataFrame:
    """(base, entry, shots, role, acc): mean accuracy over seeds of each selected configuration at
    each shot count (shots empty: every training image); role 'id' or 'ood' (the OOD splits' mean).
    `selected`: per benchmark label, the rows of the configurations the report's rule chose."""
    from .figures import _at_alpha  # matplotlib: imported when figures are drawn
    parts = []
    for label, chosen in selected.items():
        if chosen.empty:
            continue
        at_alpha = _at_alpha(chosen, alpha)
        acc = at_alpha[(at_alpha["metric"] == "acc") & at_alpha["role"].isin(["id", "ood"])]
        per_seed = acc.groupby(["entry", "role", "seed"], observed=True)["value"].mean().reset_index()
        means = per_seed.groupby(["entry", "role"], observed=True)["value"].mean().reset_index()
        shots = chosen["shots"].dropna()
        means["shots"] = int(shots.iloc[0]) if len(shots) else pd.NA
        means["base"] = base_benchmark(label)
        parts.append(means.rename(columns={"value": "acc"}))
    if not parts:
        return pd.DataFrame(columns=["base", "entry", "shots", "role", "acc"])
    out = pd.concat(parts, ignore_index=True)
    out["entry"] = out["entry"].astype(str)
    return out[["base", "entry", "shots", "role", "acc"]]


def plot_shots(curves: pd.DataFrame, out: Path) -> list[Path]:
    """accuracy_vs_shots_<base>.png/.pdf under `out` for each base benchmark run at 2+ shot counts."""
    from .figures import MARKERS, _save, plt  # matplotlib: imported when figures are drawn
    written: list[Path] = []
    for base, part in curves.groupby("base"):
        if part["shots"].nunique(dropna=False) < 2:
            continue
        out.mkdir(parents=True, exist_ok=True)
        fig, axes = plt.subplots(1, 2, figsize=(7, 2.8), sharey=False)
        for ax, role, title in zip(axes, ("id", "ood"), ("ID accuracy", "mean OOD accuracy")):
            for i, (entry, rows) in enumerate(part[part["role"] == role].groupby("entry", sort=False)):
                few = rows.dropna(subset=["shots"]).sort_values("shots")
                line = ax.plot(few["shots"].astype(int), 100 * few["acc"], marker=MARKERS[i % len(MARKERS)],
                               ms=4, label=entry)[0] if len(few) else None
                full = rows[rows["shots"].isna()]
                if len(full):
                    ax.axhline(100 * full["acc"].iloc[0], ls="--", lw=0.8,
                               color=line.get_color() if line is not None else None)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("training images per class (dashed: all)")
            ax.set_title(title)
        axes[0].set_ylabel("accuracy (%)")
        axes[1].legend(fontsize=7, loc="best")
        fig.suptitle(str(base))
        written += _save(fig, out, f"accuracy_vs_shots_{base}")
    return written
