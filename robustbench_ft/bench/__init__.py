"""`robustbench-ft bench`: the performance table, measured in one run, written to docs/performance.md.

Every figure is a ratio of variants measured alternately in the same process (timing.py), or a
wall time and memory of a command run as a user runs it. Nothing here is a timed test: the table
says which targets a machine meets, and the document keeps the command, the machine and every
number. Measures: training steps (training.py), evaluation (evaluation.py), training memory
(memory.py), the README's embedded default (demo.py), reports over 10,000 records
(records_bench.py).
"""

from __future__ import annotations

import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from ..config import presets_dir
from .timing import Ratio


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    target: str = ""
    met: bool | None = None


def _check(value: float, limit: float, at_most: bool = True) -> tuple[str, bool]:
    return (f"≤ {limit:g}" if at_most else f"≥ {limit:g}"), (value <= limit if at_most else value >= limit)


def _ratio_row(section: str, measure: str, r: Ratio, limit: float | None = None, at_most: bool = True) -> Row:
    if limit is None:
        return Row(section, measure, r.text())
    target, met = _check(r.median, limit, at_most)
    return Row(section, measure, r.text(), target, met)


def unaugmented_benchmark(folder: Path) -> str:
    """The embedded benchmark without augmentation, as a YAML path (Lipsum-FT's cached features);
    32 training images per class keep the one-off feature pass short (a step's cost is the same)."""
    config = yaml.safe_load((presets_dir("benchmarks") / "embedded.yaml").read_text())
    config.update(name="embedded-plain", augment=[])
    config["per_class"] = {**config.get("per_class", {}), "train": 32}
    path = folder / "embedded-plain.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def model_rows(label: str, model: str, pretrained: str | None, batch: int, rounds: int,
               memory_steps: int, with_evaluation: bool) -> list[Row]:
    from . import memory
    from .evaluation import evaluation_ratios
    from .training import step_ratios
    section = f"{label} (batch {batch})"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        plain = unaugmented_benchmark(Path(folder))
        steps = step_ratios("embedded", model, pretrained, batch, ["ft", "lpft", "lipsum"], rounds)
        no_aug = step_ratios(plain, model, pretrained, batch, ["ft", "lipsum"], rounds)
    rows.append(_ratio_row(section, "FT step (s): median (min–max)", steps["ft step (s)"]))
    rows.append(_ratio_row(section, "LP-FT step / FT step", steps["lpft"]))
    rows.append(_ratio_row(section, "Lipsum-FT step / FT step, with augmentation", steps["lipsum"], 1.30))
    rows.append(_ratio_row(section, "Lipsum-FT step / FT step, without augmentation (cached zero-shot features)",
                           no_aug["lipsum"], 1.05))
    rows.append(_ratio_row(section, "trainer's FT step / bare PyTorch loop", steps["trainer vs bare loop"], 1.05))
    if with_evaluation:
        for name, r in evaluation_ratios("embedded", model, pretrained, rounds).items():
            limit, at_most = {"bare": (0.9, False), "WiSE": (0.3, True)}.get(name.split()[0], (None, True))
            if name.startswith("bare"):
                r = Ratio(1 / r.median, 1 / r.high, 1 / r.low, r.rounds)  # evaluation throughput / bare
                name = "evaluation throughput / bare forward over prepared inputs"
            rows.append(_ratio_row(section, name, r, limit, at_most))
    if memory.supported():
        peaks = {m: memory.training_peak(m, "embedded", model, pretrained, batch, memory_steps) for m in ("ft", "lipsum", "lpft")}
        rows.append(Row(section, "FT training memory (MiB)", f"{peaks['ft'] / 2 ** 20:.0f}"))
        for m, name in (("lipsum", "Lipsum-FT"), ("lpft", "LP-FT")):
            value = peaks[m] / peaks["ft"]
            target, met = _check(value, 1.15) if m == "lipsum" else ("", None)
            rows.append(Row(section, f"{name} training memory / FT's", f"{value:.2f}", target, met))
    return rows


def run_bench(quick: bool = False, demo: bool = True, rounds: int = 12) -> list[Row]:
    from .demo import demo_rows
    from .records_bench import bench_report
    rows = model_rows("tiny CLIP", "tiny-clip", "embedded", 128, rounds, 5, with_evaluation=True)
    if not quick:
        rows += model_rows("ViT-B-16, random init", "ViT-B-16", None, 16, max(3, rounds // 3), 2,
                           with_evaluation=False)
    report = dict(bench_report(10_000))
    seconds = report["collect + tables md/tex/csv (s)"]
    rows.append(Row("reports", "collect + tables (md, tex, csv) of 10,000 records (s)", f"{seconds:.2f}",
                    *_check(seconds, 2.0)))
    rows.append(Row("reports", "... and the figures (s)", f"{report['collect + tables + figures png/pdf (s)']:.2f}"))
    if demo and not quick:
        rows += demo_rows()
    return rows


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").is_file() else "?"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {len(__import__('os').sched_getaffinity(0))} cores available, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), {gpu}, Python {platform.python_version()}")


def table(rows: list[Row]) -> str:
    lines = ["| where | measure | value | target | met |", "|---|---|---:|---|---|"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.section} | {row.measure} | {row.value} | {row.target} | {met} |")
    return "\n".join(lines) + "\n"
