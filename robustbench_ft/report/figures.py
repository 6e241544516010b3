"""Figures from the tidy frame (matplotlib, PNG and PDF, sized for a paper column).

- robustness: ID accuracy vs mean OOD accuracy, WiSE curves through their alphas with the straight
  line between their endpoints, zero-shot marked (the WiSE-FT paper's figure 1);
- energy_gap: OOD accuracy drop against zero-shot vs energy gap, per method and split (Lipsum-FT's
  argument that a larger energy gap goes with a larger drop);
- distortion: feature distortion per split and method (is OOD distorted more than ID?);
- accuracy_bars: accuracy per split and method;
- effective_robustness: ID vs mean OOD accuracy on logit axes with the ID-only models of the
  baseline (robustness.py) and what their lines predict; a method's height above that curve is its
  effective robustness.
Post-hoc methods enter the last three at the chosen alpha. The frame is the selection's
(tables.selected_frame): one series per `entry`, i.e. per selected configuration, in table order.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .robustness import Baseline  # noqa: E402

plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 7.5,
                     "figure.dpi": 150, "savefig.bbox": "tight"})
MARKERS = "osD^v<>PX*h"


def _ordered(frame: pd.DataFrame, entries) -> list[str]:
    """`entries` in table order: the order of the selected frame's `entry` categories."""
    wanted = set(entries)
    return [e for e in frame["entry"].cat.categories if e in wanted]


def _zeroshot_entries(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["method"] == "zeroshot", "entry"])


def _at_alpha(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Non-post-hoc rows, plus post-hoc rows at `alpha` only."""
    keep = frame["alpha"].isna() | ((frame["alpha"] - alpha).abs() < 1e-9)
    return frame[keep]


def _means(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean over seeds per (entry, alpha, split), alpha NaN kept as its own group."""
    part = frame[frame["metric"] == metric].copy()
    part["alpha"] = part["alpha"].fillna(-1.0)
    return part.groupby(["entry", "alpha", "split", "role"], as_index=False, sort=False, observed=True)["value"].mean()


def _save(fig: plt.Figure, out: Path, name: str) -> list[Path]:
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    fig.savefig(paths[0], metadata={"Software": None})
    fig.savefig(paths[1], metadata={"CreationDate": None, "Producer": None})  # byte-stable PDFs
    plt.close(fig)
    return paths


def _legend(ax, inside_up_to: int = 8) -> None:
    """Inside the axes for a few entries; beside them for more, where it hides no point."""
    if len(ax.get_legend_handles_labels()[1]) <= inside_up_to:
        ax.legend(loc="best", frameon=False)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)


def _point_style(entry: str, index: int, zeroshot: set[str]) -> dict:
    """A method's marker in the ID-vs-OOD plots: zero-shot as a black star, the rest in turn."""
    if entry in zeroshot:
        return {"marker": "*", "ms": 12, "color": "black"}
    return {"marker": MARKERS[index % len(MARKERS)], "ms": 6}


def plot_robustness(frame: pd.DataFrame, out: Path) -> list[Path]:
    means = _means(frame, "acc")
    per = means.groupby(["entry", "alpha", "role"], observed=True)["value"].mean().unstack("role") * 100
    zeroshot = _zeroshot_entries(frame)
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    for i, entry in enumerate(_ordered(frame, per.index.get_level_values(0).unique())):
        rows = per.loc[entry].sort_index()
        marker = MARKERS[i % len(MARKERS)]
        if (rows.index >= 0).any():  # post-hoc curve through its alphas
            line = ax.plot(rows["id"], rows["ood"], marker=marker, ms=3.5, label=entry)[0]
            ends = rows.iloc[[0, -1]]
            ax.plot(ends["id"], ends["ood"], ls="--", lw=0.8, color=line.get_color())
        else:
            ax.plot(rows["id"], rows["ood"], ls="none", label=entry, **_point_style(entry, i, zeroshot))
    ax.set_xlabel("ID accuracy (%)")
    ax.set_ylabel("mean OOD accuracy (%)")
    ax.set_title("Robustness: ID vs OOD accuracy")
    ax.grid(alpha=0.3)
    _legend(ax)
    return _save(fig, out, "robustness")


def plot_energy_gap(frame: pd.DataFrame, out: Path, alpha: float) -> list[Path]:
    frame = _at_alpha(frame, alpha)
    acc, gap = _means(frame, "acc"), _means(frame, "energy_gap")
    zeroshot = _ordered(frame, _zeroshot_entries(frame))
    zs = acc[acc["entry"] == zeroshot[0]].set_index("split")["value"]
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    splits = list(dict.fromkeys(gap.loc[gap["role"] == "ood", "split"]))
    for i, entry in enumerate(_ordered(frame, [e for e in gap["entry"].unique() if e not in zeroshot])):
        g = gap[(gap["entry"] == entry) & (gap["role"] == "ood")].set_index("split")["value"]
        a = acc[(acc["entry"] == entry) & (acc["role"] == "ood")].set_index("split")["value"]
        common = [s for s in splits if s in g.index and s in a.index and s in zs.index]
        if not common:
            continue
        drop = (zs[common] - a[common]) * 100
        ax.scatter(g[common], drop, s=18, marker=MARKERS[i % len(MARKERS)], label=entry)
    ax.axhline(0, color="gray", lw=0.6)
    ax.set_xlabel("energy gap vs zero-shot")
    ax.set_ylabel("OOD accuracy drop vs zero-shot (pp)")
    ax.set_title("Energy gap and robustness loss (OOD splits)")
    ax.grid(alpha=0.3)
    _legend(ax)
    return _save(fig, out, "energy_gap")


def _grouped_bars(means: pd.DataFrame, order: list[str], ylabel: str, title: str, scale: float) -> plt.Figure:
    labels = [e for e in order if e in set(means["entry"])]
    splits = list(dict.fromkeys(means.sort_values("role", kind="stable")["split"]))
    fig, ax = plt.subplots(figsize=(max(4.2, 0.9 * len(labels) + 1.5), 3.2))
    width = 0.8 / max(1, len(splits))
    x = np.arange(len(labels))
    for j, split in enumerate(splits):
        values = [means[(means["entry"] == m) & (means["split"] == split)]["value"].mean() * scale
                  for m in labels]
        role = means.loc[means["split"] == split, "role"].iloc[0]
        ax.bar(x + (j - (len(splits) - 1) / 2) * width, values, width,
               label=f"{split} ({role.upper()})", hatch="//" if role == "id" else None, edgecolor="white")
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(ncol=3, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    return fig


def plot_distortion(frame: pd.DataFrame, out: Path, alpha: float) -> list[Path]:
    means = _means(_at_alpha(frame, alpha), "feature_distortion")
    means = means[~means["entry"].isin(_zeroshot_entries(frame))]
    fig = _grouped_bars(means, _ordered(frame, means["entry"]), "feature distortion",
                        "Feature distortion per split", 1.0)
    return _save(fig, out, "distortion")


def plot_accuracy_bars(frame: pd.DataFrame, out: Path, alpha: float) -> list[Path]:
    means = _means(_at_alpha(frame, alpha), "acc")
    fig = _grouped_bars(means, _ordered(frame, means["entry"]), "accuracy (%)", "Accuracy per split", 100.0)
    return _save(fig, out, "accuracy_bars")


def plot_effective_robustness(frame: pd.DataFrame, out: Path, alpha: float, fit: Baseline) -> list[Path]:
    means = _means(_at_alpha(frame, alpha), "acc")
    per = means.groupby(["entry", "role"], observed=True)["value"].mean().unstack("role")
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    ref = np.array([(p[1], p[2]) for p in fit.points]).reshape(-1, 2)
    if len(ref):
        ax.plot(ref[:, 0], ref[:, 1], "o", mfc="none", color="gray", ms=5, label="ID-only models")
    lows, highs = [*ref[:, 0], *per["id"]], [*ref[:, 0], *per["id"]]
    xs = np.linspace(max(0.01, min(lows) - 0.02), min(0.99, max(highs) + 0.02), 100)
    slopes = [line.slope for line in fit.lines.values()]
    span = f"{min(slopes):.2f}" if len(set(slopes)) == 1 else f"{min(slopes):.2f} to {max(slopes):.2f}"
    ax.plot(xs, fit.predict(xs), "--", color="gray", lw=1, label=f"ID-only lines' mean (slopes {span})")
    zeroshot = _zeroshot_entries(frame)
    for i, entry in enumerate(_ordered(frame, per.index)):
        ax.plot(per.loc[entry, "id"], per.loc[entry, "ood"], ls="none", label=entry, **_point_style(entry, i, zeroshot))
    ax.set_xscale("logit")
    ax.set_yscale("logit")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{100 * v:g}"))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("ID accuracy (%, logit scale)")
    ax.set_ylabel("mean OOD accuracy (%, logit scale)")
    ax.set_title("Effective robustness")
    ax.grid(alpha=0.3)
    _legend(ax)
    return _save(fig, out, "effective_robustness")


def write_figures(frame: pd.DataFrame, out: Path, alpha: float = 0.5,
                  fit: Baseline | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = plot_robustness(frame, out) + plot_accuracy_bars(frame, out, alpha)
    if fit is not None:
        paths += plot_effective_robustness(frame, out, alpha, fit)
    metrics = set(frame["metric"])
    if "energy_gap" in metrics and "zeroshot" in set(frame["method"]):
        paths += plot_energy_gap(frame, out, alpha)
    if "feature_distortion" in metrics:
        paths += plot_distortion(frame, out, alpha)
    return paths
