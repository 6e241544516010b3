"""Which gaps are real: each method against FT and against zero-shot, paired by seed.

For a method and a baseline that share seeds, the per-seed differences d_s of ID accuracy and of
mean OOD accuracy (the method's seed s minus the baseline's seed s, which saw the same data order)
give a mean and a 95% Student-t interval, mean +- t(0.975, n-1) * sd / sqrt(n). A gap is called
real when the interval excludes 0. Post-hoc methods enter at the alpha the selection chose. With
one shared seed there is no interval, and the table says so instead of guessing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy.special import stdtrit  # Student's t quantile (scipy.stats takes a second to import)

from .robustness import id_ood_per_seed
from .tables import Entry

BASELINES = (("ft", "FT"), ("zeroshot", "zero-shot"))
LEVEL = 0.95


@dataclass(frozen=True)
class Gap:
    """A paired difference in accuracy points over `n` shared seeds and its 95% interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def real(self) -> bool | None:
        return None if self.n < 2 else bool(self.low > 0 or self.high < 0)

    def text(self) -> str:
        if self.n < 2:
            return f"{self.mean:+.1f} (1 seed)"
        return f"{self.mean:+.1f} [{self.low:+.1f}, {self.high:+.1f}]"


def paired_gap(differences: pd.Series) -> Gap:
    """Mean and 95% t-interval of per-seed differences (in the unit they are given)."""
    values = differences.dropna()
    n, mean = len(values), float(values.mean())
    if n < 2:
        return Gap(mean, math.nan, math.nan, n)
    half = float(stdtrit(n - 1, 0.5 + LEVEL / 2)) * float(values.std(ddof=1)) / math.sqrt(n)
    return Gap(mean, mean - half, mean + half, n)


def _per_seed(entry: Entry) -> pd.DataFrame:
    """ID and mean OOD accuracy (%) per seed of an entry, at its chosen alpha."""
    table = id_ood_per_seed(entry.choice.rows)
    alpha = -1.0 if entry.choice.alpha is None else entry.choice.alpha
    at = table.xs(alpha, level="alpha") if alpha in table.index.get_level_values("alpha") else table.iloc[:0]
    return 100 * at


def significance_rows(entries_: list[Entry]) -> list[tuple[str, str, Gap, Gap]]:
    """(method label, baseline, ID gap, OOD-mean gap) for every entry against each baseline it is not."""
    baselines = {e.choice.method: e for e in entries_ if e.choice.method in dict(BASELINES)}
    rows = []
    for entry in entries_:
        if entry.choice.method == "zeroshot":  # against FT it is FT's row, negated
            continue
        mine = _per_seed(entry)
        for method, name in BASELINES:
            if method not in baselines or entry.choice.method == method:
                continue
            theirs = _per_seed(baselines[method])
            diff = mine.sub(theirs).dropna(how="all")
            if len(diff):
                rows.append((entry.label, name, paired_gap(diff["id"]), paired_gap(diff["ood"])))
    return rows


def significance_markdown(entries_: list[Entry]) -> str:
    """The paired-gap table as Markdown; empty when there is neither FT nor zero-shot."""
    rows = significance_rows(entries_)
    if not rows:
        return ""
    mark = {True: "yes", False: "no", None: "–"}
    lines = ["| Method | vs | ID gap (pp) [95% CI] | real | OOD-mean gap (pp) [95% CI] | real |",
             "|---|---|---:|---|---:|---|"]
    lines += [f"| {label} | {baseline} | {gid.text()} | {mark[gid.real]} | {good.text()} | {mark[good.real]} |"
              for label, baseline, gid, good in rows]
    lines += ["", "- Differences paired by seed (method minus baseline, same seed), mean with a 95% Student-t "
              "interval over the shared seeds; *real*: the interval excludes 0. Post-hoc methods at their "
              "selected α."]
    return "\n".join(lines) + "\n"
