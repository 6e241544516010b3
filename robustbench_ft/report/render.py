"""`robustbench-ft report`: collect records, write tables per metric family, figures and a page."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..core.atomic import atomic_write, atomic_write_text
from ..core.config import ConfigError
from .claims import claims_markdown
from .collect import base_benchmark, collect, tidy_csv
from .html import Section, page
from .reference import reference_markdown
from .robustness import baseline_for
from .selection import DEFAULT_SELECTION, Selection, selection_rule
from .significance import significance_markdown
from .tables import FAMILIES, PRIMARY, build_table, entries, selected_frame, to_csv, to_latex, to_markdown

RENDERERS = {"md": to_markdown, "tex": to_latex, "csv": to_csv}
PAGE = "html"  # not a per-table format: one page of everything, <out>/report.html
FORMATS = sorted([*RENDERERS, PAGE])


def write_report(results: Path, out: Path, formats: list[str] = ("md", "tex", "csv"),
                 plots: bool = False, alpha: float = 0.5, echo: bool = True,
                 selection: str = DEFAULT_SELECTION, baseline: Path | None = None,
                 requested_by: str | None = None) -> list[Path]:
    """Write <out>/<benchmark>/<family>.<fmt>, claims.md, significance.md, reference.md
    (published numbers beside measured, where a paper reports the runs) (+ records.csv, figures,
    and with format html <out>/report.html, which always has the figures); returns the paths.

    `selection` names the rule that picks each method's configuration (selection.py); claims
    always compare one configuration per method, so under `all` they use the default rule.
    `baseline`: the ID-only models' accuracies or lines effective robustness is measured against
    (robustness.py); by default the benchmark's shipped testbed, if it has one. `requested_by`: a
    method's row is chosen among the configurations that source asked for ("sweep NAME"), not
    every request into the folder (records/requests.py).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report formats {unknown}; expected a comma list of {FORMATS}")
    rule = selection_rule(selection)
    collection = collect(results, requested_by)
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
        atomic_write(path, lambda file: file.write(tidy_csv(frame)))
        written.append(path)
    sections = []
    selected: dict[str, pd.DataFrame] = {}  # benchmark -> the rows of its chosen configurations
    for benchmark, part in frame.groupby("benchmark", observed=True):
        section = Section(f"Benchmark: {benchmark}")
        files, selected[str(benchmark)] = _write_benchmark(
            part, str(benchmark), out / str(benchmark), formats, rule, alpha, plots or PAGE in formats, echo,
            section, collection.folders, baseline, collection.primary.get(str(benchmark), (["acc"], None)))
        written += files
        sections.append(section)
    if (plots or PAGE in formats) and frame["shots"].notna().any():
        from .shots import plot_shots, shot_curves
        figures = plot_shots(shot_curves(selected, alpha), out / "figures")
        if figures:
            section = Section("Accuracy against shots")
            section.add_figures(figures)
            sections.append(section)
            written += figures
    if PAGE in formats:
        path = out / "report.html"
        atomic_write_text(path, page(f"robustbench-ft report: {results}", sections, collection.skipped))
        written.append(path)
    return written


def _write_benchmark(part: pd.DataFrame, benchmark: str, folder: Path, formats: list[str], rule: Selection,
                     alpha: float, plots: bool, echo: bool, section: Section,
                     folders: dict[str, Path], baseline: Path | None = None,
                     primary: tuple[list[str], str | None] = (["acc"], None)) -> tuple[list[Path], pd.DataFrame]:
    """One benchmark's tables, notes and figures, each also in the page's section; with the rows of
    the configurations the rule chose (the shots figure joins them across shot counts). A
    benchmark whose records name primary metrics other than accuracy alone (iWildCam's macro-F1,
    FMoW's worst-region accuracy) gets their table first (primary.<fmt>)."""
    written: list[Path] = []

    def text_file(name: str, text: str, heading: str) -> None:
        if text:
            atomic_write_text(folder / name, text)
            written.append(folder / name)
            section.add_markdown(heading, text)

    part = rule.view(part)  # the rows the rule reports (oracle_ood_val: OOD splits less their held-out part)
    chosen = entries(part, rule)
    # a low-shot '<name>/<K>-shot' is measured against its benchmark's testbed
    ood_splits = list(dict.fromkeys(part.loc[part["role"] == "ood", "split"]))
    fit, no_fit = baseline_for(base_benchmark(benchmark), ood_splits, baseline)
    measured = set(part["metric"].unique())
    primary_metrics, groups = primary
    families = ({PRIMARY: primary_metrics} if primary_metrics != ["acc"] else {}) | FAMILIES
    for family, metrics in families.items():
        present = [m for m in metrics if m in measured]
        if not present:
            continue
        table = build_table(part, present, alpha, rule, chosen, fit if family == "accuracy" else None, groups)
        if family == "accuracy" and no_fit:
            table.notes.append(no_fit)
        section.add_table(family.capitalize(), table)
        for fmt in (f for f in formats if f in RENDERERS):
            atomic_write_text(folder / f"{family}.{fmt}", RENDERERS[fmt](table))
            written.append(folder / f"{family}.{fmt}")
        if echo and family == next(iter(families)):
            what = "accuracy (%)" if family == "accuracy" else "primary metrics (%)"
            print(f"\n{benchmark}: {what}, mean ± std over seeds\n\n{to_markdown(table)}")
    id_split = str(part.loc[part["role"] == "id", "split"].iloc[0]) if (part["role"] == "id").any() else ""
    text_file("significance.md", significance_markdown(chosen), "Significance against FT and zero-shot")
    text_file("reference.md", reference_markdown(chosen, benchmark, id_split), "Measured and published")
    claims_chosen = chosen if rule.one_per_method else entries(part, selection_rule(DEFAULT_SELECTION))
    text_file("claims.md", claims_markdown(selected_frame(claims_chosen)), "Claims")
    selected = selected_frame(chosen)
    if plots:
        from .curves import load_curves, plot_training_curves  # matplotlib: imported when figures are drawn
        from .figures import write_figures
        figures = write_figures(selected, folder / "figures", alpha, fit)
        curves, problems = load_curves(selected, folders)
        for problem in problems:
            print(f"training curves: {problem}", file=sys.stderr)
        if not curves.empty:
            figures += plot_training_curves(selected, curves, folder / "figures")
        section.add_figures(figures)
        written += figures
    return written, selected
