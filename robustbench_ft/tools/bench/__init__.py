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

from ...core.config import presets_dir
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
        steps = step_ratios("embedded", model, pretrained, batch, ["ft", "lpft", "lipsum"], rounds, every_step=True)
        flips = step_ratios("embedded", model, pretrained, batch, ["ft", "lipsum"], rounds) if with_evaluation else None
        no_aug = step_ratios(plain, model, pretrained, batch, ["ft", "lipsum"], rounds)
    rows.append(_ratio_row(section, "FT step (s): median (min–max)", steps["ft step (s)"]))
    rows.append(_ratio_row(section, "LP-FT step / FT step", steps["lpft"]))
    rows.append(_ratio_row(section, "Lipsum-FT step / FT step, frozen forward every step (random-crop augmentation)",
                           steps["lipsum"], 1.30))
    rows.append(_ratio_row(section, "... its floor: (FT step + one frozen image forward) / FT step", steps["floor"]))
    if flips is not None:
        rows.append(_ratio_row(section, "Lipsum-FT step / FT step, flips only (both orientations' features "
                                        "computed once: the embedded default)", flips["lipsum"]))
    rows.append(_ratio_row(section, "Lipsum-FT step / FT step, without augmentation (features computed once)",
                           no_aug["lipsum"], 1.05))
    rows.append(_ratio_row(section, "trainer's FT step / bare PyTorch loop", steps["trainer vs bare loop"], 1.05))
    if with_evaluation:
        for name, r in evaluation_ratios("embedded", model, pretrained, rounds).items():
            limit, at_most = {"bare": (0.9, False)}.get(name.split()[0], (None, True))
            if name.startswith("bare"):
                r = Ratio(1 / r.median, 1 / r.high, 1 / r.low, r.rounds)  # evaluation throughput / bare
                name = "evaluation throughput / bare forward over prepared inputs"
            rows.append(_ratio_row(section, name, r, limit, at_most))
        rows += file_rows(model, pretrained, max(2, rounds // 3))
    if memory.supported():
        peaks = {m: memory.training_peak(m, "embedded", model, pretrained, batch, memory_steps) for m in ("ft", "lipsum", "lpft")}
        rows.append(Row(section, "FT training memory (MiB)", f"{peaks['ft'] / 2 ** 20:.0f}"))
        for m, name in (("lipsum", "Lipsum-FT"), ("lpft", "LP-FT")):
            value = peaks[m] / peaks["ft"]
            target, met = _check(value, 1.15) if m == "lipsum" else ("", None)
            rows.append(Row(section, f"{name} training memory / FT's", f"{value:.2f}", target, met))
    return rows


def file_rows(model: str, pretrained: str | None, rounds: int) -> list[Row]:
    from .files import file_wise_ratios
    ratios, images = file_wise_ratios(model, pretrained, rounds)
    section = f"JPEG files, 224 px ({images} test images)"
    return [_ratio_row(section, "11 WiSE evaluations, each decoding every file (s)", ratios["one by one (s)"]),
            _ratio_row(section, "WiSE 11 alphas in one pass (decoding once) / 11 evaluations", ratios["one pass"], 0.3),
            _ratio_row(section, "WiSE 11 alphas in one pass from the evaluation cache / 11 evaluations",
                       ratios["one pass, cache"], 0.3)]


def head_rows(rounds: int) -> list[Row]:
    from .text import head_context_ratios
    r = head_context_ratios("ViT-B-16", classes=2, rounds=rounds)
    section = "ViT-B-16 text tower, random init"
    full, short = r["full (s/class)"].median, r["short (s/class)"].median
    return [_ratio_row(section, "zero-shot head: 80 prompts of a class at their own length / at context 77",
                       r["short / full"]),
            Row(section, "DomainNet's 345 x 80 head, estimated (min): at context 77 → at own length",
                f"{345 * full / 60:.1f} → {345 * short / 60:.1f}"),
            Row(section, "ImageNet's 1,000 x 80 head, estimated (min): at context 77 → at own length",
                f"{1000 * full / 60:.1f} → {1000 * short / 60:.1f}")]


def run_bench(quick: bool = False, demo: bool = True, rounds: int = 12) -> tuple[list[Row], list[str]]:
    """(rows of the table, what this run did not measure and why)."""
    from .demo import demo_rows
    from .records_bench import bench_report
    missing: list[str] = []
    rows = model_rows("tiny CLIP", "tiny-clip", "embedded", 128, rounds, 5, with_evaluation=True)
    if not quick:
        rows += model_rows("ViT-B-16, random init", "ViT-B-16", None, 16, max(3, rounds // 3), 2,
                           with_evaluation=False)
        rows += head_rows(max(2, rounds // 4))
    else:
        missing.append("ViT-B-16 rows and the README default (`--quick`)")
    report = dict(bench_report(10_000))
    seconds = report["collect + tables md/tex/csv (s)"]
    rows.append(Row("reports", "collect + tables (md, tex, csv) of 10,000 records (s), middle of 3", f"{seconds:.2f}",
                    *_check(seconds, 2.0)))
    rows.append(Row("reports", "... and the figures (s)", f"{report['collect + tables + figures png/pdf (s)']:.2f}"))
    if demo and not quick:
        rows += demo_rows()
    elif not quick:
        missing.append("the README default (`--no-demo`)")
    missing.append("GPU figures: `robustbench-ft bench --gpu` on a CUDA machine (its own section)")
    return rows, missing


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
