"""Effective robustness as Taori et al. (2020) define it: OOD accuracy above the line that models
trained on the ID data alone follow.

For each OOD split s, ID-only models lie close to a line in logit space,
logit(acc_s) = slope_s * logit(acc_ID) + intercept_s ("accuracy on the line", Miller et al. 2021).
A model's effective robustness here is its mean OOD accuracy minus the mean over the splits of
what those lines predict at its ID accuracy, in accuracy points: the average of the per-split
effective robustness. The lines come from a **baseline** (a YAML file, torch-free):

- `points:` ID-only models' accuracies (ID and each OOD split); each split's line is the least-
  squares fit to them. The embedded world ships one (`presets/testbeds/embedded.yaml`, made by
  `robustbench-ft testbed`: small CNNs trained from scratch on photo).
- `fits:` lines per split (`slope`, `intercept`, on logit axes, accuracies as fractions; `r`
  where known), with their `source`. ImageNet ships lines recomputed from Taori et al.'s testbed
  evaluations (`robustbench-ft testbed --from-imagenet-testbed`, tools/imagenet_testbed.py): no
  paper prints them as numbers.

A benchmark without a baseline gets no column, and a note says why; `report --baseline FILE`
names one (e.g. the points of a lab's own ID-only runs); a file whose `benchmark:` names another
benchmark is not applied to this one. The line is never fitted to the methods
being compared: a line through zero-shot and FT's WiSE curve is an arch's chord, with a negative
slope on the embedded world, that counts ID gains as robustness.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..core.config import ConfigError, presets_dir, read_yaml

EPS = 1e-6
POOR_FIT = 0.9  # a line whose models correlate less than this is said to fit poorly


def logit(p):
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class Line:
    """logit(OOD accuracy) = slope * logit(ID accuracy) + intercept."""

    slope: float
    intercept: float
    r: float | None = None  # the correlation of the models it was fitted to, where known

    def predict(self, id_acc):
        return expit(self.slope * logit(id_acc) + self.intercept)


@dataclass(frozen=True)
class Baseline:
    """Per-split lines of ID-only models, where they come from, and the models (if known)."""

    lines: Mapping[str, Line]
    source: str
    points: tuple[tuple[str, float, float], ...] = ()  # (model, ID, mean OOD): the figure's grey dots
    fitted: bool = field(default=False)  # lines fitted here to `points` (else given)
    benchmark: str | None = None  # the benchmark the file says it is for, if it says

    def predict(self, id_acc):
        """The mean OOD accuracy (fraction) the lines expect at ID accuracy `id_acc` (fraction)."""
        return np.mean([line.predict(id_acc) for line in self.lines.values()], axis=0)

    def effective(self, id_acc, ood_mean):
        """Mean OOD accuracy above the lines at the same ID accuracy (fraction; 0.01 = 1 point)."""
        return np.asarray(ood_mean, dtype=float) - self.predict(id_acc)

    def describe(self) -> str:
        how = (f"least-squares lines fitted to {len(self.points)} ID-only models" if self.fitted
               else "lines as given")
        slopes = ", ".join(f"{s} {line.slope:.2f}" for s, line in self.lines.items())
        poor = [f"{s} (r = {line.r:.2f})" for s, line in self.lines.items() if line.r is not None and line.r < POOR_FIT]
        caveat = f" Poor linear fits: {', '.join(poor)}; read their share with care." if poor else ""
        return (f"Effective robustness (Taori et al., 2020): mean OOD accuracy minus the mean over the OOD splits "
                f"of logit(OOD) = slope · logit(ID) + intercept, the line models trained on ID data alone follow "
                f"({how}: {self.source}; slopes {slopes}), in accuracy points.{caveat}")


def fit_line(id_acc, ood_acc) -> Line:
    x, y = logit(id_acc), logit(ood_acc)
    slope, intercept = np.polyfit(x, y, 1)
    r = float(np.corrcoef(x, y)[0, 1]) if np.ptp(y) > 0 else None
    return Line(float(slope), float(intercept), r)


def load_baseline(path: str | Path) -> Baseline:
    """A baseline YAML (see the module docstring), or a ConfigError that names the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"baseline file {path} does not exist (expected a YAML with `points:` of ID-only "
                          f"models or published `fits:`)")
    data = read_yaml(path)
    source = str(data.get("description") or data.get("source") or path.name)
    benchmark = None if data.get("benchmark") is None else str(data["benchmark"])
    try:
        if data.get("points"):
            return dataclasses.replace(_from_points(data["points"], source), benchmark=benchmark)
        if data.get("fits"):
            lines = {str(s): Line(float(f["slope"]), float(f["intercept"]),
                                  None if f.get("r") is None else float(f["r"])) for s, f in data["fits"].items()}
            return Baseline(lines, str(data.get("source") or path.name), benchmark=benchmark)
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"{path}: not a baseline ({type(err).__name__}: {err}); expected points: [{{name, id, "
                          f"ood: {{split: acc}}}}, ...] or fits: {{split: {{slope, intercept}}}}") from err
    raise ConfigError(f"{path}: a baseline needs `points:` (ID-only models) or `fits:` (published lines)")


def _from_points(points: list[Mapping[str, Any]], source: str) -> Baseline:
    splits = list(points[0]["ood"])
    if len(points) < 2:
        raise ValueError("at least two models are needed to fit a line")
    ids = [float(p["id"]) for p in points]
    if np.ptp(logit(ids)) < 1e-9:
        raise ValueError("the models' ID accuracies are all equal: no line")
    lines = {s: fit_line(ids, [float(p["ood"][s]) for p in points]) for s in splits}
    summary = tuple((str(p["name"]), float(p["id"]), float(np.mean([float(p["ood"][s]) for s in splits])))
                    for p in points)
    return Baseline(lines, source, summary, fitted=True)


def baseline_for(benchmark: str, ood_splits: list[str], given: str | Path | None = None
                 ) -> tuple[Baseline | None, str]:
    """The baseline of a benchmark's table (`given`, else the shipped testbed of that name) and,
    without a usable one, the note that says why there is no effective-robustness column."""
    shipped = presets_dir("testbeds") / f"{benchmark}.yaml"
    path = Path(given) if given else shipped if shipped.is_file() else None
    if path is None:
        return None, (f"No effective-robustness column: no baseline of ID-only models for {benchmark!r}. Give one "
                      f"with `report --baseline FILE` (the accuracies of models trained on the ID data alone, or "
                      f"published per-split lines).")
    baseline = load_baseline(path)
    if baseline.benchmark is not None and baseline.benchmark != benchmark:
        return None, (f"No effective-robustness column: the baseline {path.name} is for {baseline.benchmark!r}, "
                      f"not {benchmark!r}.")
    missing = [s for s in ood_splits if s not in baseline.lines]
    if missing:
        return None, (f"No effective-robustness column: the baseline {path.name} has no line for the OOD splits "
                      f"{missing}.")
    return dataclasses.replace(baseline, lines={s: baseline.lines[s] for s in ood_splits}), ""


def id_ood_per_seed(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (alpha, seed): ID accuracy and mean OOD accuracy (fractions) of accuracy rows."""
    acc = rows[rows["metric"] == "acc"].copy()
    acc["alpha"] = acc["alpha"].fillna(-1.0)
    per_split = acc.groupby(["alpha", "seed", "role", "split"], observed=True)["value"].mean()
    return per_split.groupby(level=["alpha", "seed", "role"]).mean().unstack("role")
