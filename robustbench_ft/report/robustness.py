"""Effective robustness (Taori et al., 2020; Andreassen et al., 2021): OOD accuracy beyond what
the ID accuracy alone predicts.

The prediction is a line fitted by least squares to reference models in logit space,
logit(OOD) = slope * logit(ID) + intercept, with OOD the mean over the OOD splits. The reference
models are those that fine-tuning CLIP trades along without any robustness method: the zero-shot
model and FT's WiSE curve (every alpha of `ft+wise`, each a seed mean); without a WiSE curve,
zero-shot and FT. A model's effective robustness is its OOD accuracy minus the line's prediction
at its ID accuracy, in accuracy points: positive above the line, 0 on it. Taori et al. fit in
probit space; the logit is as close over these accuracies and is an axis scale of matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EPS = 1e-6
REFERENCE_METHODS = ("zeroshot", "ft+wise")
FALLBACK_METHODS = ("zeroshot", "ft")


def logit(p):
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class RobustnessFit:
    """The reference line in logit space and the (label, ID, OOD) points it was fitted to."""

    slope: float
    intercept: float
    points: tuple[tuple[str, float, float], ...]

    def predict(self, id_acc):
        """The OOD accuracy (fraction) the line expects at ID accuracy `id_acc` (fraction)."""
        return expit(self.slope * logit(id_acc) + self.intercept)

    def effective(self, id_acc, ood_acc):
        """OOD accuracy above the line at the same ID accuracy (fraction; 0.01 = 1 point)."""
        return np.asarray(ood_acc, dtype=float) - self.predict(id_acc)

    def describe(self) -> str:
        names = ", ".join(dict.fromkeys(label.split(" ")[0] for label, _, _ in self.points))
        return (f"Effective robustness: mean OOD accuracy minus the line logit(OOD) = {self.slope:.3f} logit(ID) "
                f"{self.intercept:+.3f}, fitted to {len(self.points)} reference points ({names}), in accuracy points.")


def id_ood_per_seed(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (alpha, seed): ID accuracy and mean OOD accuracy (fractions) of accuracy rows."""
    acc = rows[rows["metric"] == "acc"].copy()
    acc["alpha"] = acc["alpha"].fillna(-1.0)
    per_split = acc.groupby(["alpha", "seed", "role", "split"], observed=True)["value"].mean()
    return per_split.groupby(level=["alpha", "seed", "role"]).mean().unstack("role")


def reference_points(frame: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(label, ID, OOD mean) seed means of zero-shot and FT's WiSE curve (or FT) in `frame`."""
    methods = set(frame["method"])
    wanted = REFERENCE_METHODS if set(REFERENCE_METHODS) <= methods else FALLBACK_METHODS
    points = []
    for method in wanted:
        if method not in methods:
            continue
        means = id_ood_per_seed(frame[frame["method"] == method]).groupby(level="alpha").mean()
        for alpha, row in means.iterrows():
            if "id" in row and "ood" in row and not (np.isnan(row["id"]) or np.isnan(row["ood"])):
                label = method if alpha < 0 else f"{method} α={alpha:g}"
                points.append((label, float(row["id"]), float(row["ood"])))
    return points


def fit_reference(frame: pd.DataFrame) -> RobustnessFit | None:
    """The reference line of `frame` (one benchmark), or None without two distinct ID accuracies."""
    points = reference_points(frame)
    xs = logit([p[1] for p in points])
    if len(points) < 2 or np.ptp(xs) < 1e-9:
        return None
    slope, intercept = np.polyfit(xs, logit([p[2] for p in points]), 1)
    return RobustnessFit(float(slope), float(intercept), tuple(points))
