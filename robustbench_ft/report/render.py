"""`robustbench-ft report`: collect records, write tables per metric family and figures."""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import ConfigError
from ..util import atomic_write_text
from .claims import claims_markdown
from .collect import collect
from .figures import write_figures
from .reference import reference_markdown
from .robustness import fit_reference
from .selection import DEFAULT_SELECTION, selection_rule
from .significance import significance_markdown
from .tables import FAMILIES, build_table, entries, selected_frame, to_csv, to_latex, to_markdown

RENDERERS = {"md": to_markdown, "tex": to_latex, "csv": to_csv}


def write_report(results: Path, out: Path, formats: list[str] = ("md", "tex", "csv"),
                 plots: bool = False, alpha: float = 0.5, echo: bool = True,
                 selection: str = DEFAULT_SELECTION) -> list[Path]:
    """Write <out>/<benchmark>/<family>.<fmt>, claims.md, significance.md, reference.md
    (published numbers beside measured, where a paper reports the runs) (+ records.csv, figures);
    returns the paths.

    `selection` names the rule that picks each method's configuration (selection.py); claims
    always compare one configuration per method, so under `all` they use the default rule.
    """
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise ConfigError(f"unknown report formats {unknown}; expected a comma list of {sorted(RENDERERS)}")
    rule = selection_rule(selection)
    claims_rule = rule if rule.one_per_method else selection_rule(DEFAULT_SELECTION)
    collection = collect(results)
    for folder, why in collection.skipped:
        print(f"skipped {folder}: {why}", file=sys.stderr)
    frame = collection.frame
    if frame.empty:
        raise FileNotFoundError(f"no finished runs under {results}")
    legacy = frame.loc[frame["config"].str.startswith("v1-"), "run"].nunique()
    if legacy:
        print(f"{legacy} runs under {results} are of spec version 1: they report, but a rerun would not "
              f"find them until `robustbench-ft migrate --results {results}` renames them", file=sys.stderr)
    written: list[Path] = []
    if "csv" in formats:
        path = out / "records.csv"
        atomic_write_text(path, frame.to_csv(index=False))
        written.append(path)
    for benchmark, part in frame.groupby("benchmark", observed=True):
        folder = out / str(benchmark)
        chosen = entries(part, rule)
        fit = fit_reference(selected_frame(chosen))
        for family, metrics in FAMILIES.items():
            present = [m for m in metrics if m in set(part["metric"])]
            if not present:
                continue
            table = build_table(part, present, alpha, rule, chosen, fit)
            for fmt in formats:
                path = folder / f"{family}.{fmt}"
                atomic_write_text(path, RENDERERS[fmt](table))
                written.append(path)
            if echo and family == "accuracy":
                print(f"\n{benchmark}: accuracy (%), mean ± std over seeds\n\n{to_markdown(table)}")
        claims = claims_markdown(selected_frame(chosen if claims_rule is rule else entries(part, claims_rule)))
        if claims:
            path = folder / "claims.md"
            atomic_write_text(path, claims)
            written.append(path)
        id_split = str(part.loc[part["role"] == "id", "split"].iloc[0]) if (part["role"] == "id").any() else ""
        reference = reference_markdown(chosen, str(benchmark), id_split)
        if reference:
            path = folder / "reference.md"
            atomic_write_text(path, reference)
            written.append(path)
        significance = significance_markdown(chosen)
        if significance:
            path = folder / "significance.md"
            atomic_write_text(path, significance)
            written.append(path)
        if plots:
            written += write_figures(selected_frame(chosen), folder / "figures", alpha, fit)
    return written
